"""Error reporting (issue 20): with a DSN, an unexpected error reaches a Sentry-compatible server
through the real SDK, and nothing personal is in what it receives; without one, nothing is
reported."""

from __future__ import annotations

import gzip
import json
import threading
import zlib
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from api.app import create_app
from lending import error_reporting
from lending.analytics.service import analytics_service
from lending.config import Settings
from lending.db import SessionMaker
from lending.kv import MemoryStore
from lending.models.identity import Role
from tests.identity.factories import bearer, create_organization, create_user, issue_token

SSN = "123-45-6789"
EMAIL = "jane.doe@example.com"


class FakeSentry:
    """A Sentry ingest endpoint on loopback: keeps each envelope it is sent, decoded."""

    def __init__(self) -> None:
        self.envelopes: list[bytes] = []
        self.paths: list[str] = []
        received = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the standard library's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                encoding = self.headers.get("Content-Encoding", "")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                elif encoding == "br":
                    import brotli  # type: ignore[import-not-found, unused-ignore]

                    body = brotli.decompress(body)
                received.paths.append(self.path)
                received.envelopes.append(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"id": "0"}')

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def dsn(self) -> str:
        return f"http://publickey@127.0.0.1:{self.server.server_address[1]}/42"

    def events(self) -> list[dict[str, Any]]:
        """The error events among the envelopes' items."""
        found = []
        for envelope in self.envelopes:
            lines = envelope.split(b"\n")
            for header, payload in zip(lines[1::2], lines[2::2], strict=False):
                if json.loads(header).get("type") == "event":
                    found.append(json.loads(payload))
        return found


@pytest.fixture
def sentry() -> Iterator[FakeSentry]:
    fake = FakeSentry()
    fake.thread.start()
    try:
        yield fake
    finally:
        error_reporting.shutdown()
        fake.server.shutdown()
        fake.server.server_close()


@pytest.fixture
async def reporting_client(
    sentry: FakeSentry, settings: Settings, sessionmaker: SessionMaker, memory_store: MemoryStore
) -> AsyncIterator[httpx.AsyncClient]:
    configured = settings.model_copy(update={"sentry_dsn": SecretStr(sentry.dsn)})
    app = create_app(configured, sessionmaker=sessionmaker, store=memory_store)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
            base_url="http://testserver",
        ) as http,
    ):
        yield http


async def test_an_unexpected_error_is_reported_without_personal_data(
    sentry: FakeSentry,
    reporting_client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    manager = await create_user(
        session, organization=await create_organization(session), role=Role.BROKER_MANAGER
    )
    await session.commit()
    token = await issue_token(session, manager, settings=settings)

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"lender refused the file of {EMAIL} (SSN {SSN})")

    monkeypatch.setattr(analytics_service, "funnel", broken)
    answer = await reporting_client.get(
        "/api/v1/analytics/funnel",
        params={"date_from": "2026-11-01", "date_to": "2026-11-30", "note": EMAIL},
        headers={**bearer(token), "Cookie": f"omnifin_admin={token}", "X-Client": SSN},
    )
    assert answer.status_code == 500
    error_reporting.flush()

    events = sentry.events()
    assert events, f"nothing reached the fake Sentry ({sentry.paths})"
    assert all(path == "/api/42/envelope/" for path in sentry.paths)
    reported = [
        e
        for e in events
        if any(v.get("type") == "RuntimeError" for v in e.get("exception", {}).get("values", []))
    ]
    assert reported, [e.get("message") or e.get("logentry") for e in events]
    [value] = [v for v in reported[0]["exception"]["values"] if v["type"] == "RuntimeError"]
    # The error is recognisable (type, where it was raised, the request's route) ...
    assert "lender refused the file of" in value["value"]
    frames = value["stacktrace"]["frames"]
    assert any(frame.get("function") == "broken" for frame in frames)
    assert reported[0]["request"]["url"].endswith("/api/v1/analytics/funnel")
    assert reported[0]["environment"] == "test"
    # ... and nothing personal or secret is anywhere in what the server received.
    raw = b"\n".join(sentry.envelopes).decode()
    for secret in (SSN, EMAIL, token, "6789", "note="):
        assert secret not in raw
    assert "user" not in reported[0]
    assert all("vars" not in frame for frame in frames)


def test_without_a_dsn_nothing_is_reported(settings: Settings) -> None:
    assert settings.sentry_dsn is None
    assert error_reporting.configure_error_reporting(settings, service_name="test") is False
    empty = settings.model_copy(update={"sentry_dsn": SecretStr("")})  # compose's default
    assert error_reporting.configure_error_reporting(empty, service_name="test") is False
    import sentry_sdk

    assert not sentry_sdk.get_client().is_active()
