"""The password policy's rules and messages, and argon2id hashing."""

from __future__ import annotations

import pytest

from lending.config import Settings
from lending.identity import passwords


def _problems(password: str, **kwargs: str) -> list[str]:
    return passwords.policy_problems(password, min_length=12, max_length=256, **kwargs)


def test_the_bundled_list_holds_thousands_of_common_passwords() -> None:
    common = passwords.common_passwords()

    assert len(common) > 3000
    assert {"password", "123456789", "qwerty123", "iloveyou", "letmein"} <= common


@pytest.mark.parametrize(
    "password",
    [
        "password1234",
        "Password123456!",
        "QWERTYUIOPASDF",
        "Summer2026!",
        "dragon2026!!!!",
        "111111111111",
    ],
)
def test_common_passwords_and_their_decorated_forms_are_refused(password: str) -> None:
    assert any("too common" in problem for problem in _problems(password))


def test_a_long_unusual_passphrase_passes() -> None:
    assert _problems("plum-orbit-velvet-42", email="ann@example.com", full_name="Ann Lee") == []


def test_length_limits_have_plain_messages() -> None:
    assert "Use at least 12 characters." in _problems("k7#Qz!")
    assert "Use at most 256 characters." in _problems("k7#Qz!" * 50)


def test_few_distinct_characters_are_refused() -> None:
    assert _problems("abababababab") == ["Use more different characters."]


def test_the_email_and_name_are_not_a_password() -> None:
    assert _problems("jordan.smith-2026-x", email="jordan.smith@example.com") == [
        "Do not use your email address in your password."
    ]
    assert _problems("Mariposa-forever-7", full_name="Ana Mariposa") == [
        "Do not use your name in your password."
    ]


async def test_hashes_are_argon2id_with_the_configured_cost(settings: Settings) -> None:
    hashed = await passwords.hash_password(settings, "plum-orbit-velvet-42")

    assert hashed.startswith("$argon2id$")
    assert "m=19456,t=2,p=1" in hashed
    assert await passwords.verify_password(settings, hashed, "plum-orbit-velvet-42")
    assert not await passwords.verify_password(settings, hashed, "plum-orbit-velvet-43")
    assert not await passwords.verify_password(settings, "not a hash", "anything")
    assert not passwords.needs_rehash(settings, hashed)
    cheaper = settings.model_copy(update={"password_hash_memory_kib": 8192})
    assert passwords.needs_rehash(cheaper, hashed)
