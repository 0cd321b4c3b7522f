"""Queries on prequalifications and offers; offer reads for an actor go through the application's
actor scoping, so an offer is visible exactly when its application is."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Self

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lending.applications.repository import OFFER_SCOPES, application_reach
from lending.identity.actor import Actor
from lending.identity.scopes import Scope
from lending.models.applications import Application
from lending.models.identity import User
from lending.models.lenders import Lender
from lending.models.offers import Offer, OfferKind, OfferStatus, Prequalification


class OfferRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: AsyncSession) -> Self:
        return cls(session)

    async def latest_prequalification(self, application_id: uuid.UUID) -> Prequalification | None:
        statement = (
            select(Prequalification)
            .where(Prequalification.application_id == application_id)
            .order_by(Prequalification.created_at.desc(), Prequalification.id)
            .limit(1)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def offers_of(
        self, application_id: uuid.UUID, *, statuses: Sequence[OfferStatus] | None = None
    ) -> Sequence[Offer]:
        statement = (
            select(Offer)
            .where(Offer.application_id == application_id)
            .order_by(Offer.kind, Offer.rank_by_apr.nulls_last(), Offer.apr_exact, Offer.id)
        )
        if statuses is not None:
            statement = statement.where(Offer.status.in_(statuses))
        return (await self.session.execute(statement)).scalars().all()

    async def current_prequalified(
        self, application_id: uuid.UUID, now: datetime
    ) -> Sequence[Offer]:
        """The active, unexpired prequalified offers of the application's latest run."""
        statement = (
            select(Offer)
            .where(
                Offer.application_id == application_id,
                Offer.kind == OfferKind.PREQUALIFIED,
                Offer.status == OfferStatus.ACTIVE,
                Offer.expires_at > now,
            )
            .order_by(Offer.rank_by_apr.nulls_last(), Offer.id)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def supersede_prequalified(self, application_id: uuid.UUID) -> None:
        await self.session.execute(
            update(Offer)
            .where(
                Offer.application_id == application_id,
                Offer.kind == OfferKind.PREQUALIFIED,
                Offer.status == OfferStatus.ACTIVE,
            )
            .values(status=OfferStatus.SUPERSEDED)
            .execution_options(synchronize_session=False)
        )

    async def decline_others(self, application_id: uuid.UUID, accepted_id: uuid.UUID) -> None:
        await self.session.execute(
            update(Offer)
            .where(
                Offer.application_id == application_id,
                Offer.status == OfferStatus.ACTIVE,
                Offer.id != accepted_id,
            )
            .values(status=OfferStatus.DECLINED)
            .execution_options(synchronize_session=False)
        )

    async def get_scoped(
        self,
        actor: Actor,
        offer_id: uuid.UUID,
        scopes: tuple[Scope, Scope, Scope] = OFFER_SCOPES,
        *,
        for_update: bool = False,
    ) -> tuple[Offer, Application] | None:
        statement = (
            select(Offer, Application)
            .join(Application, Application.id == Offer.application_id)
            .where(Offer.id == offer_id, application_reach(actor, scopes))
        )
        if for_update:
            statement = statement.with_for_update(of=Offer)
        row = (await self.session.execute(statement)).one_or_none()
        return None if row is None else (row[0], row[1])

    async def expiring_scoped(
        self,
        actor: Actor,
        *,
        now: datetime,
        until: datetime,
        limit: int,
        scopes: tuple[Scope, Scope, Scope] = OFFER_SCOPES,
    ) -> Sequence[tuple[Offer, Application, str, str]]:
        """Active offers expiring after `now` and by `until` on applications `actor` reaches,
        soonest first, with the borrower's and the lender's names."""
        statement = (
            select(Offer, Application, User.full_name, Lender.name)
            .join(Application, Application.id == Offer.application_id)
            .join(User, User.id == Application.borrower_user_id)
            .join(Lender, Lender.id == Offer.lender_id)
            .where(
                application_reach(actor, scopes),
                Offer.status == OfferStatus.ACTIVE,
                Offer.expires_at > now,
                Offer.expires_at <= until,
            )
            .order_by(Offer.expires_at, Offer.id)
            .limit(limit)
        )
        rows = (await self.session.execute(statement)).all()
        return [(row[0], row[1], row[2], row[3]) for row in rows]

    async def insert_offers(self, values: Sequence[dict[str, Any]]) -> None:
        """Insert offers in one statement, without loading them as objects (a prequalification
        writes dozens at once)."""
        if values:
            await self.session.execute(insert(Offer), list(values))

    async def add_all(self, rows: Sequence[Prequalification | Offer]) -> None:
        self.session.add_all(rows)
        await self.session.flush()
