"""A lender reports what happened to a loan it funded (balance, arrears, discharge...) by its
signed webhook: `omnifin lender-sim` (a real process) POSTs the `loan.servicing` event over HTTP
to a loopback recorder at our route's exact path, and the recorded bytes and headers go, unchanged,
to the app, so that each answer can be looked at (processed, duplicate, 401, 404).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from api.app import create_app
from lending.applications.service import application_service
from lending.commissions.common import CLAWBACK_TASK
from lending.config import Settings
from lending.db import SessionMaker
from lending.kv import MemoryStore
from lending.lenders.integration.http_adapter import LenderHttpPolicy
from lending.lenders.integration.registry import LenderAdapters, callback_url
from lending.lenders.integration.replay import StoreReplayGuard
from lending.lenders.integration.signing import SIGNATURE_HEADER, signature_header
from lending.lenders.tasks import submit_application
from lending.models.commissions import FundedLoan, LoanServicingEvent, LoanStatus
from lending.models.identity import Organization
from lending.models.lenders import Lender
from tests.commissions.factories import create_loan
from tests.lenders_integration.conftest import TEST_POLICY, RunningSimulator
from tests.lenders_integration.test_submission_flow import Delivery, Recorder, _relay, _submitted


@pytest.fixture(scope="module")
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def lender_settings(
    settings: Settings, simulator: RunningSimulator, recorder: Recorder
) -> Settings:
    return settings.model_copy(
        update={
            "lender_api_base_url": simulator.url,
            "lender_request_secret": simulator.request_secret,
            "lender_webhook_secret": simulator.webhook_secret,
            "lender_simulator": True,
            "public_url": recorder.url,
        }
    )


def _app(settings: Settings, sessionmaker: SessionMaker, store: MemoryStore) -> Any:
    return create_app(settings, sessionmaker=sessionmaker, store=store)


@pytest.fixture
async def app_client(
    lender_settings: Settings, sessionmaker: SessionMaker, memory_store: MemoryStore
) -> AsyncIterator[httpx.AsyncClient]:
    app = _app(lender_settings, sessionmaker, memory_store)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as http,
    ):
        yield http


async def _funded_loan(
    session: AsyncSession,
    sessionmaker: SessionMaker,
    settings: Settings,
    recorder: Recorder,
    app_client: httpx.AsyncClient,
) -> tuple[str, str, uuid.UUID]:
    """An application submitted to the simulator (so it knows the callback URL) and the loan
    that lender funded under the application's reference: (lender code, reference, loan)."""
    actor, submission_id, slug = await _submitted(session, settings)
    registry = LenderAdapters(
        settings,
        replay_guard=StoreReplayGuard(MemoryStore()),
        policy=LenderHttpPolicy.from_settings(settings, **TEST_POLICY),
    )
    try:
        await submit_application(sessionmaker, submission_id=submission_id, adapters=registry)
    finally:
        await registry.aclose()
    decision = await recorder.delivery()  # the decision webhook, processed as usual
    assert (await app_client.post(**_relay(decision))).status_code == 200
    session.expire_all()
    [application] = (await application_service.list_applications(session, actor)).items
    lender = await session.scalar(select(Lender).where(Lender.slug == slug))
    organization = await session.get(Organization, application.organization_id)
    assert lender is not None
    assert organization is not None
    loan = await create_loan(
        session,
        organization,
        reference=application.reference,
        lender_id=lender.id,
        amount="500000.00",
        funded_on=date(2026, 1, 15),
    )
    loan_id = loan.id
    await session.commit()
    return slug, application.reference, loan_id


async def _report(
    simulator: RunningSimulator, recorder: Recorder, slug: str, **report: Any
) -> tuple[dict[str, Any], Delivery]:
    """Have the simulator send a servicing event; the delivery as our route would receive it."""
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{simulator.url}/_simulator/lenders/{slug}/servicing", json=report
        )
    response.raise_for_status()
    sent: dict[str, Any] = response.json()
    assert sent["statuses"] == [200] * report.get("deliveries", 1)  # the recorder's answers
    return sent, await recorder.delivery()


async def _events(session: AsyncSession, loan_id: uuid.UUID) -> list[LoanServicingEvent]:
    session.expire_all()
    statement = (
        select(LoanServicingEvent)
        .where(LoanServicingEvent.loan_id == loan_id)
        .order_by(LoanServicingEvent.id)
    )
    return list((await session.scalars(statement)).all())


async def _loan(session: AsyncSession, loan_id: uuid.UUID) -> FundedLoan:
    session.expire_all()
    loan = await session.get(FundedLoan, loan_id)
    assert loan is not None
    return loan


async def test_the_lenders_signed_servicing_events_move_the_loan_once_each(
    session: AsyncSession,
    sessionmaker: SessionMaker,
    lender_settings: Settings,
    simulator: RunningSimulator,
    recorder: Recorder,
    app_client: httpx.AsyncClient,
) -> None:
    slug, reference, loan_id = await _funded_loan(
        session, sessionmaker, lender_settings, recorder, app_client
    )

    # A balance report: recorded with the lender as its source and the lender's event id.
    sent, delivery = await _report(
        simulator,
        recorder,
        slug,
        application_reference=reference,
        kind="balance",
        occurred_on="2026-02-28",
        outstanding_balance="498750.00",
    )
    assert json.loads(delivery.body)["event_type"] == "loan.servicing"
    answer = await app_client.post(**_relay(delivery))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": "processed"}
    [balance] = await _events(session, loan_id)
    assert (balance.kind.value, balance.source, balance.lender_event_id) == (
        "balance",
        "lender",
        sent["event_id"],
    )
    assert balance.recorded_by_user_id is None
    assert (await _loan(session, loan_id)).outstanding_balance == Decimal("498750.00")

    # The same delivery again (the replay guard), and the same event id after the guard has
    # forgotten it (another instance, a new store: the database's uniqueness): nothing more.
    again = await app_client.post(**_relay(delivery))
    assert again.json() == {"status": "duplicate"}
    fresh = _app(lender_settings, sessionmaker, MemoryStore())
    async with (
        fresh.router.lifespan_context(fresh),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=fresh), base_url="http://testserver"
        ) as other,
    ):
        _, resent = await _report(
            simulator,
            recorder,
            slug,
            application_reference=reference,
            kind="balance",
            occurred_on="2026-02-28",
            outstanding_balance="498750.00",
            event_id=sent["event_id"],
        )
        late = await other.post(**_relay(resent))
    assert late.status_code == 200, late.text
    assert late.json() == {"status": "duplicate"}
    assert len(await _events(session, loan_id)) == 1

    # A tampered body or a wrong signature: 401, nothing recorded.
    _, arrears = await _report(
        simulator,
        recorder,
        slug,
        application_reference=reference,
        kind="arrears",
        occurred_on="2026-03-31",
    )
    tampered = _relay(arrears) | {"content": arrears.body.replace(b"arrears", b"discharged")}
    assert (await app_client.post(**tampered)).status_code == 401
    forged = _relay(arrears) | {
        "headers": {SIGNATURE_HEADER: f"t={int(time.time())},v1={'0' * 64}"}
    }
    assert (await app_client.post(**forged)).status_code == 401
    assert len(await _events(session, loan_id)) == 1
    assert (await _loan(session, loan_id)).status is LoanStatus.ACTIVE

    # The genuine arrears report: trail stops (the loan is in arrears).
    assert (await app_client.post(**_relay(arrears))).json() == {"status": "processed"}
    assert (await _loan(session, loan_id)).status is LoanStatus.IN_ARREARS

    # Discharged: the loan closes and the clawback job is queued, as for an admin's record.
    _, discharged = await _report(
        simulator,
        recorder,
        slug,
        application_reference=reference,
        kind="discharged",
        occurred_on="2026-09-15",
    )
    assert (await app_client.post(**_relay(discharged))).json() == {"status": "processed"}
    closed = await _loan(session, loan_id)
    assert (closed.status, closed.closed_on) == (LoanStatus.DISCHARGED, date(2026, 9, 15))
    last = (await _events(session, loan_id))[-1]
    assert last.kind.value == "discharged"
    jobs = (
        await session.execute(
            text("SELECT args FROM procrastinate_jobs WHERE task_name = :task"),
            {"task": CLAWBACK_TASK},
        )
    ).scalars()
    assert {"servicing_event_id": last.id} in list(jobs)

    # A closed loan has no further events: refused (409), and nothing recorded.
    _, after = await _report(
        simulator,
        recorder,
        slug,
        application_reference=reference,
        kind="balance",
        occurred_on="2026-10-01",
        outstanding_balance="0.00",
    )
    assert (await app_client.post(**_relay(after))).status_code == 409
    assert len(await _events(session, loan_id)) == 3


async def test_a_reference_that_is_not_this_lenders_loan_is_refused(
    session: AsyncSession,
    sessionmaker: SessionMaker,
    lender_settings: Settings,
    simulator: RunningSimulator,
    recorder: Recorder,
    app_client: httpx.AsyncClient,
) -> None:
    slug, reference, loan_id = await _funded_loan(
        session, sessionmaker, lender_settings, recorder, app_client
    )
    other_lender = await session.scalar(select(Lender).where(Lender.slug != slug).limit(1))
    assert other_lender is not None
    secret = lender_settings.lender_webhook_secret
    assert secret is not None

    async def signed(lender_code: str, application_reference: str) -> httpx.Response:
        body = json.dumps(
            {
                "event_id": f"evt_{uuid.uuid4()}",
                "event_type": "loan.servicing",
                "occurred_at": "2026-04-01T00:00:00+00:00",
                "servicing": {
                    "application_reference": application_reference,
                    "kind": "arrears",
                    "occurred_on": "2026-04-01",
                },
            }
        ).encode()
        path = httpx.URL(callback_url(lender_settings, lender_code)).path
        header = signature_header(secret, int(time.time()), "POST", path, body)
        return await app_client.post(
            path,
            content=body,
            headers={SIGNATURE_HEADER: header, "content-type": "application/json"},
        )

    unknown = await signed(slug, "OMF-2099-999999")
    assert unknown.status_code == 404, unknown.text
    # Correctly signed for another lender's path: that lender did not fund this loan.
    foreign = await signed(other_lender.slug, reference)
    assert foreign.status_code == 404, foreign.text
    assert (
        await session.scalar(
            select(func.count())
            .select_from(LoanServicingEvent)
            .where(LoanServicingEvent.loan_id == loan_id)
        )
        == 0
    )
    assert (await _loan(session, loan_id)).status is LoanStatus.ACTIVE

    # A loan.servicing event without its report, or with a report missing the balance: 422.
    path = httpx.URL(callback_url(lender_settings, slug)).path
    for servicing in (
        None,
        {"application_reference": reference, "kind": "balance", "occurred_on": "2026-04-01"},
    ):
        body = json.dumps(
            {
                "event_id": f"evt_{uuid.uuid4()}",
                "event_type": "loan.servicing",
                "occurred_at": "2026-04-01T00:00:00+00:00",
                **({"servicing": servicing} if servicing else {}),
            }
        ).encode()
        header = signature_header(secret, int(time.time()), "POST", path, body)
        bad = await app_client.post(
            path,
            content=body,
            headers={SIGNATURE_HEADER: header, "content-type": "application/json"},
        )
        assert bad.status_code == 422, bad.text

    # The simulator refuses to report on an application it never received.
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{simulator.url}/_simulator/lenders/{slug}/servicing",
            json={
                "application_reference": "OMF-2099-999999",
                "kind": "arrears",
                "occurred_on": "2026-04-01",
            },
        )
    assert response.status_code == 404
