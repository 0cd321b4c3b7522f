"""Plain async factories for the lending core: the demo catalog, borrowers with profiles,
applications, consents; shared by the applications, lenders, offers, tools and API tests."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lending.applications.profile import borrower_profile_service
from lending.applications.schemas import (
    ApplicationCreate,
    ApplicationRead,
    BorrowerProfileUpdate,
    ConsentCreate,
)
from lending.applications.service import application_service
from lending.config import Settings
from lending.errors import OmnifinError
from lending.lenders.demo import load_catalog, load_into
from lending.lenders.repository import LenderRepository
from lending.models.applications import EmploymentStatus, ProductType
from lending.models.identity import Organization, Role, User
from lending.models.lenders import Lender
from tests.identity.factories import actor_of, create_user

SSN = "123-45-6789"


async def create_catalog(session: AsyncSession) -> dict[str, Lender]:
    """The demo catalog (20 products of 8 lenders), by lender slug."""
    catalog = load_catalog()
    await load_into(session, catalog)
    repository = LenderRepository.from_session(session)
    lenders = {}
    for spec in catalog.lenders:
        lender = await repository.get_lender_by_slug(spec.slug)
        assert lender is not None
        lenders[spec.slug] = lender
    return lenders


async def create_borrower(
    session: AsyncSession,
    settings: Settings,
    *,
    organization: Organization | None = None,
    referred_by: User | None = None,
    state: str = "CA",
    credit_score: int | None = 740,
    annual_income: str = "96000.00",
    monthly_debt_payments: str = "450.00",
    monthly_housing_payment: str = "1800.00",
    complete: bool = True,
) -> User:
    """A borrower user; with `complete`, a profile with everything a personal loan needs."""
    user = await create_user(
        session, organization=organization, role=Role.BORROWER, referred_by=referred_by
    )
    if complete:
        await borrower_profile_service.update(
            session,
            actor_of(user),
            settings=settings,
            data=BorrowerProfileUpdate(
                legal_first_name="Jordan",
                legal_last_name="Rivera",
                phone="+1 415 555 0134",
                address_line1="1 Market St",
                city="San Francisco",
                state=state,
                postal_code="94105",
                date_of_birth=date(1988, 4, 2),
                ssn=SSN,
                employment_status=EmploymentStatus.EMPLOYED,
                employer_name="Acme Corp",
                annual_income=Decimal(annual_income),
                monthly_debt_payments=Decimal(monthly_debt_payments),
                monthly_housing_payment=Decimal(monthly_housing_payment),
                estimated_credit_score=credit_score,
            ),
        )
    return user


async def give_consent(session: AsyncSession, borrower: User) -> None:
    await borrower_profile_service.record_consent(
        session, actor_of(borrower), data=ConsentCreate(), channel="web"
    )


async def create_application(
    session: AsyncSession,
    borrower: User,
    *,
    by: User | None = None,
    product_type: ProductType = ProductType.PERSONAL,
    purpose: str | None = "home_improvement",
    amount: str | None = "15000.00",
    term_months: int | None = 36,
    slots: dict[str, Any] | None = None,
) -> ApplicationRead:
    """A draft application, started by the borrower (or by `by`, a broker)."""
    actor = actor_of(by or borrower)
    return await application_service.start(
        session,
        actor,
        data=ApplicationCreate(
            product_type=product_type,
            borrower_user_id=None if by is None else borrower.id,
            purpose=purpose,
            amount=Decimal(amount) if amount is not None else None,
            term_months=term_months,
            slots=slots or {},
        ),
    )


def ids(*values: uuid.UUID) -> list[uuid.UUID]:
    return list(values)


def detail_of(error: OmnifinError) -> Any:
    """A service error's detail (a message, or a dict or list of field problems)."""
    return error.detail
