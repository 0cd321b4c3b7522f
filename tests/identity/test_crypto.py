"""Envelope encryption: round trip, binding to its place, tamper detection and key rotation."""

from __future__ import annotations

import pytest

from lending.crypto import DecryptionError, Encryptor, derive_master_key


@pytest.fixture
def encryptor() -> Encryptor:
    return Encryptor([derive_master_key("current key")])


def test_a_value_round_trips_and_is_not_readable(encryptor: Encryptor) -> None:
    sealed = encryptor.encrypt(b"123-45-6789", b"borrower:1:ssn")

    assert b"123-45-6789" not in sealed
    assert encryptor.decrypt(sealed, b"borrower:1:ssn") == b"123-45-6789"
    # A fresh data key and nonces every time: equal values do not look equal.
    assert encryptor.encrypt(b"123-45-6789", b"borrower:1:ssn") != sealed


def test_a_value_moved_to_another_place_does_not_open(encryptor: Encryptor) -> None:
    sealed = encryptor.encrypt(b"secret", b"user:1:totp")

    with pytest.raises(DecryptionError):
        encryptor.decrypt(sealed, b"user:2:totp")


@pytest.mark.parametrize("position", [0, 3, 20, -1])
def test_any_altered_byte_is_detected(encryptor: Encryptor, position: int) -> None:
    sealed = bytearray(encryptor.encrypt(b"secret", b"here"))
    sealed[position] ^= 0x01

    with pytest.raises(DecryptionError):
        encryptor.decrypt(bytes(sealed), b"here")


def test_a_retired_key_still_opens_old_values_until_re_sealed() -> None:
    old = Encryptor([derive_master_key("old key")])
    sealed = old.encrypt(b"secret", b"here")
    rotated = Encryptor([derive_master_key("new key"), derive_master_key("old key")])

    assert rotated.decrypt(sealed, b"here") == b"secret"
    assert rotated.needs_reencryption(sealed)
    resealed = rotated.encrypt(b"secret", b"here")
    assert not rotated.needs_reencryption(resealed)
    with pytest.raises(DecryptionError, match="not configured"):
        old.decrypt(resealed, b"here")


def test_garbage_is_refused(encryptor: Encryptor) -> None:
    with pytest.raises(DecryptionError):
        encryptor.decrypt(b"plain text that was never sealed, long enough" * 3, b"")
