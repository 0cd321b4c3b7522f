"""The HMAC signature scheme and what an application payload may carry."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from lending.lenders.integration.signing import SignatureError, signature_header, verify
from tests.lenders_integration.conftest import payload

SECRET = SecretStr("s3cret")
NOW = 1_800_000_000
BODY = b'{"amount":"10000.00"}'


def _header(timestamp: int = NOW, secret: SecretStr = SECRET) -> str:
    return signature_header(secret, timestamp, "POST", "/lenders/acme/applications", BODY)


def test_a_signed_request_verifies_and_gives_its_timestamp() -> None:
    header = _header()
    assert header.startswith(f"t={NOW},v1=")
    assert verify(SECRET, header, "post", "/lenders/acme/applications", BODY, now=NOW + 299) == NOW


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/lenders/acme/applications", b'{"amount":"90000.00"}'),
        ("PUT", "/lenders/acme/applications", BODY),
        ("POST", "/lenders/other/applications", BODY),
        ("POST", "/lenders/acme/applications?x=1", BODY),
    ],
    ids=["body", "method", "path", "query"],
)
def test_any_change_to_what_was_signed_is_refused(method: str, path: str, body: bytes) -> None:
    with pytest.raises(SignatureError, match="signature mismatch"):
        verify(SECRET, _header(), method, path, body, now=NOW)


@pytest.mark.parametrize("skew", [-301, 301], ids=["old", "from-the-future"])
def test_a_timestamp_outside_five_minutes_is_refused(skew: int) -> None:
    header = _header(timestamp=NOW + skew)
    with pytest.raises(SignatureError, match="timestamp outside tolerance"):
        verify(SECRET, header, "POST", "/lenders/acme/applications", BODY, now=NOW)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "no signature header"),
        ("", "no signature header"),
        ("v1=abc", "malformed"),
        (f"t={NOW}", "malformed"),
        ("t=soon,v1=abc", "malformed"),
        (f"t={NOW},v1=zz\u00e9", "signature mismatch"),
    ],
)
def test_missing_or_malformed_headers_are_refused(header: str | None, reason: str) -> None:
    with pytest.raises(SignatureError, match=reason):
        verify(SECRET, header, "POST", "/lenders/acme/applications", BODY, now=NOW)


def test_a_wrong_secret_is_refused_and_rotation_accepts_either_signature() -> None:
    old, new = SecretStr("old"), SecretStr("new")
    with pytest.raises(SignatureError, match="signature mismatch"):
        verify(new, _header(secret=old), "POST", "/lenders/acme/applications", BODY, now=NOW)
    # While a secret rotates the sender signs with both; the receiver may know either one.
    both = _header(secret=old) + "," + _header(secret=new).split(",")[1]
    for secret in (old, new):
        assert verify(secret, both, "POST", "/lenders/acme/applications", BODY, now=NOW) == NOW


def test_the_payload_refuses_identity_data_and_sub_cent_amounts() -> None:
    with pytest.raises(ValidationError, match="ssn"):
        payload(ssn="123-45-6789")
    with pytest.raises(ValidationError, match="amount"):
        payload(amount="10000.005")
    with pytest.raises(ValidationError, match="purpose"):
        payload(purpose="pay off my card 4111 1111 1111 1111")
