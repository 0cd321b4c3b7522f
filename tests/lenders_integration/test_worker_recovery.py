"""A delivery whose worker is killed after the lender received the application and before the
receipt was recorded (`kill -9` of a real `omnifin worker`): another worker takes the job up,
sends again with the same idempotency key, and the lender holds one submission; ours is `sent`."""

from __future__ import annotations

import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from devtools.databases import recreate_database
from lending import migrations
from lending.applications.service import application_service
from lending.config import Settings
from lending.db import create_engine, create_sessionmaker, libpq_url, transaction
from lending.models.lenders import Lender
from lending.offers.service import offer_service
from tests.documents.processes import (
    FAST_RECOVERY,
    Processes,
    environment,
    one,
    poll,
    processes,
)
from tests.identity.factories import actor_of
from tests.lenders_integration.conftest import RunningSimulator
from tests.lenders_integration.test_submission_flow import Recorder
from tests.lending.factories import (
    create_application,
    create_borrower,
    create_catalog,
    give_consent,
)


@pytest.fixture(scope="module")
def url(server_url: str) -> str:
    url = recreate_database(server_url, "omnifin_submission_recovery")
    migrations.upgrade(url)
    return url


@pytest.fixture
def running() -> Iterator[Processes]:
    yield from processes()


@pytest.fixture(scope="module")
def public() -> Iterator[Recorder]:
    """Where the simulator's decision webhooks go (no API runs in this test)."""
    server = Recorder()
    server.start()
    yield server
    server.stop()


async def _submitted(settings: Settings, url: str) -> tuple[uuid.UUID, str]:
    engine = create_engine(settings, url)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            await create_catalog(session)
            borrower = await create_borrower(session, settings)
            await give_consent(session, borrower)
            actor = actor_of(borrower)
            started = await create_application(session, borrower)
            offers = await offer_service.get_offers(session, actor, application_id=started.id)
            lender_id = offers.offers[0].lender_id
            submitted = await application_service.submit(
                session, actor, application_id=started.id, lender_ids=[lender_id]
            )
            lender = await session.get(Lender, lender_id)
            assert lender is not None
            [submission] = submitted.submissions
            return submission.id, lender.slug
    finally:
        await engine.dispose()


async def test_a_delivery_whose_worker_is_killed_reaches_the_lender_once(
    url: str,
    tmp_path: Path,
    running: Processes,
    slow_simulator: RunningSimulator,
    public: Recorder,
) -> None:
    settings = Settings(
        environment="test",
        state_dir=tmp_path / "state",
        database_url=url,  # type: ignore[arg-type]
        documents_dir=tmp_path / "documents",
    )
    simulator = slow_simulator  # 1.5 s per answer: time to take the lock while it answers
    submission_id, lender_code = await _submitted(settings, url)
    env = environment(
        settings,
        **FAST_RECOVERY,
        lender_api_base_url=simulator.url,
        lender_simulator="true",  # the simulated lenders share its secrets
        lender_request_secret=simulator.request_secret.get_secret_value(),
        lender_webhook_secret=simulator.webhook_secret.get_secret_value(),
        public_url=public.url,
    )
    status = "SELECT status::text FROM lender_submission WHERE id = %s"
    job = (
        "SELECT status::text FROM procrastinate_jobs "
        "WHERE task_name = 'lenders.submit_application' AND args->>'submission_id' = %s"
    )
    before = (await simulator.counters(lender_code))["submissions"]

    # Recording the receipt waits on this lock (plain reads still pass): the worker dies after
    # the lender has the application and before we know it does.
    with psycopg.connect(libpq_url(url)) as holder:
        first = running.start("worker", env=env)
        poll(lambda: one(url, status, submission_id) == "pending", "the delivery to start")
        holder.execute("LOCK TABLE lender_submission IN EXCLUSIVE MODE")
        poll(
            lambda: one(
                url,
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query ILIKE %s",
                "%lender_submission%",
            ),
            "the worker to record the receipt",
        )
        first.send_signal(signal.SIGKILL)
        first.wait()
        holder.rollback()

    assert one(url, job, str(submission_id)) == "doing"
    assert (await simulator.counters(lender_code))["submissions"] == before + 1
    running.start("worker", env=env)
    poll(lambda: one(url, job, str(submission_id)) == "succeeded", "the delivery to succeed")

    assert one(url, status, submission_id) in ("sent", "approved", "declined")
    assert one(url, "SELECT external_reference FROM lender_submission WHERE id = %s", submission_id)
    assert (await simulator.counters(lender_code))["submissions"] == before + 1
