"""Queries on the lender catalog and on submissions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Self, TypeVar

from sqlalchemy import Select, func, or_, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from lending.models.applications import ProductType
from lending.models.base import Base
from lending.models.commissions import FundedLoan
from lending.models.lenders import (
    Lender,
    LenderProduct,
    LenderProductVersion,
    LenderSubmission,
    LenderVersion,
    LenderWebhookSecret,
    SubmissionStatus,
)

_Version = TypeVar("_Version", LenderVersion, LenderProductVersion)

# Submissions still waiting for (or working on) a decision.
OPEN_SUBMISSION_STATUSES = (
    SubmissionStatus.QUEUED,
    SubmissionStatus.PENDING,
    SubmissionStatus.SENT,
    SubmissionStatus.RECEIVED,
    SubmissionStatus.REFERRED,
)


class _Repository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: AsyncSession) -> Self:
        return cls(session)


class LenderRepository(_Repository):
    async def catalog_on(self, on: date) -> Sequence[Any]:
        """Every product version in effect on `on` of a lender whose version in effect then is
        active, in a stable order, as plain rows (the version's columns, with `id` the product's
        id, `version_id` the version's, lender_slug and lender_name): matching reads a few
        hundred of them per prequalification, and rows skip the ORM's identity bookkeeping."""
        products = self.versions_on(LenderProductVersion, on).subquery()
        lenders = self.versions_on(LenderVersion, on).subquery()
        terms = [column for column in products.c if column.name not in ("id", "product_id")]
        statement = (
            select(
                products.c.product_id.label("id"),
                products.c.id.label("version_id"),
                *terms,
                Lender.slug.label("lender_slug"),
                lenders.c.name.label("lender_name"),
            )
            .join(Lender, Lender.id == products.c.lender_id)
            .join(lenders, lenders.c.lender_id == Lender.id)
            .where(products.c.active, lenders.c.active)
            .order_by(lenders.c.name, products.c.name, products.c.product_id)
        )
        return (await self.session.execute(statement)).all()

    @staticmethod
    def versions_on(model: type[_Version], on: date) -> Select[_Version]:
        """Each lender's (or product's) version in effect on `on`: the latest `effective_from`
        on or before it, the highest version among equals."""
        owner = model.lender_id if model is LenderVersion else model.product_id  # type: ignore[attr-defined]
        return (
            select(model)
            .where(model.effective_from <= on)
            .ext(distinct_on(owner))
            .order_by(owner, model.effective_from.desc(), model.version.desc())
        )

    async def catalog_fingerprint(self) -> tuple[Any, ...]:
        """Counts and latest changes of the catalog's versions: with the day, equal
        fingerprints mean an equal catalog (versions are only ever added)."""
        statement = select(
            select(func.count()).select_from(LenderProductVersion).scalar_subquery(),
            select(func.max(LenderProductVersion.created_at)).scalar_subquery(),
            select(func.count()).select_from(LenderVersion).scalar_subquery(),
            select(func.max(LenderVersion.created_at)).scalar_subquery(),
        )
        return tuple((await self.session.execute(statement)).one())

    async def lender_version_on(self, lender_id: uuid.UUID, on: date) -> LenderVersion | None:
        statement = self.versions_on(LenderVersion, on).where(LenderVersion.lender_id == lender_id)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def product_version_on(
        self, product_id: uuid.UUID, on: date
    ) -> LenderProductVersion | None:
        statement = self.versions_on(LenderProductVersion, on).where(
            LenderProductVersion.product_id == product_id
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def offered_product_on(
        self, product_id: uuid.UUID, on: date
    ) -> tuple[LenderProductVersion, LenderVersion] | None:
        """The product's terms in effect on `on` with its lender's details, when both are active
        then (None otherwise: not offered that day)."""
        product = await self.product_version_on(product_id, on)
        if product is None or not product.active:
            return None
        lender = await self.lender_version_on(product.lender_id, on)
        if lender is None or not lender.active:
            return None
        return product, lender

    async def lender_history(self, lender_id: uuid.UUID) -> Sequence[LenderVersion]:
        statement = (
            select(LenderVersion)
            .where(LenderVersion.lender_id == lender_id)
            .order_by(LenderVersion.version)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def product_history(self, product_id: uuid.UUID) -> Sequence[LenderProductVersion]:
        statement = (
            select(LenderProductVersion)
            .where(LenderProductVersion.product_id == product_id)
            .order_by(LenderProductVersion.version)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def latest_lender_version(self, lender_id: uuid.UUID) -> LenderVersion | None:
        statement = (
            select(LenderVersion)
            .where(LenderVersion.lender_id == lender_id)
            .order_by(LenderVersion.version.desc())
            .limit(1)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def latest_product_version(self, product_id: uuid.UUID) -> LenderProductVersion | None:
        statement = (
            select(LenderProductVersion)
            .where(LenderProductVersion.product_id == product_id)
            .order_by(LenderProductVersion.version.desc())
            .limit(1)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def all_lenders(self) -> Sequence[Lender]:
        return (await self.session.execute(select(Lender).order_by(Lender.name))).scalars().all()

    async def lock_lender(self, lender_id: uuid.UUID) -> Lender | None:
        """The lender row, locked until the transaction ends: catalog writes on a lender and
        its products take turns, so version numbers and effective dates never interleave."""
        statement = select(Lender).where(Lender.id == lender_id).with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def get_product(self, product_id: uuid.UUID) -> LenderProduct | None:
        return await self.session.get(LenderProduct, product_id)

    async def heads_out_of_date(
        self, on: date
    ) -> tuple[
        Sequence[tuple[Lender, LenderVersion]], Sequence[tuple[LenderProduct, LenderProductVersion]]
    ]:
        """Lenders and products whose version in effect on `on` is not the one their head row
        mirrors (a scheduled version took effect), with that version."""
        lender_version = aliased(LenderVersion, self.versions_on(LenderVersion, on).subquery())
        product_version = aliased(
            LenderProductVersion, self.versions_on(LenderProductVersion, on).subquery()
        )
        lender_rows = await self.session.execute(
            select(Lender, lender_version)
            .join(lender_version, lender_version.lender_id == Lender.id)
            .where(lender_version.version != Lender.current_version)
            .with_for_update(of=Lender)
        )
        product_rows = await self.session.execute(
            select(LenderProduct, product_version)
            .join(product_version, product_version.product_id == LenderProduct.id)
            .where(product_version.version != LenderProduct.current_version)
            .with_for_update(of=LenderProduct)
        )
        return (
            [(row[0], row[1]) for row in lender_rows.all()],
            [(row[0], row[1]) for row in product_rows.all()],
        )

    async def webhook_secrets(
        self, lender_id: uuid.UUID, *, now: datetime
    ) -> Sequence[LenderWebhookSecret]:
        """The lender's secrets that still verify at `now`, newest (the current one) first."""
        statement = (
            select(LenderWebhookSecret)
            .where(
                LenderWebhookSecret.lender_id == lender_id,
                or_(LenderWebhookSecret.expires_at.is_(None), LenderWebhookSecret.expires_at > now),
            )
            .order_by(LenderWebhookSecret.created_at.desc(), LenderWebhookSecret.id)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def performance(
        self, *, start: datetime, end: datetime, since: date, until: date
    ) -> Sequence[Any]:
        """Per lender: submissions created in [start, end) by status, hours from submission to
        a standing approval or decline (median and mean), and loans funded on days in
        [since, until] (count and volume). One row per lender, lenders without activity too."""
        decided = (SubmissionStatus.APPROVED, SubmissionStatus.DECLINED)
        hours = (
            func.extract("epoch", LenderSubmission.decided_at - LenderSubmission.created_at) / 3600
        )
        submissions = (
            select(
                LenderSubmission.lender_id,
                func.count().label("submissions"),
                *(
                    func.count().filter(LenderSubmission.status == status).label(status.value)
                    for status in SubmissionStatus
                ),
                func.percentile_cont(0.5)
                .within_group(hours)
                .filter(
                    LenderSubmission.status.in_(decided), LenderSubmission.decided_at.is_not(None)
                )
                .label("median_hours"),
                func.avg(hours)
                .filter(
                    LenderSubmission.status.in_(decided), LenderSubmission.decided_at.is_not(None)
                )
                .label("mean_hours"),
            )
            .where(LenderSubmission.created_at >= start, LenderSubmission.created_at < end)
            .group_by(LenderSubmission.lender_id)
            .subquery()
        )
        funded = (
            select(
                FundedLoan.lender_id,
                func.count().label("funded_loans"),
                func.sum(FundedLoan.funded_amount).label("funded_volume"),
            )
            .where(FundedLoan.funded_on >= since, FundedLoan.funded_on <= until)
            .group_by(FundedLoan.lender_id)
            .subquery()
        )
        statement = (
            select(
                Lender.id,
                Lender.name,
                submissions,
                funded.c.funded_loans,
                funded.c.funded_volume,
            )
            .outerjoin(submissions, submissions.c.lender_id == Lender.id)
            .outerjoin(funded, funded.c.lender_id == Lender.id)
            .order_by(Lender.name, Lender.id)
        )
        return (await self.session.execute(statement)).all()

    async def list_lenders(
        self, *, include_inactive: bool, product_type: ProductType | None
    ) -> Sequence[Lender]:
        statement = select(Lender).order_by(Lender.name)
        if not include_inactive:
            statement = statement.where(Lender.active)
        if product_type is not None:
            offering = select(LenderProduct.lender_id).where(
                LenderProduct.product_type == product_type, LenderProduct.active
            )
            statement = statement.where(Lender.id.in_(offering))
        return (await self.session.execute(statement)).scalars().all()

    async def products_of(
        self, lender_ids: Sequence[uuid.UUID], *, include_inactive: bool
    ) -> Sequence[LenderProduct]:
        statement = (
            select(LenderProduct)
            .where(LenderProduct.lender_id.in_(lender_ids))
            .order_by(LenderProduct.name, LenderProduct.id)
        )
        if not include_inactive:
            statement = statement.where(LenderProduct.active)
        return (await self.session.execute(statement)).scalars().all()

    async def get_lender(self, lender_id: uuid.UUID) -> Lender | None:
        return await self.session.get(Lender, lender_id)

    async def get_lender_by_slug(self, slug: str) -> Lender | None:
        statement = select(Lender).where(Lender.slug == slug)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def get_product_by_code(self, lender_id: uuid.UUID, code: str) -> LenderProduct | None:
        statement = select(LenderProduct).where(
            LenderProduct.lender_id == lender_id, LenderProduct.code == code
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def add(self, row: Base) -> None:
        self.session.add(row)
        await self.session.flush()


class SubmissionRepository(_Repository):
    async def get(
        self, submission_id: uuid.UUID, *, for_update: bool = False
    ) -> LenderSubmission | None:
        statement = select(LenderSubmission).where(LenderSubmission.id == submission_id)
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def get_for(
        self, application_id: uuid.UUID, lender_id: uuid.UUID, *, for_update: bool = False
    ) -> LenderSubmission | None:
        statement = select(LenderSubmission).where(
            LenderSubmission.application_id == application_id,
            LenderSubmission.lender_id == lender_id,
        )
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def of_application(self, application_id: uuid.UUID) -> Sequence[LenderSubmission]:
        statement = (
            select(LenderSubmission)
            .where(LenderSubmission.application_id == application_id)
            .order_by(LenderSubmission.created_at, LenderSubmission.id)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def add(self, submission: LenderSubmission) -> LenderSubmission:
        self.session.add(submission)
        await self.session.flush()
        return submission
