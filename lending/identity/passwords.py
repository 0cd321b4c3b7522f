"""Passwords: argon2id hashing off the event loop, and the policy with messages a person can act on."""

from __future__ import annotations

import asyncio
import re
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from lending.config import Settings
from lending.errors import InvalidInput

COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")
_TRAILING_DECORATION = re.compile(r"[\d\W_]+$")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line and not line.startswith("#"))


def policy_problems(
    password: str,
    *,
    min_length: int,
    max_length: int,
    email: str | None = None,
    full_name: str | None = None,
) -> list[str]:
    """Every way `password` falls short of the policy, as sentences; empty when it is fine."""
    problems: list[str] = []
    if len(password) < min_length:
        problems.append(f"Use at least {min_length} characters.")
    if len(password) > max_length:
        problems.append(f"Use at most {max_length} characters.")
    lowered = password.lower()
    # "Dragon2026!" is "dragon" with decoration: as guessable as the word itself.
    stem = _TRAILING_DECORATION.sub("", lowered)
    common = common_passwords()
    if lowered in common or (stem and stem in common):
        problems.append(
            "This password is too common: it appears in lists of leaked passwords. Choose another."
        )
    elif len(set(password)) < 5:
        problems.append("Use more different characters.")
    if email:
        local = email.split("@", 1)[0].lower()
        if len(local) >= 3 and local in lowered:
            problems.append("Do not use your email address in your password.")
    if full_name:
        parts = [part for part in re.split(r"\W+", full_name.lower()) if len(part) >= 3]
        if any(part in lowered for part in parts):
            problems.append("Do not use your name in your password.")
    return problems


def check_policy(
    password: str,
    settings: Settings,
    *,
    field: str = "password",
    email: str | None = None,
    full_name: str | None = None,
) -> None:
    """Raise InvalidInput (shaped like a validation error) when the password breaks the policy."""
    problems = policy_problems(
        password,
        min_length=settings.password_min_length,
        max_length=settings.password_max_length,
        email=email,
        full_name=full_name,
    )
    if problems:
        raise InvalidInput(
            [{"loc": ["body", field], "msg": msg, "type": "password_policy"} for msg in problems]
        )


def hasher(settings: Settings) -> PasswordHasher:
    return _hasher(
        settings.password_hash_time_cost,
        settings.password_hash_memory_kib,
        settings.password_hash_parallelism,
    )


@lru_cache(maxsize=4)
def _hasher(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


# argon2 takes tens of milliseconds of CPU (it releases the GIL): run it in a thread so that the
# event loop keeps serving other requests meanwhile.


async def hash_password(settings: Settings, password: str) -> str:
    return await asyncio.to_thread(hasher(settings).hash, password)


async def verify_password(settings: Settings, password_hash: str, password: str) -> bool:
    return await asyncio.to_thread(_verify, hasher(settings), password_hash, password)


def _verify(ph: PasswordHasher, password_hash: str, password: str) -> bool:
    try:
        return ph.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(settings: Settings, password_hash: str) -> bool:
    """Whether the hash was made with other parameters than the settings' (rehash on login)."""
    try:
        return hasher(settings).check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


async def verify_nothing(settings: Settings, password: str) -> None:
    """Spend what a real verification costs, for an unknown email: the response time must not
    tell whether an account exists."""
    dummy = await _dummy_hash(settings)
    await verify_password(settings, dummy, password)


_dummy_hashes: dict[tuple[int, int, int], str] = {}


async def _dummy_hash(settings: Settings) -> str:
    key = (
        settings.password_hash_time_cost,
        settings.password_hash_memory_kib,
        settings.password_hash_parallelism,
    )
    if key not in _dummy_hashes:
        _dummy_hashes[key] = await hash_password(settings, "not a password anyone has")
    return _dummy_hashes[key]
