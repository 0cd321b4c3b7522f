"""Lending rows for the authorization matrix: borrowers a caller works with, applications at
each stage (draft, prequalified, submitted, approved with a firm offer)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from lending.applications.profile import borrower_profile_service
from lending.applications.schemas import ApplicationRead, BorrowerProfileUpdate
from lending.applications.service import FirmOfferTerms, LenderDecision, application_service
from lending.config import Settings
from lending.models.applications import EmploymentStatus
from lending.models.identity import Organization, Role, User
from lending.models.offers import OfferKind
from lending.offers.service import offer_service
from tests.identity.factories import actor_of
from tests.lending.factories import (
    create_application,
    create_borrower,
    create_catalog,
    give_consent,
)


async def borrower_of(
    session: AsyncSession,
    settings: Settings,
    caller: User | None,
    organization: Organization,
) -> User:
    """A borrower with a complete profile: the caller themself when they are a borrower of
    `organization`, else a new one there (referred by the caller when the caller brokers in it)."""
    if caller is not None and caller.role is Role.BORROWER:
        if caller.organization_id == organization.id:
            await borrower_profile_service.update(
                session,
                actor_of(caller),
                settings=settings,
                data=BorrowerProfileUpdate(
                    legal_first_name="Casey",
                    legal_last_name="Caller",
                    phone="+1 415 555 0199",
                    address_line1="2 Market St",
                    city="San Francisco",
                    state="CA",
                    postal_code="94105",
                    annual_income=Decimal("96000.00"),
                    monthly_debt_payments=Decimal("400.00"),
                    monthly_housing_payment=Decimal("1700.00"),
                    estimated_credit_score=745,
                    date_of_birth=date(1990, 6, 1),
                    ssn="123-45-6780",
                    employment_status=EmploymentStatus.EMPLOYED,
                ),
            )
            return caller
    referrer = None
    if caller is not None and caller.role in (Role.BROKER, Role.BROKER_MANAGER):
        referrer = caller if caller.organization_id == organization.id else None
    return await create_borrower(session, settings, organization=organization, referred_by=referrer)


async def prequalified_application(
    session: AsyncSession, borrower: User
) -> tuple[ApplicationRead, uuid.UUID]:
    """A draft with consent and prequalified offers; the first offer's lender."""
    await create_catalog(session)
    await give_consent(session, borrower)
    application = await create_application(session, borrower)
    offers = await offer_service.get_offers(
        session, actor_of(borrower), application_id=application.id
    )
    return application, offers.offers[0].lender_id


async def submitted_application(
    session: AsyncSession, borrower: User
) -> tuple[ApplicationRead, uuid.UUID]:
    application, lender_id = await prequalified_application(session, borrower)
    submitted = await application_service.submit(
        session, actor_of(borrower), application_id=application.id, lender_ids=[lender_id]
    )
    return submitted, lender_id


async def firm_offer(session: AsyncSession, borrower: User) -> uuid.UUID:
    """An approved application's firm offer, ready to accept; its id."""
    application, lender_id = await submitted_application(session, borrower)
    await application_service.record_lender_decision(
        session,
        application_id=application.id,
        lender_id=lender_id,
        decision=LenderDecision.APPROVED,
        offers=[
            FirmOfferTerms(amount=Decimal("15000.00"), term_months=36, note_rate=Decimal("8.2500"))
        ],
    )
    offers = await offer_service.get_offers(
        session, actor_of(borrower), application_id=application.id
    )
    return next(offer.id for offer in offers.offers if offer.kind is OfferKind.FIRM)
