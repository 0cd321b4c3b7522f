"""Queries of the applications domain. Reads meant for an actor go through statements scoped by
the actor, so a caller only ever sees applications and borrowers its role and firm allow."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Self

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select, true, union
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from lending.applications.schemas import ApplicationFilters, ApplicationOrder
from lending.errors import Conflict
from lending.identity.actor import Actor
from lending.identity.scopes import Scope
from lending.models.applications import (
    Application,
    ApplicationEvent,
    ApplicationStatus,
    BorrowerProfile,
    ConsentKind,
    ConsentRecord,
    application_reference_seq,
)
from lending.models.identity import Role, User
from lending.models.lenders import LenderSubmission
from lending.pagination import Page, fetch_page


class StaleVersion(Conflict):
    message = "The application changed since you read it; read it again and retry."


# Which scopes give which reach, for reading and for writing an application (and the borrower
# data that goes with it). Offers are read with the offers scopes, same reach.
READ_SCOPES = (
    Scope.APPLICATIONS_READ_ALL,
    Scope.APPLICATIONS_READ_FIRM,
    Scope.APPLICATIONS_READ_OWN,
)
WRITE_SCOPES = (
    Scope.APPLICATIONS_WRITE_ALL,
    Scope.APPLICATIONS_WRITE_FIRM,
    Scope.APPLICATIONS_WRITE_OWN,
)
OFFER_SCOPES = (Scope.OFFERS_READ_ALL, Scope.OFFERS_READ_FIRM, Scope.OFFERS_READ_OWN)


def application_reach(actor: Actor, scopes: tuple[Scope, Scope, Scope]) -> ColumnElement[bool]:
    """The applications `actor` reaches with (all, firm, own) `scopes`.

    Own means the borrower's own applications, or, for a broker, those of the borrowers they
    work with inside their firm.
    """
    all_scope, firm_scope, own_scope = scopes
    if actor.has(all_scope):
        return true()
    conditions: list[ColumnElement[bool]] = []
    if actor.has(firm_scope):
        conditions.append(Application.organization_id == actor.organization_id)
    if actor.has(own_scope):
        conditions.append(Application.borrower_user_id == actor.user_id)
        conditions.append(
            and_(
                Application.broker_user_id == actor.user_id,
                Application.organization_id == actor.organization_id,
            )
        )
    return or_(*conditions) if conditions else false()


def borrower_reach(actor: Actor, scopes: tuple[Scope, Scope, Scope]) -> ColumnElement[bool]:
    """The borrower users `actor` reaches: themselves, a broker's referred or assigned clients,
    a manager's firm, everyone for the platform."""
    all_scope, firm_scope, own_scope = scopes
    is_borrower = User.role == Role.BORROWER
    if actor.has(all_scope):
        return is_borrower
    conditions: list[ColumnElement[bool]] = []
    if actor.has(firm_scope):
        conditions.append(User.organization_id == actor.organization_id)
    if actor.has(own_scope):
        conditions.append(User.id == actor.user_id)
        conditions.append(
            and_(
                User.referred_by_user_id == actor.user_id,
                User.organization_id == actor.organization_id,
            )
        )
        assigned = select(Application.borrower_user_id).where(
            Application.broker_user_id == actor.user_id,
            Application.organization_id == actor.organization_id,
        )
        conditions.append(User.id.in_(assigned))
    if not conditions:
        return false()
    return and_(is_borrower, or_(*conditions))


# Each order ends with the id in the same direction, so that pages never overlap and an order
# and its opposite list the same rows reversed.
_ORDERS: dict[ApplicationOrder, tuple[ColumnElement[Any] | Any, ...]] = {
    ApplicationOrder.NEWEST: (Application.created_at.desc(), Application.id.desc()),
    ApplicationOrder.OLDEST: (Application.created_at.asc(), Application.id.asc()),
    ApplicationOrder.STATUS_CHANGED: (
        Application.status_changed_at.desc(),
        Application.id.desc(),
    ),
    ApplicationOrder.AMOUNT_DESC: (Application.amount.desc().nulls_last(), Application.id.desc()),
    ApplicationOrder.AMOUNT_ASC: (Application.amount.asc().nulls_last(), Application.id.asc()),
}


def _escape_like(text: str) -> str:
    """`text` matched literally in a LIKE pattern (its % and _ are not wildcards)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class _Repository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: AsyncSession) -> Self:
        return cls(session)


class ApplicationRepository(_Repository):
    def scoped(
        self, actor: Actor, scopes: tuple[Scope, Scope, Scope] = READ_SCOPES
    ) -> Select[Application]:
        return select(Application).where(application_reach(actor, scopes))

    async def get_scoped(
        self,
        actor: Actor,
        application_id: uuid.UUID,
        scopes: tuple[Scope, Scope, Scope] = READ_SCOPES,
        *,
        for_update: bool = False,
    ) -> Application | None:
        statement = self.scoped(actor, scopes).where(Application.id == application_id)
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def get(
        self, application_id: uuid.UUID, *, for_update: bool = False
    ) -> Application | None:
        statement = select(Application).where(Application.id == application_id)
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def list_scoped(
        self, actor: Actor, filters: ApplicationFilters, *, limit: int, offset: int
    ) -> tuple[Sequence[Application], int]:
        """One page of the applications `actor` may see that match `filters`, and how many
        match in all (one count query over the same conditions)."""
        statement = self._filtered(actor, filters)
        total = await self.session.scalar(
            select(func.count()).select_from(statement.order_by(None).subquery())
        )
        page = statement.order_by(*_ORDERS[filters.order])
        rows = (await self.session.execute(page.limit(limit).offset(offset))).scalars().all()
        return rows, total or 0

    async def page_scoped(
        self, actor: Actor, filters: ApplicationFilters, *, cursor: str | None, limit: int
    ) -> Page[Application]:
        """A keyset page of the same list, newest first (no total: counting 100,000 rows on
        every page is what keyset paging avoids)."""
        return await fetch_page(
            self.session,
            self._filtered(actor, filters),
            [Application.created_at, Application.id],
            cursor=cursor,
            limit=limit,
        )

    def _filtered(self, actor: Actor, filters: ApplicationFilters) -> Select[Any]:
        statement = self.scoped(actor)
        if filters.statuses:
            statement = statement.where(Application.status.in_(filters.statuses))
        if filters.product_types:
            statement = statement.where(Application.product_type.in_(filters.product_types))
        if filters.borrower_user_id is not None:
            statement = statement.where(Application.borrower_user_id == filters.borrower_user_id)
        if filters.search:
            pattern = "%" + _escape_like(filters.search) + "%"
            borrowers = select(User.id).where(
                or_(
                    User.full_name.ilike(pattern, escape="\\"),
                    User.email.ilike(pattern, escape="\\"),
                )
            )
            # Two index lookups (trigram on the reference; trigram on the borrower's name and
            # email, then the borrower index) united, rather than one OR the planner can only
            # answer by reading every application (600 ms at 100,000; see DECISIONS.md).
            matching = union(
                select(Application.id).where(Application.reference.ilike(pattern, escape="\\")),
                select(Application.id).where(Application.borrower_user_id.in_(borrowers)),
            )
            statement = statement.where(Application.id.in_(matching))
        return statement

    async def next_reference_number(self) -> int:
        number = await self.session.scalar(select(application_reference_seq.next_value()))
        assert number is not None
        return int(number)

    async def add(self, application: Application) -> Application:
        self.session.add(application)
        await self.flush()
        return application

    async def flush(self) -> None:
        """Flush, turning a lost optimistic-locking race into a 409."""
        try:
            await self.session.flush()
        except StaleDataError:
            raise StaleVersion() from None

    async def add_event(self, event: ApplicationEvent) -> ApplicationEvent:
        self.session.add(event)
        await self.session.flush()
        return event

    async def events(self, application_id: uuid.UUID) -> Sequence[ApplicationEvent]:
        statement = (
            select(ApplicationEvent)
            .where(ApplicationEvent.application_id == application_id)
            .order_by(ApplicationEvent.id)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def was_approved(self, application_id: uuid.UUID) -> bool:
        statement = select(
            select(ApplicationEvent.id)
            .where(
                ApplicationEvent.application_id == application_id,
                ApplicationEvent.to_status == ApplicationStatus.APPROVED,
            )
            .exists()
        )
        return bool(await self.session.scalar(statement))

    async def submissions(self, application_id: uuid.UUID) -> Sequence[LenderSubmission]:
        statement = (
            select(LenderSubmission)
            .where(LenderSubmission.application_id == application_id)
            .order_by(LenderSubmission.created_at, LenderSubmission.id)
        )
        return (await self.session.execute(statement)).scalars().all()


class BorrowerRepository(_Repository):
    async def get_scoped_user(
        self,
        actor: Actor,
        user_id: uuid.UUID,
        scopes: tuple[Scope, Scope, Scope] = READ_SCOPES,
    ) -> User | None:
        statement = select(User).where(User.id == user_id, borrower_reach(actor, scopes))
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def find_scoped_by_email(
        self,
        actor: Actor,
        email: str,
        scopes: tuple[Scope, Scope, Scope] = READ_SCOPES,
    ) -> User | None:
        statement = select(User).where(
            func.lower(User.email) == email.strip().lower(), borrower_reach(actor, scopes)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def get_user(self, user_id: uuid.UUID) -> User | None:
        return await self.session.get(User, user_id)

    async def get_profile(self, user_id: uuid.UUID) -> BorrowerProfile | None:
        statement = select(BorrowerProfile).where(BorrowerProfile.user_id == user_id)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def add_profile(self, profile: BorrowerProfile) -> BorrowerProfile:
        self.session.add(profile)
        await self.session.flush()
        return profile

    async def add_consent(self, record: ConsentRecord) -> ConsentRecord:
        self.session.add(record)
        await self.session.flush()
        return record

    async def latest_consents(self, user_id: uuid.UUID) -> Sequence[ConsentRecord]:
        """The newest record of each consent kind for a borrower."""
        statement = (
            select(ConsentRecord)
            .where(ConsentRecord.borrower_user_id == user_id)
            .ext(distinct_on(ConsentRecord.kind))
            .order_by(ConsentRecord.kind, ConsentRecord.recorded_at.desc(), ConsentRecord.id)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def has_consent(self, user_id: uuid.UUID, kind: ConsentKind) -> bool:
        statement = (
            select(ConsentRecord.granted)
            .where(ConsentRecord.borrower_user_id == user_id, ConsentRecord.kind == kind)
            .order_by(ConsentRecord.recorded_at.desc())
            .limit(1)
        )
        return bool(await self.session.scalar(statement))

    async def count_applications(self, user_id: uuid.UUID) -> int:
        statement = select(func.count()).where(Application.borrower_user_id == user_id)
        return int(await self.session.scalar(statement) or 0)
