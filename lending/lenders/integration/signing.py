"""HMAC-SHA256 request signatures, the same scheme for our requests and the lenders' webhooks.

One header carries the time and the signature: `Omnifin-Signature: t=<unix seconds>,v1=<hex>`,
where the hex is HMAC-SHA256 with the shared secret over the bytes
`<t>.<METHOD>.<path>.<body>` (`path` as sent on the wire, query string included; an empty body
for a GET). Signing the method and path binds a signature to one endpoint; signing the time lets
the receiver refuse anything older or newer than the tolerance (5 minutes by default), which
bounds how long a captured request could be replayed. A sender may put several `v1=` entries in
the header while a secret is being rotated; one match is enough.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from pydantic import SecretStr

SIGNATURE_HEADER = "Omnifin-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
DEFAULT_TOLERANCE_SECONDS = 300


class SignatureError(ValueError):
    """Why a signature did not verify (for logs; the caller only learns that it did not)."""


def signature(secret: SecretStr, timestamp: int, method: str, path: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of one request."""
    message = f"{timestamp}.{method.upper()}.{path}.".encode() + body
    return hmac.new(secret.get_secret_value().encode(), message, hashlib.sha256).hexdigest()


def signature_header(
    secret: SecretStr,
    timestamp: int,
    method: str,
    path: str,
    body: bytes,
    *,
    also: Sequence[SecretStr] = (),
) -> str:
    """The value of the `Omnifin-Signature` header for one request: one `v1=` with `secret`,
    then one with each of `also` (a rotation's previous secret, during its overlap window)."""
    signed = [signature(item, timestamp, method, path, body) for item in (secret, *also)]
    return f"t={timestamp}," + ",".join(f"v1={value}" for value in signed)


def verify(
    secret: SecretStr,
    header: str | None,
    method: str,
    path: str,
    body: bytes,
    *,
    now: float,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
) -> int:
    """Check a signature header against the request; return its timestamp.

    Raises:
        SignatureError: the header is missing or malformed, no signature matches (the body, path
            or method were altered, or the secret differs), or the timestamp is outside the
            tolerance.
    """
    if not header:
        raise SignatureError("no signature header")
    timestamp: int | None = None
    candidates: list[bytes] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            candidates.append(value.encode())
    if timestamp is None or not candidates:
        raise SignatureError("malformed signature header")
    expected = signature(secret, timestamp, method, path, body).encode()
    # compare_digest takes as long whatever the first differing byte, so timing reveals nothing.
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise SignatureError("signature mismatch")
    if abs(now - timestamp) > tolerance_seconds:
        raise SignatureError("timestamp outside tolerance")
    return timestamp
