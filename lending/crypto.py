"""Envelope encryption at rest (AES-256-GCM): a fresh data key per value, wrapped by a master key.

A sealed value is `header | wrapped data key | nonce | ciphertext`, where the header names the
format version and the master key's id, so that keys can be rotated: new values are sealed with
the current key, old ones still open with a retired key listed in the settings until re-sealed.
`associated_data` binds a value to its place (e.g. b"user:<id>:totp"): a ciphertext copied to
another row or column does not decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from lending.config import Settings

_MAGIC = b"OF"
_VERSION = 1
_KEY_ID_BYTES = 8
_NONCE_BYTES = 12
_DATA_KEY_BYTES = 32
_TAG_BYTES = 16
_HEADER_BYTES = len(_MAGIC) + 1 + _KEY_ID_BYTES
_WRAPPED_KEY_BYTES = _NONCE_BYTES + _DATA_KEY_BYTES + _TAG_BYTES
_MIN_SEALED_BYTES = _HEADER_BYTES + _WRAPPED_KEY_BYTES + _NONCE_BYTES + _TAG_BYTES


class DecryptionError(Exception):
    """The value is not one of ours, was sealed with an unknown key, or was altered."""


def derive_master_key(secret: str) -> bytes:
    """A 256-bit master key from the configured secret (any string an operator may give)."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"omnifin/master-key", info=b"v1")
    return hkdf.derive(secret.encode())


def key_id(master_key: bytes) -> bytes:
    # Derived from the key (so it never needs configuring) without revealing anything about it.
    return hmac.new(master_key, b"omnifin/key-id", hashlib.sha256).digest()[:_KEY_ID_BYTES]


class Encryptor:
    """Seals with the first master key; opens with any of them."""

    def __init__(self, master_keys: list[bytes]) -> None:
        if not master_keys:
            raise ValueError("at least one master key is needed")
        self._current_id = key_id(master_keys[0])
        self._current = AESGCM(master_keys[0])
        self._by_id = {key_id(key): AESGCM(key) for key in master_keys}

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> bytes:
        header = _MAGIC + bytes([_VERSION]) + self._current_id
        data_key = AESGCM.generate_key(bit_length=256)
        wrap_nonce, nonce = os.urandom(_NONCE_BYTES), os.urandom(_NONCE_BYTES)
        wrapped = wrap_nonce + self._current.encrypt(wrap_nonce, data_key, header)
        sealed = AESGCM(data_key).encrypt(nonce, plaintext, header + associated_data)
        return header + wrapped + nonce + sealed

    def decrypt(self, sealed: bytes, associated_data: bytes) -> bytes:
        if len(sealed) < _MIN_SEALED_BYTES or sealed[:2] != _MAGIC:
            raise DecryptionError("not an Omnifin sealed value")
        if sealed[2] != _VERSION:
            raise DecryptionError(f"unknown sealed-value version {sealed[2]}")
        header = sealed[:_HEADER_BYTES]
        master = self._by_id.get(header[3:])
        if master is None:
            raise DecryptionError("sealed with a master key that is not configured")
        wrapped = sealed[_HEADER_BYTES : _HEADER_BYTES + _WRAPPED_KEY_BYTES]
        rest = sealed[_HEADER_BYTES + _WRAPPED_KEY_BYTES :]
        try:
            data_key = master.decrypt(wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], header)
            return AESGCM(data_key).decrypt(
                rest[:_NONCE_BYTES], rest[_NONCE_BYTES:], header + associated_data
            )
        except InvalidTag:
            raise DecryptionError("the value was altered or belongs elsewhere") from None

    def needs_reencryption(self, sealed: bytes) -> bool:
        """Whether the value was sealed with a retired key (re-seal it with `encrypt`)."""
        return sealed[3:_HEADER_BYTES] != self._current_id


def sealed_key_id(sealed: bytes) -> str:
    """The id (hex) of the master key a sealed value was sealed with, as stored for rotation."""
    if len(sealed) < _HEADER_BYTES or sealed[:2] != _MAGIC:
        raise DecryptionError("not an Omnifin sealed value")
    return sealed[3:_HEADER_BYTES].hex()


def encryptor(settings: Settings) -> Encryptor:
    """The encryptor for these settings: current key first, then the retired ones."""
    secrets = (settings.secret("encryption_key").get_secret_value(),) + tuple(
        key.get_secret_value() for key in settings.encryption_previous_keys
    )
    return _encryptor(secrets)


@lru_cache(maxsize=8)
def _encryptor(secrets: tuple[str, ...]) -> Encryptor:
    return Encryptor([derive_master_key(secret) for secret in secrets])


def seal_text(settings: Settings, plaintext: str, associated_data: bytes) -> str:
    """`plaintext` sealed with the settings' current key, as URL-safe base64 text: for places
    that hold only text, e.g. a job's JSON arguments (which procrastinate keeps and logs)."""
    sealed = encryptor(settings).encrypt(plaintext.encode(), associated_data)
    return base64.urlsafe_b64encode(sealed).decode()


def open_text(settings: Settings, sealed: str, associated_data: bytes) -> str:
    """What `seal_text` sealed.

    Raises:
        DecryptionError: not a sealed value of ours, sealed for another place, or altered.
    """
    try:
        raw = base64.urlsafe_b64decode(sealed.encode())
    except ValueError:
        raise DecryptionError("not an Omnifin sealed value") from None
    return encryptor(settings).decrypt(raw, associated_data).decode()
