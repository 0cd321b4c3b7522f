"""Log lines are JSON, carry the request id, and never carry PII."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import httpx
import orjson
import pytest

from lending.config import Settings
from lending.logs import configure_logging, get_logger


@pytest.fixture
def log_lines(settings: Settings) -> Iterator[io.StringIO]:
    configure_logging(level="INFO", json=True, redacted_fields=settings.log_redacted_fields)
    buffer = io.StringIO()
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)


def _records(buffer: io.StringIO) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def test_pii_fields_and_pii_shaped_text_never_reach_the_log(log_lines: io.StringIO) -> None:
    get_logger("test").info(
        "applicant 123-45-6789 wrote from jane.doe@example.com",
        ssn="123-45-6789",
        date_of_birth="1990-04-01",
        applicant={"email": "jane.doe@example.com", "account_number": "000123456789"},
        card="4111 1111 1111 1111",
        amount="25000.00",
    )
    text = log_lines.getvalue()
    for secret in ("123-45-6789", "1990-04-01", "jane.doe@example.com", "000123456789", "4111"):
        assert secret not in text
    (record,) = _records(log_lines)
    assert record["amount"] == "25000.00"  # ordinary fields stay
    assert record["ssn"] == "[redacted]"
    assert record["applicant"] == {"email": "[redacted]", "account_number": "[redacted]"}


def test_standard_library_logs_are_scrubbed_too(log_lines: io.StringIO) -> None:
    logging.getLogger("uvicorn.error").warning("client sent ssn %s", "987-65-4321")
    (record,) = _records(log_lines)
    assert "987-65-4321" not in str(record["event"])
    assert record["logger"] == "uvicorn.error"


async def test_request_log_line_carries_the_request_id(
    log_lines: io.StringIO, client: httpx.AsyncClient
) -> None:
    await client.get("/readyz", headers={"X-Request-ID": "req-7"})
    requests = [r for r in _records(log_lines) if r.get("event") == "request"]
    assert requests[-1]["request_id"] == "req-7"
    assert requests[-1]["route"] == "/readyz"
    assert requests[-1]["status"] == 200
