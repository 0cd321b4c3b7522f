"""A broker hears of a clawback (a loan discharged early) and of an adjustment or reversal of their
commission: once per ledger entry, in their language, through the channels they chose, written by
the scan as accruals and payouts are."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from lending.commissions.accrual import accrual_service
from lending.commissions.entries import commission_entry_service
from lending.commissions.schemas import AdjustmentCreate, ReversalCreate, ServicingEventCreate
from lending.commissions.servicing import servicing_service
from lending.config import Settings
from lending.models.commissions import (
    CommissionEntry,
    EntryKind,
    FundedLoan,
    Party,
    ServicingEventKind,
)
from lending.models.identity import Role, User
from lending.models.notifications import Notification
from lending.notifications import kinds
from lending.notifications.preferences import preference_service
from lending.notifications.schemas import PreferenceUpdate
from lending.notifications.service import MAIL_TASK, notification_service
from lending.reminders.service import reminder_service
from tests.commissions.factories import create_admin, create_loan, create_rule
from tests.identity.factories import actor_of, create_organization, create_user


async def _funded(session: AsyncSession) -> tuple[User, User, FundedLoan]:
    admin = await create_admin(session)
    firm = await create_organization(session)
    broker = await create_user(session, organization=firm, role=Role.BROKER)
    await create_rule(session, admin, effective_from=date.today() - timedelta(days=400))
    loan = await create_loan(
        session,
        firm,
        broker=broker,
        amount="100000.00",
        funded_on=date.today() - timedelta(days=40),
    )
    await accrual_service.accrue_pending(session)
    return admin, broker, loan


async def _discharge(session: AsyncSession, admin: User, loan: FundedLoan) -> int:
    event = await servicing_service.record_servicing_event(
        session,
        actor_of(admin),
        loan_id=loan.id,
        data=ServicingEventCreate(kind=ServicingEventKind.DISCHARGED, occurred_on=date.today()),
    )
    # The clawback job's body.
    return await servicing_service.claw_back(session, servicing_event_id=event.id)


async def _told(session: AsyncSession, user: User, kind: str) -> list[Notification]:
    rows = await session.scalars(
        select(Notification).where(Notification.user_id == user.id, Notification.kind == kind)
    )
    return list(rows)


async def test_a_clawback_is_told_to_the_broker_once_with_its_mail(
    session: AsyncSession, settings: Settings
) -> None:
    admin, broker, loan = await _funded(session)
    first = await reminder_service.run_scheduled(session, settings=settings)
    assert first.commission_accrued >= 1
    assert first.commission_changed == 0  # nothing was clawed back yet

    assert await _discharge(session, admin, loan) == 1
    clawback = await session.scalar(
        select(CommissionEntry).where(
            CommissionEntry.loan_id == loan.id,
            CommissionEntry.kind == EntryKind.CLAWBACK,
            CommissionEntry.payee_id == broker.id,
        )
    )
    assert clawback is not None
    assert clawback.total_amount < 0

    run = await reminder_service.run_scheduled(session, settings=settings)
    assert run.commission_changed == 1
    told = await _told(session, broker, kinds.COMMISSION_CLAWED_BACK)
    assert len(told) == 1
    assert told[0].event_key == f"{kinds.COMMISSION_CLAWED_BACK}:{clawback.id}"
    # Mailed by default (money taken back), through the outbox in the same transaction.
    assert told[0].in_app
    assert told[0].email_status == "pending"
    # Its mail job was queued in the scan's transaction (the outbox writes the message).
    queued = await session.scalar(
        text(
            "SELECT count(*) FROM procrastinate_jobs WHERE task_name = :task "
            "AND args->>'notification_id' = :id"
        ),
        {"task": MAIL_TASK, "id": str(told[0].id)},
    )
    assert queued == 1

    news = await notification_service.list_own(session, actor_of(broker))
    item = next(i for i in news.items if i.kind == kinds.COMMISSION_CLAWED_BACK)
    amount = f"{abs(clawback.total_amount):.2f}"
    assert item.message == (
        f"{amount} USD of your commission on loan {loan.reference} was clawed back: the loan "
        "was repaid or refinanced early."
    )

    again = await reminder_service.run_scheduled(session, settings=settings)
    assert again.total == 0
    assert len(await _told(session, broker, kinds.COMMISSION_CLAWED_BACK)) == 1


async def test_adjustments_and_reversals_carry_their_sign_in_the_readers_language(
    session: AsyncSession, settings: Settings
) -> None:
    admin, broker, loan = await _funded(session)
    broker.language = "zh"
    await session.flush()
    await commission_entry_service.adjust(
        session,
        actor_of(admin),
        data=AdjustmentCreate(
            payee_kind="user",
            payee_id=broker.id,
            party=Party.BROKER,
            amount=Decimal("125.50"),
            loan_id=loan.id,
            effective_on=date.today(),
            reason="Bonus agreed for the quarter.",
        ),
    )
    accrued = await session.scalar(
        select(CommissionEntry).where(
            CommissionEntry.loan_id == loan.id,
            CommissionEntry.kind == EntryKind.ACCRUAL,
            CommissionEntry.payee_id == broker.id,
        )
    )
    assert accrued is not None
    await commission_entry_service.reverse(
        session,
        actor_of(admin),
        entry_id=accrued.id,
        data=ReversalCreate(reason="Accrued on the wrong rule."),
    )

    run = await reminder_service.run_scheduled(session, settings=settings)
    assert run.commission_changed == 2
    news = await notification_service.list_own(session, actor_of(broker))
    adjusted = sorted(i.message for i in news.items if i.kind == kinds.COMMISSION_ADJUSTED)
    reversed_amount = f"{accrued.total_amount:.2f}"
    assert adjusted == sorted(
        [
            "您的佣金调整了 +125.50 USD；原因请查看您的佣金明细。",
            f"您的佣金调整了 -{reversed_amount} USD；原因请查看您的佣金明细。",
        ]
    )
    # An admin's typed reason is never sent: the statement shows it to whoever may read it.
    assert all("Bonus" not in i.message for i in news.items)
    assert (
        await reminder_service.run_scheduled(session, settings=settings)
    ).commission_changed == 0


async def test_a_broker_who_turned_the_kind_off_hears_nothing(
    session: AsyncSession, settings: Settings
) -> None:
    admin, broker, loan = await _funded(session)
    await preference_service.update_own(
        session,
        actor_of(broker),
        kind=kinds.COMMISSION_CLAWED_BACK,
        data=PreferenceUpdate(email=False, in_app=False),
    )
    await _discharge(session, admin, loan)
    run = await reminder_service.run_scheduled(session, settings=settings)
    assert run.commission_changed == 0
    assert await _told(session, broker, kinds.COMMISSION_CLAWED_BACK) == []
    # The other kinds still reach them.
    assert await _told(session, broker, kinds.COMMISSION_ACCRUED)
