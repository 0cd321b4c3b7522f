"""Funding an application queues the accrual job in the same transaction; the job records the
loan and accrues for the application's broker, once however often it runs."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from lending.applications.service import LenderDecision, application_service
from lending.commissions import tasks
from lending.commissions.common import ACCRUE_FUNDED_TASK
from lending.config import Settings
from lending.db import SessionMaker
from lending.models.applications import ApplicationStatus
from lending.models.commissions import CommissionEntry, FundedLoan
from lending.models.identity import Role
from lending.models.offers import Offer
from lending.offers.service import offer_service
from tests.api.lending_world import firm_offer
from tests.commissions.factories import create_admin, create_rule
from tests.identity.factories import actor_of, create_organization, create_user
from tests.lending.factories import create_borrower


async def test_funding_queues_the_accrual_and_the_job_pays_the_broker(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    admin = await create_admin(session)
    await create_rule(
        session,
        admin,
        effective_from=datetime.now(UTC).date().replace(day=1),
        splits={"platform": "20", "firm": "10", "broker": "70"},
    )
    firm = await create_organization(session)
    broker = await create_user(session, organization=firm, role=Role.BROKER)
    borrower = await create_borrower(session, settings, organization=firm, referred_by=broker)
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
    assert application.status is ApplicationStatus.FUNDED

    # The job row is in this (uncommitted) transaction, with the application's id.
    jobs = (
        (
            await session.execute(
                text("SELECT args FROM procrastinate_jobs WHERE task_name = :task"),
                {"task": ACCRUE_FUNDED_TASK},
            )
        )
        .scalars()
        .all()
    )
    assert {"application_id": str(application.id)} in jobs
    await session.commit()  # a savepoint of the test's transaction: the job's session sees it

    first = await tasks.accrue_funded(sessionmaker, application_id=application.id)
    again = await tasks.accrue_funded(sessionmaker, application_id=application.id)

    assert (first, again) == (3, 0)
    loan = (
        await session.scalars(select(FundedLoan).where(FundedLoan.application_id == application.id))
    ).one()
    assert loan.funded_amount == offer.amount == Decimal("15000.00")
    assert loan.broker_user_id == broker.id
    entries = (
        await session.scalars(select(CommissionEntry).where(CommissionEntry.loan_id == loan.id))
    ).all()
    by_party = {entry.party.value: entry.total_amount for entry in entries}
    # 0.65% of 15,000.00 = 97.50: broker 68.25, firm 9.75, platform 19.50.
    assert by_party == {
        "broker": Decimal("68.25"),
        "firm": Decimal("9.75"),
        "platform": Decimal("19.50"),
    }
    assert next(e for e in entries if e.party.value == "broker").payee_id == broker.id


def test_the_worker_knows_the_commission_jobs() -> None:
    from api.worker import TASK_MODULES, register_tasks
    from lending.jobs import queue

    assert "lending.commissions.tasks" in TASK_MODULES
    register_tasks()  # what the worker does before it starts
    from lending.commissions.common import CLAWBACK_TASK, TRAIL_TASK

    assert {ACCRUE_FUNDED_TASK, CLAWBACK_TASK, TRAIL_TASK} <= set(queue.tasks)
    periodic = {task.task.name for task in queue.periodic_registry.periodic_tasks.values()}
    assert TRAIL_TASK in periodic
