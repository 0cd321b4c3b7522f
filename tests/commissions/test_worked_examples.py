"""The issue's worked examples, through the real rules, ledger statements and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.commissions import ledger
from lending.commissions.accrual import accrual_service
from lending.commissions.schemas import ServicingEventCreate
from lending.commissions.servicing import servicing_service
from lending.models.commissions import CommissionEntry, EntryKind, ServicingEventKind
from lending.models.identity import Role
from tests.commissions.factories import create_admin, create_loan, create_rule
from tests.identity.factories import (
    actor_of,
    create_organization,
    create_user,
    platform_organization,
)


async def _entries(
    session: AsyncSession, loan_id: object, kind: EntryKind
) -> list[CommissionEntry]:
    rows = await session.scalars(
        select(CommissionEntry)
        .where(CommissionEntry.loan_id == loan_id, CommissionEntry.kind == kind)
        .order_by(CommissionEntry.id)
    )
    return list(rows)


async def _platform_id(session: AsyncSession) -> uuid.UUID:
    return (await platform_organization(session)).id


async def test_upfront_0_65_percent_of_500000_is_3250(session: AsyncSession) -> None:
    admin = await create_admin(session)
    firm = await create_organization(session)
    broker = await create_user(session, organization=firm, role=Role.BROKER)
    await create_rule(session, admin)
    loan = await create_loan(session, firm, broker=broker)

    await ledger.accrue_upfront(
        session, platform_id=await _platform_id(session), loan_ids=[loan.id]
    )

    [entry] = await _entries(session, loan.id, EntryKind.ACCRUAL)
    assert entry.amount == Decimal("3250.00")
    assert entry.total_amount == Decimal("3250.00")
    assert entry.payee_id == broker.id
    assert entry.currency == "USD"


async def test_with_10_percent_tax_the_total_is_3575(session: AsyncSession) -> None:
    admin = await create_admin(session)
    firm = await create_organization(session)
    broker = await create_user(session, organization=firm, role=Role.BROKER)
    await create_rule(session, admin, tax_percent="10")
    loan = await create_loan(session, firm, broker=broker)

    await ledger.accrue_upfront(
        session, platform_id=await _platform_id(session), loan_ids=[loan.id]
    )

    [entry] = await _entries(session, loan.id, EntryKind.ACCRUAL)
    assert (entry.amount, entry.tax_amount, entry.total_amount) == (
        Decimal("3250.00"),
        Decimal("325.00"),
        Decimal("3575.00"),
    )


@pytest.mark.parametrize(
    ("discharged_on", "clawed_back"),
    [
        (date(2026, 8, 20), Decimal("3250.00")),  # loan month 8: 100%
        (date(2027, 6, 20), Decimal("1625.00")),  # loan month 18: 50%
        (date(2028, 1, 20), Decimal("0.00")),  # loan month 25: nothing
    ],
)
async def test_clawback_100_then_50_percent(
    session: AsyncSession, discharged_on: date, clawed_back: Decimal
) -> None:
    admin = await create_admin(session)
    firm = await create_organization(session)
    broker = await create_user(session, organization=firm, role=Role.BROKER)
    await create_rule(session, admin, splits={"platform": "20", "firm": "10", "broker": "70"})
    loan = await create_loan(session, firm, broker=broker, funded_on=date(2026, 1, 15))
    await ledger.accrue_upfront(
        session, platform_id=await _platform_id(session), loan_ids=[loan.id]
    )
    accrued = await _entries(session, loan.id, EntryKind.ACCRUAL)
    assert sum(e.total_amount for e in accrued) == Decimal("3250.00")

    event = await servicing_service.record_servicing_event(
        session,
        actor_of(admin),
        loan_id=loan.id,
        data=ServicingEventCreate(kind=ServicingEventKind.DISCHARGED, occurred_on=discharged_on),
    )
    assert event.job_id is not None
    await servicing_service.claw_back(session, servicing_event_id=event.id)

    clawbacks = await _entries(session, loan.id, EntryKind.CLAWBACK)
    assert -sum((e.total_amount for e in clawbacks), Decimal(0)) == clawed_back
    for clawback in clawbacks:
        accrual = next(e for e in accrued if e.party == clawback.party)
        assert -clawback.total_amount <= accrual.total_amount


async def test_0_70_percent_of_600000_and_trail_on_580000(session: AsyncSession) -> None:
    admin = await create_admin(session)
    firm = await create_organization(session)
    broker = await create_user(session, organization=firm, role=Role.BROKER)
    await create_rule(session, admin, upfront_percent="0.70", trail_percent="0.20")
    loan = await create_loan(
        session, firm, broker=broker, amount="600000.00", outstanding="580000.00"
    )
    platform_id = await _platform_id(session)
    await ledger.accrue_upfront(session, platform_id=platform_id, loan_ids=[loan.id])
    await accrual_service.accrue_trail(session, month=date(2026, 3, 1))

    accruals = await _entries(session, loan.id, EntryKind.ACCRUAL)
    [upfront] = [e for e in accruals if e.component == "upfront"]
    [trail] = [e for e in accruals if e.component == "trail"]
    assert upfront.amount == Decimal("4200.00")
    assert trail.amount == Decimal("96.67")
    assert trail.effective_on == date(2026, 3, 31)
