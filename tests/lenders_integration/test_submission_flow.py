"""A submitted application delivered to `omnifin lender-sim` (a real process on loopback) by the
submission job, and the lender's signed webhook coming back through our webhook route.

`test_the_real_server_receives_the_simulators_webhooks` runs the real app behind a real uvicorn
server on a loopback port, in the test's event loop and on the test's transaction, and the
simulator POSTs its webhooks (each twice) to it. The other tests have the simulator POST to a
loopback recorder at our route's exact path and hand the recorded bytes and headers, unchanged,
to the app, so that they can look at each answer (processed, duplicate, 401).
"""

from __future__ import annotations

import asyncio
import queue
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request, Response
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from api.app import create_app
from lending.applications.service import application_service
from lending.config import Settings
from lending.db import SessionMaker
from lending.kv import MemoryStore
from lending.lenders.integration.http_adapter import LenderHttpPolicy
from lending.lenders.integration.registry import LenderAdapters, callback_url
from lending.lenders.integration.replay import StoreReplayGuard
from lending.lenders.service import SUBMIT_TASK
from lending.lenders.tasks import submit_application
from lending.models.applications import ApplicationStatus
from lending.models.lenders import Lender, LenderSubmission, SubmissionStatus
from lending.models.offers import Offer, OfferKind
from lending.offers.service import offer_service
from tests.identity.factories import actor_of
from tests.lenders_integration.conftest import (
    TEST_POLICY,
    WAIT_SECONDS,
    RunningSimulator,
    free_port,
)
from tests.lending.factories import (
    create_application,
    create_borrower,
    create_catalog,
    give_consent,
)


@dataclass(frozen=True)
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes


class Recorder:
    """A real HTTP server on loopback standing in for our public URL: records every POST."""

    def __init__(self) -> None:
        self.deliveries: queue.Queue[Delivery] = queue.Queue()
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        app = FastAPI()

        @app.post("/{path:path}")
        async def record(path: str, request: Request) -> Response:
            body = await request.body()
            self.deliveries.put(Delivery(request.url.path, dict(request.headers), body))
            return Response(status_code=200)

        config = uvicorn.Config(app, log_config=None, lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise AssertionError("the recorder did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    async def delivery(self) -> Delivery:
        try:
            return await asyncio.to_thread(self.deliveries.get, True, WAIT_SECONDS)
        except queue.Empty:
            raise AssertionError(f"no webhook within {WAIT_SECONDS} s") from None


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


@pytest.fixture
async def adapters(lender_settings: Settings) -> AsyncIterator[LenderAdapters]:
    registry = LenderAdapters(
        lender_settings,
        replay_guard=StoreReplayGuard(MemoryStore()),
        policy=LenderHttpPolicy.from_settings(lender_settings, **TEST_POLICY),
    )
    yield registry
    await registry.aclose()


@pytest.fixture
async def app_client(
    lender_settings: Settings, sessionmaker: SessionMaker, memory_store: MemoryStore
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(lender_settings, sessionmaker=sessionmaker, store=memory_store)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as http,
    ):
        yield http


async def _submitted(
    session: AsyncSession, settings: Settings, **application: Any
) -> tuple[Any, uuid.UUID, str]:
    """A borrower's application submitted to one lender (committed to the test's savepoint)."""
    await create_catalog(session)
    borrower = await create_borrower(session, settings)
    await give_consent(session, borrower)
    actor = actor_of(borrower)
    started = await create_application(session, borrower, **application)
    offers = await offer_service.get_offers(session, actor, application_id=started.id)
    submitted = await application_service.submit(
        session, actor, application_id=started.id, lender_ids=[offers.offers[0].lender_id]
    )
    await session.commit()
    [submission] = submitted.submissions
    lender = await session.get(Lender, offers.offers[0].lender_id)
    assert lender is not None
    return actor, submission.id, lender.slug


async def _submission(session: AsyncSession, submission_id: uuid.UUID) -> LenderSubmission:
    session.expire_all()
    row = await session.get(LenderSubmission, submission_id)
    assert row is not None
    return row


def _relay(delivery: Delivery) -> dict[str, Any]:
    headers = {k: v for k, v in delivery.headers.items() if k.lower() in ("omnifin-signature",)}
    return {
        "url": delivery.path,
        "content": delivery.body,
        "headers": {**headers, "content-type": "application/json"},
    }


async def test_submission_is_delivered_and_the_signed_decision_approves_the_application(
    session: AsyncSession,
    sessionmaker: SessionMaker,
    lender_settings: Settings,
    simulator: RunningSimulator,
    recorder: Recorder,
    adapters: LenderAdapters,
    app_client: httpx.AsyncClient,
) -> None:
    actor, submission_id, slug = await _submitted(session, lender_settings)
    await simulator.change(slug, rules={"offer_kind": "firm"})
    before = await simulator.counters(slug)

    status = await submit_application(sessionmaker, submission_id=submission_id, adapters=adapters)

    assert status in ("sent", "approved")
    row = await _submission(session, submission_id)
    assert row.external_reference  # the simulator's id, from its receipt
    application_id = row.application_id
    after = await simulator.counters(slug)
    assert after != before  # the simulator saw the submission
    # A re-run job sends nothing more (already sent).
    assert await submit_application(sessionmaker, submission_id=submission_id, adapters=adapters)

    delivery = await recorder.delivery()
    assert delivery.path == httpx.URL(callback_url(lender_settings, slug)).path
    response = await app_client.post(**_relay(delivery))
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "processed"}

    session.expire_all()
    application = await application_service.get(session, actor, application_id=application_id)
    assert application.status is ApplicationStatus.APPROVED
    assert [s.status for s in application.submissions] == [SubmissionStatus.APPROVED]
    firm = await session.scalar(
        select(func.count())
        .select_from(Offer)
        .where(Offer.application_id == application_id, Offer.kind == OfferKind.FIRM)
    )
    assert firm == 1
    events = await application_service.events(session, actor, application_id=application_id)
    all_offers = select(func.count()).select_from(Offer)
    offers = await session.scalar(all_offers.where(Offer.application_id == application_id))

    # The same delivery again: acknowledged, nothing done.
    again = await app_client.post(**_relay(delivery))
    assert again.status_code == 200
    assert again.json() == {"status": "duplicate"}
    session.expire_all()
    assert len(
        await application_service.events(session, actor, application_id=application_id)
    ) == len(events)
    assert await session.scalar(all_offers.where(Offer.application_id == application_id)) == offers

    # A tampered body or no signature: 401, nothing done.
    tampered = _relay(delivery) | {"content": delivery.body.replace(b"approved", b"declined")}
    assert (await app_client.post(**tampered)).status_code == 401
    unsigned = _relay(delivery) | {"headers": {"content-type": "application/json"}}
    assert (await app_client.post(**unsigned)).status_code == 401


async def test_a_declined_decision_declines_the_application(
    session: AsyncSession,
    sessionmaker: SessionMaker,
    lender_settings: Settings,
    simulator: RunningSimulator,
    recorder: Recorder,
    adapters: LenderAdapters,
    app_client: httpx.AsyncClient,
) -> None:
    actor, submission_id, slug = await _submitted(session, lender_settings)
    await simulator.change(slug, rules={"decline_amount_above": "1000.00"})

    await submit_application(sessionmaker, submission_id=submission_id, adapters=adapters)
    response = await app_client.post(**_relay(await recorder.delivery()))

    assert response.status_code == 200, response.text
    row = await _submission(session, submission_id)
    application_id = row.application_id
    assert row.status is SubmissionStatus.DECLINED
    assert row.decision_reason == "amount above the lender's maximum"
    application = await application_service.get(session, actor, application_id=application_id)
    assert application.status is ApplicationStatus.DECLINED
    await simulator.change(slug, rules={})  # back to the simulator's defaults


async def test_an_unreachable_lender_reschedules_the_job(
    session: AsyncSession, sessionmaker: SessionMaker, lender_settings: Settings
) -> None:
    _actor, submission_id, _lender = await _submitted(session, lender_settings)
    # The worker took the job `submit` enqueued (its queueing lock only holds waiting jobs).
    await session.execute(
        text(
            "UPDATE procrastinate_jobs SET status = 'doing' "
            "WHERE queueing_lock = :lock AND status = 'todo'"
        ),
        {"lock": f"submission:{submission_id}"},
    )
    await session.commit()
    down = lender_settings.model_copy(
        update={"lender_api_base_url": f"http://127.0.0.1:{free_port()}"}
    )
    registry = LenderAdapters(
        down,
        replay_guard=StoreReplayGuard(MemoryStore()),
        policy=LenderHttpPolicy.from_settings(down, **TEST_POLICY),
    )
    try:
        status = await submit_application(
            sessionmaker, submission_id=submission_id, adapters=registry
        )
    finally:
        await registry.aclose()

    assert status == "pending"
    row = await _submission(session, submission_id)
    job = (
        await session.execute(
            text(
                "SELECT args, scheduled_at > now() FROM procrastinate_jobs "
                "WHERE id = :id AND task_name = :task"
            ),
            {"id": row.job_id, "task": SUBMIT_TASK},
        )
    ).one()
    assert job[0] == {"submission_id": str(submission_id), "attempt": 2}
    assert job[1] is True


async def test_without_a_lender_api_the_submission_waits_pending(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    _actor, submission_id, _lender = await _submitted(session, settings)
    registry = LenderAdapters(settings, replay_guard=StoreReplayGuard(MemoryStore()))
    try:
        status = await submit_application(
            sessionmaker, submission_id=submission_id, adapters=registry
        )
    finally:
        await registry.aclose()
    assert status == "pending"
    assert (await _submission(session, submission_id)).status is SubmissionStatus.PENDING


class OneAtATimeSession(AsyncSession):
    """A session that holds `lock` while open. The server's requests and the test's job share the
    test's one connection, which cannot carry two transactions at once."""

    lock: ClassVar[asyncio.Lock]

    async def __aenter__(self) -> OneAtATimeSession:
        await self.lock.acquire()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        try:
            await super().__aexit__(*exc_info)
        finally:
            self.lock.release()


async def test_the_real_server_receives_the_simulators_webhooks(
    db_connection: AsyncConnection,
    session: AsyncSession,
    settings: Settings,
    simulator: RunningSimulator,
    memory_store: MemoryStore,
) -> None:
    OneAtATimeSession.lock = asyncio.Lock()
    serial: SessionMaker = async_sessionmaker(
        bind=db_connection,
        class_=OneAtATimeSession,
        expire_on_commit=False,
        autoflush=False,
        join_transaction_mode="create_savepoint",
    )
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    public_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    real = settings.model_copy(
        update={
            "lender_api_base_url": simulator.url,
            "lender_request_secret": simulator.request_secret,
            "lender_webhook_secret": simulator.webhook_secret,
            "lender_simulator": True,
            "public_url": public_url,
        }
    )
    actor, submission_id, slug = await _submitted(session, real)
    await simulator.change(slug, rules={"offer_kind": "firm"}, duplicate_webhooks=True)
    before = await simulator.counters(slug)
    app = create_app(real, sessionmaker=serial, store=memory_store)
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="on", access_log=False))
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    registry = LenderAdapters(
        real,
        replay_guard=StoreReplayGuard(MemoryStore()),
        policy=LenderHttpPolicy.from_settings(real, **TEST_POLICY),
    )
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while not server.started:
            if time.monotonic() > deadline or serving.done():
                raise AssertionError("the server did not start")
            await asyncio.sleep(0.02)

        await submit_application(serial, submission_id=submission_id, adapters=registry)
        counters = await simulator.wait_for(
            slug, "webhooks_delivered", before["webhooks_delivered"] + 2
        )
        # Both deliveries of the event were answered 2xx: the first processed, the second a
        # duplicate (the lender stops re-delivering either).
        assert counters["webhooks_delivered"] == before["webhooks_delivered"] + 2
        assert counters["webhook_attempts"] == before["webhook_attempts"] + 2

        async with httpx.AsyncClient() as http:
            forged = await http.post(
                callback_url(real, slug),
                content=b'{"event_id": "evt_forged"}',
                headers={"Omnifin-Signature": "t=1,v1=00", "Content-Type": "application/json"},
            )
        assert forged.status_code == 401
    finally:
        await registry.aclose()
        server.should_exit = True
        await serving
        await simulator.change(slug, rules={})

    session.expire_all()
    row = await _submission(session, submission_id)
    assert row.status is SubmissionStatus.APPROVED
    application = await application_service.get(session, actor, application_id=row.application_id)
    assert application.status is ApplicationStatus.APPROVED
    events = await application_service.events(session, actor, application_id=row.application_id)
    assert [e.to_status for e in events][-2:] == [
        ApplicationStatus.UNDER_REVIEW,
        ApplicationStatus.APPROVED,
    ]
    firm = await session.scalar(
        select(func.count())
        .select_from(Offer)
        .where(Offer.application_id == row.application_id, Offer.kind == OfferKind.FIRM)
    )
    assert firm == 1
