"""A small world for the notification tests: a broker's client with a submitted application, a
firm offer expiring in two days, and no documents, started five days ago."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from lending.applications.service import FirmOfferTerms, LenderDecision, application_service
from lending.config import Settings
from lending.models.applications import Application
from lending.models.identity import Role, User
from lending.offers.service import offer_service
from tests.identity.factories import actor_of, create_user
from tests.lending.factories import (
    create_application,
    create_borrower,
    create_catalog,
    give_consent,
)


@dataclass
class World:
    borrower: User
    broker: User
    application_id: uuid.UUID
    reference: str
    lender_id: uuid.UUID


async def build(session: AsyncSession, settings: Settings, *, days_ago: int = 5) -> World:
    await create_catalog(session)
    broker = await create_user(session, role=Role.BROKER)
    borrower = await create_borrower(session, settings)
    borrower.full_name = "Jordan Rivera"
    await give_consent(session, borrower)
    actor = actor_of(borrower)
    started = await create_application(session, borrower)
    offers = await offer_service.get_offers(session, actor, application_id=started.id)
    lender_id = offers.offers[0].lender_id
    await application_service.submit(
        session, actor, application_id=started.id, lender_ids=[lender_id]
    )
    await session.execute(
        update(Application)
        .where(Application.id == started.id)
        .values(
            broker_user_id=broker.id,
            created_at=datetime.now(UTC) - timedelta(days=days_ago),
        )
    )
    await application_service.record_lender_decision(
        session,
        application_id=started.id,
        lender_id=lender_id,
        decision=LenderDecision.APPROVED,
        offers=[
            FirmOfferTerms(
                amount=Decimal("15000.00"),
                term_months=36,
                note_rate=Decimal("8.25"),
                validity_days=2,
            )
        ],
        reason="Approved",
    )
    return World(borrower, broker, started.id, started.reference, lender_id)
