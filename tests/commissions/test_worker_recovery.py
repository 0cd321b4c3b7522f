"""An accrual whose worker is killed mid-transaction (`kill -9` of a real `omnifin worker`): the
transaction dies with it, the job stays `doing` until another worker sees the heartbeat stop,
and that worker accrues the commission exactly once."""

from __future__ import annotations

import signal
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from devtools.databases import recreate_database
from lending import migrations
from lending.applications.service import LenderDecision, application_service
from lending.config import Settings
from lending.db import create_engine, create_sessionmaker, libpq_url, transaction
from lending.models.identity import Role
from lending.models.offers import Offer
from lending.offers.service import offer_service
from tests.api.lending_world import firm_offer
from tests.commissions.factories import create_admin, create_rule
from tests.documents.processes import (
    FAST_RECOVERY,
    Processes,
    environment,
    one,
    poll,
    processes,
)
from tests.identity.factories import actor_of, create_organization, create_user
from tests.lending.factories import create_borrower


@pytest.fixture(scope="module")
def url(server_url: str) -> str:
    url = recreate_database(server_url, "omnifin_accrual_recovery")
    migrations.upgrade(url)
    return url


@pytest.fixture
def running() -> Iterator[Processes]:
    yield from processes()


async def _funded_application(settings: Settings, url: str) -> uuid.UUID:
    engine = create_engine(settings, url)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            admin = await create_admin(session)
            await create_rule(
                session,
                admin,
                effective_from=datetime.now(UTC).date().replace(day=1),
                splits={"platform": "20", "firm": "10", "broker": "70"},
            )
            firm = await create_organization(session)
            broker = await create_user(session, organization=firm, role=Role.BROKER)
            borrower = await create_borrower(
                session, settings, organization=firm, referred_by=broker
            )
            offer_id = await firm_offer(session, borrower)
            await offer_service.accept(session, actor_of(borrower), offer_id=offer_id)
            offer = await session.get(Offer, offer_id)
            assert offer is not None
            application = await application_service.record_lender_decision(
                session,
                application_id=offer.application_id,
                lender_id=offer.lender_id,
                decision=LenderDecision.FUNDED,
            )
            return application.id
    finally:
        await engine.dispose()


async def test_an_accrual_whose_worker_is_killed_is_accrued_once_by_another_worker(
    url: str, tmp_path: Path, running: Processes
) -> None:
    settings = Settings(
        environment="test",
        state_dir=tmp_path / "state",
        database_url=url,  # type: ignore[arg-type]
        documents_dir=tmp_path / "documents",
    )
    application_id = await _funded_application(settings, url)
    env = environment(settings, **FAST_RECOVERY)
    job = (
        "SELECT status::text FROM procrastinate_jobs "
        "WHERE task_name = 'commissions.accrue_funded' AND args->>'application_id' = %s"
    )

    # The ledger insert waits on this lock: the worker dies inside the accrual's transaction.
    with psycopg.connect(libpq_url(url)) as holder:
        holder.execute("LOCK TABLE commission_entry IN SHARE MODE")
        first = running.start("worker", env=env)
        poll(
            lambda: one(
                url,
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query ILIKE %s",
                "%commission_entry%",
            ),
            "the worker to write the ledger",
        )
        first.send_signal(signal.SIGKILL)
        first.wait()
        holder.rollback()

    assert one(url, job, str(application_id)) == "doing"
    running.start("worker", env=env)
    poll(lambda: one(url, job, str(application_id)) == "succeeded", "the accrual to succeed")

    loans = one(url, "SELECT count(*) FROM funded_loan WHERE application_id = %s", application_id)
    entries = one(
        url,
        "SELECT count(*) FROM commission_entry e JOIN funded_loan l ON l.id = e.loan_id "
        "WHERE l.application_id = %s",
        application_id,
    )
    broker_amount = one(
        url,
        "SELECT e.total_amount FROM commission_entry e JOIN funded_loan l ON l.id = e.loan_id "
        "WHERE l.application_id = %s AND e.party = 'broker'",
        application_id,
    )
    assert (loans, entries) == (1, 3)
    assert str(broker_amount) == "68.25"
