"""Queries on the lender catalog and on submissions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Self

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.models.applications import ProductType
from lending.models.lenders import Lender, LenderProduct, LenderSubmission, SubmissionStatus

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
    async def active_catalog(self) -> Sequence[Any]:
        """Every active product of every active lender, in a stable order, as plain rows (the
        product's columns with lender_slug and lender_name): matching reads a few hundred of
        them per prequalification, and rows skip the ORM's identity bookkeeping."""
        statement = (
            select(
                *LenderProduct.__table__.columns,
                Lender.slug.label("lender_slug"),
                Lender.name.label("lender_name"),
            )
            .join(Lender, Lender.id == LenderProduct.lender_id)
            .where(Lender.active, LenderProduct.active)
            .order_by(Lender.name, LenderProduct.name, LenderProduct.id)
        )
        return (await self.session.execute(statement)).all()

    async def catalog_fingerprint(self) -> tuple[Any, ...]:
        """Counts and latest changes of lenders and products: equal fingerprints, equal catalog
        (every change goes through the ORM, which stamps updated_at)."""
        statement = select(
            select(func.count()).select_from(LenderProduct).scalar_subquery(),
            select(func.max(LenderProduct.updated_at)).scalar_subquery(),
            select(func.count()).select_from(Lender).scalar_subquery(),
            select(func.max(Lender.updated_at)).scalar_subquery(),
        )
        return tuple((await self.session.execute(statement)).one())

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

    async def get_active_product(self, product_id: uuid.UUID) -> LenderProduct | None:
        statement = (
            select(LenderProduct)
            .join(Lender, Lender.id == LenderProduct.lender_id)
            .where(LenderProduct.id == product_id, LenderProduct.active, Lender.active)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def add(self, row: Lender | LenderProduct) -> None:
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
