"""The simulator app in process: what its lender API refuses, and repeatable runs with a seed."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson
import pytest
from pydantic import SecretStr

from lending.lenders.integration.signing import signature_header
from simulators.lender.app import create_simulator_app
from simulators.lender.config import SimulatorConfig
from tests.lenders_integration.conftest import free_port, payload

SECRET = SecretStr("in-process-secret")
PATH = "/lenders/acme/applications"


@asynccontextmanager
async def _simulator(**config: Any) -> AsyncIterator[httpx.AsyncClient]:
    # Decisions are left pending: these tests look at the API, not at webhooks.
    app = create_simulator_app(
        SimulatorConfig(request_secret=SECRET, decision_delay_ms=600_000, **config)
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as http,
    ):
        yield http


def _body(**extra: Any) -> bytes:
    callback = f"http://127.0.0.1:{free_port()}/webhooks/acme"
    return orjson.dumps(payload().model_dump(mode="json") | {"callback_url": callback} | extra)


async def _submit(
    http: httpx.AsyncClient, body: bytes, key: str | None = "key-1"
) -> httpx.Response:
    headers = {"Omnifin-Signature": signature_header(SECRET, int(time.time()), "POST", PATH, body)}
    if key is not None:
        headers["Idempotency-Key"] = key
    return await http.post(PATH, content=body, headers=headers)


@pytest.mark.parametrize(
    ("body", "key", "status", "error"),
    [
        (_body(ssn="123-45-6789"), "k", 422, "invalid_request"),
        (_body(callback_url="http://example.com/hook"), "k", 422, "invalid_request"),
        (_body(amount="10.001"), "k", 422, "invalid_request"),
        (_body(), None, 400, "idempotency_key_required"),
    ],
    ids=["identity-data", "callback-elsewhere", "sub-cent-amount", "no-idempotency-key"],
)
async def test_the_lender_api_refuses(
    body: bytes, key: str | None, status: int, error: str
) -> None:
    async with _simulator() as http:
        response = await _submit(http, body, key)
        assert response.status_code == status
        assert response.json()["error"] == error
        counters = (await http.get("/_simulator/lenders/acme")).json()
        assert counters["submissions"] == 0


async def _run(seed: int) -> list[tuple[int, str | None]]:
    """Ten submissions to a simulator failing half of the requests; what each got back."""
    outcomes: list[tuple[int, str | None]] = []
    async with _simulator(seed=seed, failure_rate=0.5) as http:
        for number in range(10):
            response = await _submit(http, _body(), key=f"key-{number}")
            outcomes.append((response.status_code, response.json().get("external_id")))
    return outcomes


async def test_a_seeded_simulator_repeats_its_failures_and_ids() -> None:
    first, again, other = await _run(seed=7), await _run(seed=7), await _run(seed=8)
    assert first == again
    assert {status for status, _ in first} == {202, 503}
    assert other != first


async def test_unknown_lender_codes_are_refused_when_only_configured_lenders_are_served() -> None:
    async with _simulator(serve_any_lender=False, lenders={"acme": {}}) as http:
        assert (await _submit(http, _body())).status_code == 202
        elsewhere = await http.post("/lenders/other/applications", content=b"{}")
        assert elsewhere.status_code == 404
