"""Plain async factories for commissions: rules, funded loans, a funded application."""

from __future__ import annotations

import itertools
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lending.commissions.commission_rules import commission_rule_service
from lending.commissions.schemas import RuleCreate, RuleRead
from lending.models.commissions import FundedLoan, LoanStatus
from lending.models.identity import Organization, Role, User
from tests.identity.factories import actor_of, create_user

_numbers = itertools.count(1)


async def create_admin(session: AsyncSession) -> User:
    return await create_user(session, role=Role.PLATFORM_ADMIN)


async def create_rule(
    session: AsyncSession,
    admin: User,
    *,
    name: str = "Platform default",
    effective_from: date = date(2026, 1, 1),
    upfront_percent: str | None = "0.65",
    trail_percent: str | None = None,
    splits: dict[str, str] | None = None,
    **fields: Any,
) -> RuleRead:
    data = RuleCreate.model_validate(
        {
            "name": name,
            "effective_from": effective_from,
            "upfront_percent": upfront_percent,
            "trail_percent": trail_percent,
            "splits": splits or {"broker": "100"},
            **fields,
        }
    )
    return await commission_rule_service.create_rule(session, actor_of(admin), data=data)


async def create_loan(
    session: AsyncSession,
    organization: Organization,
    *,
    broker: User | None = None,
    amount: str = "500000.00",
    outstanding: str | None = None,
    offset: str = "0",
    funded_on: date = date(2026, 1, 15),
    lender_id: uuid.UUID | None = None,
    note_rate: str | None = "6.5",
    term_months: int | None = 360,
    product_type: str = "mortgage",
    borrower_name: str = "Jordan Rivera",
    reference: str | None = None,
) -> FundedLoan:
    """A funded loan as the funding job records it (without an application behind it)."""
    loan = FundedLoan(
        id=uuid.uuid4(),
        reference=reference or f"LOAN-{next(_numbers):06d}-{uuid.uuid4().hex[:4]}",
        borrower_name=borrower_name,
        organization_id=organization.id,
        broker_user_id=broker.id if broker else None,
        lender_id=lender_id,
        product_type=product_type,
        state="CA",
        jurisdiction="US",
        currency="USD",
        funded_amount=Decimal(amount),
        offset_balance=Decimal(offset),
        outstanding_balance=Decimal(outstanding or amount),
        term_months=term_months,
        note_rate=Decimal(note_rate) if note_rate else None,
        funded_on=funded_on,
        status=LoanStatus.ACTIVE,
    )
    session.add(loan)
    await session.flush()
    return loan
