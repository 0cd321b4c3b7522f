"""The HTTP adapter against `omnifin lender-sim` running as a real process, webhooks to a real server."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal

import httpx
import orjson
import pytest
from pydantic import SecretStr

from lending.kv import Store
from lending.lenders.integration.circuit_breaker import CircuitBreaker, CircuitState
from lending.lenders.integration.errors import (
    DuplicateWebhook,
    LenderCircuitOpen,
    LenderRequestRejected,
    LenderUnavailable,
    WebhookRejected,
)
from lending.lenders.integration.http_adapter import HttpLenderAdapter
from lending.lenders.integration.protocol import (
    CreditScoreBand,
    DecisionStatus,
    OfferKind,
)
from lending.lenders.integration.signing import signature_header
from tests.lenders_integration.conftest import (
    FakeClock,
    RecordingSleep,
    RunningSimulator,
    WebhookReceiver,
    circuit_state,
    endpoint,
    free_port,
    lender_code,
    payload,
)

AdapterFactory = Callable[..., HttpLenderAdapter]


async def test_submission_end_to_end(
    simulator: RunningSimulator, receiver: WebhookReceiver, make_adapter: AdapterFactory
) -> None:
    code = lender_code()
    adapter = make_adapter(endpoint(simulator, receiver, code))

    receipt = await adapter.submit(payload(), idempotency_key="submission-1")
    assert receipt.lender_code == code
    assert receipt.status == DecisionStatus.PENDING
    assert receipt.idempotency_key == "submission-1"
    assert not receipt.replayed

    delivery = await receiver.delivery(code)
    assert delivery.headers["omnifin-signature"].startswith("t=")
    event = await adapter.verify_webhook(delivery.headers, delivery.body)
    assert event.lender_code == code
    assert event.event_type == "decision.updated"
    decision = event.decision
    assert decision is not None
    assert event.servicing is None
    assert decision.external_id == receipt.external_id
    assert decision.application_reference == "OMF-2026-000042"
    assert decision.status == DecisionStatus.APPROVED
    (offer,) = decision.offers
    assert offer.kind == OfferKind.FIRM  # a decision on a submission is a firm offer
    assert offer.amount == Decimal("10000.00")
    assert offer.note_rate == Decimal("9.490")
    assert offer.term_months == 36
    assert [(fee.name, fee.amount, fee.finance_charge) for fee in offer.fees] == [
        ("origination", Decimal("100.00"), True)
    ]
    assert decision.decided_at is not None
    assert offer.expires_at > decision.decided_at

    assert await adapter.fetch_decision(receipt.external_id) == decision
    counters = await simulator.counters(code)
    del counters["behaviour"]
    assert counters == {
        "requests": 2,  # the submission and the fetch
        "submissions": 1,
        "pending_faults": 0,
        "webhook_attempts": 1,
        "webhooks_delivered": 1,
    }


@pytest.mark.parametrize(
    ("changes", "status", "reasons"),
    [
        ({"credit_score_band": CreditScoreBand.POOR}, "declined", ["credit score band"]),
        ({"amount": "60000.00"}, "declined", ["amount above"]),
        ({"purpose": "vacation"}, "declined", ["purpose not financed"]),
        (
            {"amount": "60000.00", "purpose": "vacation", "credit_score_band": "poor"},
            "declined",
            ["amount above", "credit score band", "purpose not financed"],
        ),
        ({"amount": "40000.00"}, "referred", ["manual underwriting"]),
        ({"purpose": "auto", "credit_score_band": "excellent"}, "approved", []),
    ],
    ids=["poor-band", "amount", "purpose", "every-reason", "referred", "approved"],
)
async def test_decline_rules(
    simulator: RunningSimulator,
    receiver: WebhookReceiver,
    make_adapter: AdapterFactory,
    changes: dict[str, str],
    status: str,
    reasons: list[str],
) -> None:
    code = lender_code()
    await simulator.change(
        code,
        rules={
            "decline_amount_above": "50000",
            "refer_amount_above": "35000",
            "declined_score_bands": ["poor"],
            "allowed_purposes": ["auto", "debt_consolidation"],
        },
    )
    adapter = make_adapter(endpoint(simulator, receiver, code))
    await adapter.submit(payload(**changes))
    delivery = await receiver.delivery(code)
    event = await adapter.verify_webhook(delivery.headers, delivery.body)
    assert event.decision is not None
    assert event.decision.status == status
    assert len(event.decision.reasons) == len(reasons)
    for reason, expected in zip(event.decision.reasons, reasons, strict=True):
        assert expected in reason
    assert bool(event.decision.offers) == (status == "approved")


async def test_a_lender_timing_out_is_retried_then_its_circuit_opens_and_half_opens(
    slow_simulator: RunningSimulator, receiver: WebhookReceiver, make_adapter: AdapterFactory
) -> None:
    code = lender_code()
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout_seconds=30, clock=clock)
    sleep = RecordingSleep()
    adapter = make_adapter(
        endpoint(slow_simulator, receiver, code),
        breaker=breaker,
        sleep=sleep,
        request_timeout_seconds=0.2,  # the simulator answers after 1.5 s
    )

    with pytest.raises(LenderUnavailable) as timed_out:
        await adapter.submit(payload(), idempotency_key="slow-1")
    assert not isinstance(timed_out.value, LenderCircuitOpen)
    assert str(timed_out.value) == f"Lender {code} did not answer in time (3 attempts)."
    assert timed_out.value.status_code == 503
    assert len(sleep.delays) == 2  # between the three attempts
    assert all(0 <= delay <= 0.05 for delay in sleep.delays)
    counters = await slow_simulator.wait_for(code, "submissions", 1)
    assert counters["requests"] == 3
    # Each timed-out attempt still reached the lender; the same idempotency key made it one.
    assert counters["submissions"] == 1

    assert circuit_state(breaker) == CircuitState.OPEN
    with pytest.raises(LenderCircuitOpen) as refused:
        await adapter.fetch_decision("anything")
    assert refused.value.retry_after_seconds == 30
    assert refused.value.headers == {"Retry-After": "30"}
    assert (await slow_simulator.counters(code))["requests"] == 3  # not even tried

    clock.advance(30)
    assert circuit_state(breaker) == CircuitState.HALF_OPEN
    with pytest.raises(LenderUnavailable) as probe_failed:
        await adapter.submit(payload(), idempotency_key="slow-1")
    # One probe went through, failed, and the circuit reopened: no further attempts.
    assert str(probe_failed.value) == f"Lender {code} did not answer in time (1 attempt)."
    assert circuit_state(breaker) == CircuitState.OPEN
    assert (await slow_simulator.wait_for(code, "requests", 4))["requests"] == 4


async def test_after_the_cool_down_a_successful_probe_closes_the_circuit(
    simulator: RunningSimulator, receiver: WebhookReceiver, make_adapter: AdapterFactory
) -> None:
    code = lender_code()
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout_seconds=30, clock=clock)
    adapter = make_adapter(endpoint(simulator, receiver, code), breaker=breaker)
    await simulator.queue_faults(code, {"status": 503}, {"status": 502}, {"status": 500})

    with pytest.raises(LenderUnavailable, match=r"failed \(HTTP 500\) \(3 attempts\)"):
        await adapter.submit(payload())
    assert circuit_state(breaker) == CircuitState.OPEN
    clock.advance(30)
    assert circuit_state(breaker) == CircuitState.HALF_OPEN

    receipt = await adapter.submit(payload())
    assert circuit_state(breaker) == CircuitState.CLOSED
    assert breaker.consecutive_failures == 0
    assert (await adapter.fetch_decision(receipt.external_id)).external_id == receipt.external_id


async def test_an_unreachable_lender_is_retried_then_a_clear_error(
    simulator: RunningSimulator, receiver: WebhookReceiver, make_adapter: AdapterFactory
) -> None:
    code = lender_code()
    nowhere = endpoint(simulator, receiver, code).model_copy(
        update={"base_url": f"http://127.0.0.1:{free_port()}/lenders/{code}"}
    )
    sleep = RecordingSleep()
    adapter = make_adapter(nowhere, sleep=sleep)
    with pytest.raises(LenderUnavailable, match=r"could not be reached \(3 attempts\)"):
        await adapter.submit(payload())
    assert len(sleep.delays) == 2
    assert circuit_state(adapter.breaker) == CircuitState.OPEN  # three failures: the threshold


async def test_a_duplicate_webhook_is_recognised(
    simulator: RunningSimulator,
    receiver: WebhookReceiver,
    make_adapter: AdapterFactory,
    store: Store,
) -> None:
    code = lender_code()
    await simulator.change(code, duplicate_webhooks=True)
    adapter = make_adapter(endpoint(simulator, receiver, code), store=store)
    await adapter.submit(payload())

    first, second = await receiver.delivery(code), await receiver.delivery(code)
    event = await adapter.verify_webhook(first.headers, first.body)
    with pytest.raises(DuplicateWebhook) as duplicate:
        await adapter.verify_webhook(second.headers, second.body)
    assert duplicate.value.event.event_id == event.event_id

    # Another instance of the API, sharing the store, knows the event too.
    other_instance = make_adapter(endpoint(simulator, receiver, code), store=store)
    with pytest.raises(DuplicateWebhook):
        await other_instance.verify_webhook(first.headers, first.body)

    # Processing failed: released, the lender's next delivery is processed.
    await adapter.release_webhook(event)
    assert await adapter.verify_webhook(second.headers, second.body) == event


async def test_the_simulator_retries_a_webhook_until_it_is_accepted(
    simulator: RunningSimulator, receiver: WebhookReceiver, make_adapter: AdapterFactory
) -> None:
    code = lender_code()
    receiver.fail_next(code, 2)
    adapter = make_adapter(endpoint(simulator, receiver, code))
    await adapter.submit(payload())

    deliveries = [await receiver.delivery(code) for _ in range(3)]
    assert [d.answered for d in deliveries] == [503, 503, 200]
    event_ids = {orjson.loads(d.body)["event_id"] for d in deliveries}
    assert len(event_ids) == 1  # one event, delivered until accepted
    event = await adapter.verify_webhook(deliveries[-1].headers, deliveries[-1].body)
    assert event.event_id in event_ids
    counters = await simulator.wait_for(code, "webhooks_delivered", 1)
    assert (counters["webhook_attempts"], counters["webhooks_delivered"]) == (3, 1)


async def test_a_bad_request_signature_is_refused_by_the_lender(
    simulator: RunningSimulator, receiver: WebhookReceiver, make_adapter: AdapterFactory
) -> None:
    code = lender_code()
    wrong = make_adapter(
        endpoint(simulator, receiver, code, request_secret=SecretStr("not-the-secret"))
    )
    with pytest.raises(LenderRequestRejected) as rejected:
        await wrong.submit(payload())
    assert rejected.value.lender_status == 401
    assert circuit_state(wrong.breaker) == CircuitState.CLOSED  # the lender answered: not an outage

    # Unsigned, and signed but altered on the way: refused the same.
    path = f"/lenders/{code}/applications"
    body = orjson.dumps(payload().model_dump(mode="json") | {"callback_url": "http://127.0.0.1/"})
    signed = signature_header(simulator.request_secret, int(time.time()), "POST", path, body)
    async with httpx.AsyncClient(base_url=simulator.url) as http:
        unsigned = await http.post(path, content=body, headers={"Idempotency-Key": "k"})
        altered = await http.post(
            path,
            content=body.replace(b"10000.00", b"99999.00"),
            headers={"Idempotency-Key": "k", "Omnifin-Signature": signed},
        )
    assert (unsigned.status_code, altered.status_code) == (401, 401)
    assert altered.json()["error"] == "invalid_signature"
    assert (await simulator.counters(code))["submissions"] == 0


async def test_verify_webhook_rejects_tampered_stale_and_unsigned_deliveries(
    simulator: RunningSimulator, receiver: WebhookReceiver, make_adapter: AdapterFactory
) -> None:
    code = lender_code()
    adapter = make_adapter(endpoint(simulator, receiver, code))
    await adapter.submit(payload())
    delivery = await receiver.delivery(code)
    path = f"/webhooks/{code}"

    tampered = delivery.body.replace(b'"approved"', b'"declined"', 1)
    assert tampered != delivery.body
    stale = signature_header(
        simulator.webhook_secret, int(time.time()) - 301, "POST", path, delivery.body
    )
    forged = signature_header(SecretStr("guess"), int(time.time()), "POST", path, delivery.body)
    for headers, body, reason in [
        (delivery.headers, tampered, "signature mismatch"),
        ({"Omnifin-Signature": stale}, delivery.body, "timestamp outside tolerance"),
        ({"Omnifin-Signature": forged}, delivery.body, "signature mismatch"),
        ({}, delivery.body, "no signature header"),
    ]:
        with pytest.raises(WebhookRejected) as rejected:
            await adapter.verify_webhook(headers, body)
        assert rejected.value.reason == reason
        assert rejected.value.status_code == 401

    # Rejections claim nothing: the genuine delivery still verifies.
    assert (await adapter.verify_webhook(delivery.headers, delivery.body)).lender_code == code


async def test_the_same_idempotency_key_makes_one_submission(
    simulator: RunningSimulator, receiver: WebhookReceiver, make_adapter: AdapterFactory
) -> None:
    code = lender_code()
    adapter = make_adapter(endpoint(simulator, receiver, code))

    first = await adapter.submit(payload(), idempotency_key="app-42-lender")
    again = await adapter.submit(payload(), idempotency_key="app-42-lender")
    assert again.external_id == first.external_id
    assert (first.replayed, again.replayed) == (False, True)
    with pytest.raises(LenderRequestRejected) as reused:
        await adapter.submit(payload(amount="12000.00"), idempotency_key="app-42-lender")
    assert reused.value.lender_status == 409
    other = await adapter.submit(payload(), idempotency_key="app-42-lender-resubmitted")
    assert other.external_id != first.external_id
    assert (await simulator.counters(code))["submissions"] == 2


async def test_a_lost_response_is_retried_with_the_same_key(
    simulator: RunningSimulator, receiver: WebhookReceiver, make_adapter: AdapterFactory
) -> None:
    code = lender_code()
    adapter = make_adapter(endpoint(simulator, receiver, code))
    # The lender creates the submission, then its answer is lost (a 503 instead).
    await simulator.queue_faults(code, {"status": 503, "after_processing": True})

    receipt = await adapter.submit(payload())  # no key given: the adapter makes one per call
    assert receipt.replayed
    counters = await simulator.counters(code)
    assert (counters["requests"], counters["submissions"]) == (2, 1)


async def test_429_is_retried_after_the_lenders_retry_after(
    simulator: RunningSimulator, receiver: WebhookReceiver, make_adapter: AdapterFactory
) -> None:
    code = lender_code()
    sleep = RecordingSleep()
    adapter = make_adapter(endpoint(simulator, receiver, code), sleep=sleep)
    await simulator.queue_faults(code, {"status": 429, "retry_after_seconds": 2})

    receipt = await adapter.submit(payload())
    assert sleep.delays == [2.0]  # the lender's time, not the (much shorter) backoff
    assert not receipt.replayed
    assert (await simulator.counters(code))["requests"] == 2
    assert adapter.breaker.consecutive_failures == 0  # busy is not down

    # Longer than the adapter will wait within a call: handed back to the caller at once.
    await simulator.queue_faults(code, {"status": 429, "retry_after_seconds": 120})
    with pytest.raises(LenderUnavailable, match=r"rate limiting us \(1 attempt\)") as later:
        await adapter.fetch_decision(receipt.external_id)
    assert later.value.retry_after_seconds == 120
    assert sleep.delays == [2.0]


async def test_an_unknown_submission_is_refused_with_the_lenders_404(
    simulator: RunningSimulator, receiver: WebhookReceiver, make_adapter: AdapterFactory
) -> None:
    code = lender_code()
    adapter = make_adapter(endpoint(simulator, receiver, code))
    with pytest.raises(LenderRequestRejected) as unknown:
        await adapter.fetch_decision("no-such-id")
    assert unknown.value.lender_status == 404
