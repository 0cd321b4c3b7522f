"""The error envelope on every failure, request ids, security headers, body limits, CORS, metrics."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, Field

from api.app import create_app
from lending.config import Settings
from lending.db import SessionMaker
from lending.errors import Conflict
from lending.kv import MemoryStore


class Echo(BaseModel):
    amount: int = Field(gt=0)
    note: str


def _app_with_probe_routes(settings: Settings, sessionmaker: SessionMaker) -> FastAPI:
    """The real app plus three routes that exist only here, to reach each error path."""
    app = create_app(settings, sessionmaker=sessionmaker, store=MemoryStore())

    @app.post("/probe/echo")
    async def echo(body: Echo) -> Echo:
        return body

    @app.post("/probe/conflict")
    async def conflict() -> None:
        raise Conflict({"allowed": ["submitted"]})

    @app.get("/probe/crash")
    async def crash() -> None:
        raise RuntimeError("boom: secret internals")

    return app


@pytest.fixture
async def probe(settings: Settings, sessionmaker: SessionMaker) -> AsyncIterator[httpx.AsyncClient]:
    small = settings.model_copy(
        update={"max_request_body_bytes": 2048, "cors_allow_origins": ["https://app.example"]}
    )
    app = _app_with_probe_routes(small, sessionmaker)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
    ):
        yield http


def _assert_envelope(response: httpx.Response, status: int, error: str) -> dict[str, object]:
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error", "detail", "request_id"}
    assert body["error"] == error
    assert body["request_id"] == response.headers["x-request-id"]
    return dict(body)


async def test_unknown_route_is_404_envelope(client: httpx.AsyncClient) -> None:
    _assert_envelope(await client.get("/api/v1/nothing-here"), 404, "NotFound")


async def test_wrong_method_is_405_envelope(client: httpx.AsyncClient) -> None:
    _assert_envelope(await client.delete("/healthz"), 405, "MethodNotAllowed")


async def test_validation_error_is_422_envelope_with_fields(probe: httpx.AsyncClient) -> None:
    body = _assert_envelope(
        await probe.post("/probe/echo", json={"amount": -5}), 422, "ValidationError"
    )
    detail = body["detail"]
    assert isinstance(detail, list)
    locations = {tuple(item["loc"]) for item in detail}
    assert ("body", "amount") in locations
    assert ("body", "note") in locations


async def test_malformed_json_is_422_envelope(probe: httpx.AsyncClient) -> None:
    response = await probe.post(
        "/probe/echo", content=b"{not json", headers={"content-type": "application/json"}
    )
    _assert_envelope(response, 422, "ValidationError")


async def test_business_error_keeps_its_class_name_and_detail(probe: httpx.AsyncClient) -> None:
    body = _assert_envelope(await probe.post("/probe/conflict"), 409, "Conflict")
    assert body["detail"] == {"allowed": ["submitted"]}


async def test_unexpected_error_is_500_envelope_without_internals(
    probe: httpx.AsyncClient,
) -> None:
    response = await probe.get("/probe/crash")
    assert response.status_code == 500
    body = response.json()
    assert body["error"] == "InternalError"
    assert "boom" not in response.text


async def test_declared_oversized_body_is_413(probe: httpx.AsyncClient) -> None:
    response = await probe.post(
        "/probe/echo", content=b"x" * 4096, headers={"content-type": "application/json"}
    )
    body = _assert_envelope(response, 413, "PayloadTooLarge")
    assert "2048" in str(body["detail"])


async def test_streamed_oversized_body_without_length_is_413(probe: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(8):
            yield b"y" * 1024

    response = await probe.post(
        "/probe/echo", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    _assert_envelope(response, 413, "PayloadTooLarge")


async def test_body_under_the_limit_passes(probe: httpx.AsyncClient) -> None:
    response = await probe.post("/probe/echo", json={"amount": 3, "note": "ok"})
    assert response.status_code == 200
    assert response.json() == {"amount": 3, "note": "ok"}


async def test_request_id_is_accepted_and_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": "trace-42.a"})
    assert response.headers["x-request-id"] == "trace-42.a"


async def test_request_id_is_generated_when_missing_or_unsafe(client: httpx.AsyncClient) -> None:
    generated = (await client.get("/healthz")).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    unsafe = await client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert re.fullmatch(r"[0-9a-f]{32}", unsafe.headers["x-request-id"])


async def test_security_headers(client: httpx.AsyncClient) -> None:
    headers = (await client.get("/healthz")).headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "strict-transport-security" not in headers  # plain HTTP: no HSTS


async def test_hsts_only_behind_tls(
    settings: Settings, sessionmaker: SessionMaker, memory_store: MemoryStore
) -> None:
    app = create_app(settings, sessionmaker=sessionmaker, store=memory_store)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://testserver"
        ) as http,
    ):
        headers = (await http.get("/healthz")).headers
    assert headers["strict-transport-security"].startswith("max-age=")


async def test_cors_allows_only_listed_origins(probe: httpx.AsyncClient) -> None:
    allowed = await probe.get("/healthz", headers={"Origin": "https://app.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    other = await probe.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


async def test_metrics_by_route_template(probe: httpx.AsyncClient) -> None:
    await probe.post("/probe/echo", json={"amount": 1, "note": "n"})
    await probe.get("/no/such/page")
    text = (await probe.get("/metrics")).text
    assert 'omnifin_http_requests_total{method="POST",route="/probe/echo",status="200"} 1.0' in text
    assert 'route="unmatched",status="404"' in text
    assert "omnifin_http_request_duration_seconds_bucket" in text
    assert 'omnifin_job_queue_depth{status="todo"}' in text


async def test_readyz_reports_each_check(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok"}}


async def test_openapi_is_served(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert spec["info"]["title"] == "Omnifin API"
    assert "/readyz" in spec["paths"]
