"""The adapter's reading of answers no well-behaved simulator gives: a lender scripted in process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import httpx
import orjson
import pytest
from pydantic import SecretStr

from lending.config import Settings
from lending.kv import MemoryStore
from lending.lenders.integration.errors import (
    InvalidWebhook,
    LenderProtocolError,
    LenderUnavailable,
)
from lending.lenders.integration.http_adapter import (
    HttpLenderAdapter,
    LenderEndpoint,
    LenderHttpPolicy,
)
from lending.lenders.integration.replay import StoreReplayGuard
from lending.lenders.integration.signing import signature_header
from tests.lenders_integration.conftest import TEST_POLICY, RecordingSleep, payload

NOW = 1_800_000_000.0
ENDPOINT = LenderEndpoint(
    lender_code="scripted",
    base_url="http://lender.test/v1",
    callback_url="http://omnifin.test/api/v1/lender-webhooks/scripted",
    request_secret=SecretStr("request"),
    webhook_secret=SecretStr("webhook"),
)
RECEIPT = {"external_id": "x-1", "status": "pending", "received_at": "2027-01-15T08:00:00+00:00"}

Script = list[httpx.Response]


@pytest.fixture
async def scripted() -> AsyncIterator[Callable[[Script], tuple[HttpLenderAdapter, RecordingSleep]]]:
    clients: list[httpx.AsyncClient] = []

    def make(answers: Script) -> tuple[HttpLenderAdapter, RecordingSleep]:
        def answer(request: httpx.Request) -> httpx.Response:
            return answers.pop(0)

        client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
        clients.append(client)
        sleep = RecordingSleep()
        adapter = HttpLenderAdapter(
            ENDPOINT,
            LenderHttpPolicy.from_settings(Settings(environment="test"), **TEST_POLICY),
            replay_guard=StoreReplayGuard(MemoryStore()),
            client=client,
            wall_clock=lambda: NOW,
            sleep=sleep,
        )
        return adapter, sleep

    yield make
    for client in clients:
        await client.aclose()


async def test_a_retry_after_date_is_waited_for(scripted: Any) -> None:
    when = format_datetime(datetime.fromtimestamp(NOW + 3, UTC), usegmt=True)
    adapter, sleep = scripted(
        [httpx.Response(503, headers={"Retry-After": when}), httpx.Response(202, json=RECEIPT)]
    )
    assert (await adapter.submit(payload())).external_id == "x-1"
    assert sleep.delays == [3.0]


async def test_5xx_without_retry_after_backs_off_with_jitter_and_gives_up(scripted: Any) -> None:
    adapter, sleep = scripted([httpx.Response(500), httpx.Response(502), httpx.Response(503)])
    with pytest.raises(LenderUnavailable, match=r"failed \(HTTP 503\) \(3 attempts\)"):
        await adapter.submit(payload())
    # Full jitter: anywhere below base·2^(n-1), here 0.01 then 0.02.
    assert len(sleep.delays) == 2
    assert 0 <= sleep.delays[0] <= 0.01
    assert 0 <= sleep.delays[1] <= 0.02


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(202, content=b"<html>busy</html>"),
        httpx.Response(202, json=[RECEIPT]),
        httpx.Response(202, json={**RECEIPT, "status": "maybe"}),
        httpx.Response(202, json={**RECEIPT, "received_at": "2027-01-15T08:00:00"}),
    ],
    ids=["not-json", "not-an-object", "unknown-status", "naive-time"],
)
async def test_a_receipt_in_the_wrong_shape_is_a_protocol_error(
    scripted: Any, answer: httpx.Response
) -> None:
    adapter, _ = scripted([answer])
    with pytest.raises(LenderProtocolError, match="scripted"):
        await adapter.submit(payload())


async def test_an_impossible_decision_is_a_protocol_error(scripted: Any) -> None:
    decision = {
        "external_id": "x-1",
        "application_reference": "OMF-2026-000042",
        "status": "approved",
        "offers": [],
        "decided_at": "2027-01-15T08:00:00+00:00",
    }
    adapter, _ = scripted([httpx.Response(200, json=decision)])
    with pytest.raises(LenderProtocolError, match="invalid decision"):
        await adapter.fetch_decision("x-1")


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", orjson.dumps({"event_id": "e-1", "event_type": "decision.updated"})],
    ids=["not-json", "not-an-object", "no-decision"],
)
async def test_a_signed_webhook_that_is_not_an_event_is_invalid(scripted: Any, body: bytes) -> None:
    adapter, _ = scripted([])
    header = signature_header(
        ENDPOINT.webhook_secret, int(NOW), "POST", "/api/v1/lender-webhooks/scripted", body
    )
    with pytest.raises(InvalidWebhook):
        await adapter.verify_webhook({"omnifin-signature": header}, body)
