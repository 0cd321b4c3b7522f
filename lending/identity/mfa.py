"""TOTP (RFC 6238, via pyotp) and recovery codes: the primitives the MFA service is built from."""

from __future__ import annotations

import hashlib
import hmac
import secrets

import pyotp
import segno
from pyotp.exceptions import OTPVerificationError

RECOVERY_CODE_COUNT = 10
# Codes of the previous and the next 30-second step are accepted too (clock drift).
VALID_WINDOW_STEPS = 1
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud and typed


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def qr_svg_data_uri(uri: str) -> str:
    """The otpauth URI as a QR code, an SVG data URI an <img> can show directly."""
    data_uri: str = segno.make(uri, error="m").svg_data_uri(scale=4, border=2)
    return data_uri


def matching_step(secret: str, code: str, *, now: float | None = None) -> int | None:
    """The time step whose code is `code` (within the drift window), or None.

    The caller refuses a step at or before the last one it accepted: that is what makes a code
    single-use (pyotp compares in constant time).
    """
    if not is_totp_code(code):
        return None
    try:
        return pyotp.TOTP(secret).verify_and_get_timecode(
            code.strip().replace(" ", ""), for_time=now, valid_window=VALID_WINDOW_STEPS
        )
    except OTPVerificationError:
        return None


def is_totp_code(code: str) -> bool:
    compact = code.strip().replace(" ", "")
    return len(compact) == 6 and compact.isdigit()


def new_recovery_codes() -> list[str]:
    """Ten codes like `k7m3p-x9q2w` (50 bits each)."""
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        chars = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{chars[:5]}-{chars[5:]}")
    return codes


def recovery_code_hash(code: str, *, key: bytes) -> bytes:
    """Keyed with the secret key: a copy of the database alone cannot be used to guess codes."""
    normalized = code.strip().lower().replace("-", "").replace(" ", "")
    return hmac.new(key, b"omnifin/recovery-code/" + normalized.encode(), hashlib.sha256).digest()
