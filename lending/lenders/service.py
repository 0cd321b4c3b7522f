"""Lender services: reading the catalog, and the submissions of applications to lenders.

The seam for the lender-integration work (issue 4, second part): `submission.queue` writes one
`lender_submission` row per chosen lender and enqueues one `SUBMIT_TASK` job for each, in the
borrower's transaction; the job (lending.lenders.tasks) delivers it; lender decisions come back
through `lending.applications.service.application.record_lender_decision`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from lending.applications.requirements import field_error
from lending.errors import InvalidInput, NotFound
from lending.identity.actor import Actor
from lending.identity.scopes import Scope
from lending.jobs import enqueue
from lending.lenders.repository import (
    OPEN_SUBMISSION_STATUSES,
    LenderRepository,
    SubmissionRepository,
)
from lending.lenders.schemas import LenderRead, LenderWithProducts, ProductRead
from lending.logs import get_logger
from lending.models.applications import Application, ProductType
from lending.models.lenders import LenderProduct, LenderSubmission, SubmissionStatus
from lending.models.offers import Offer
from lending.offers.repository import OfferRepository

log = get_logger(__name__)

# The job that delivers one submission to one lender.
SUBMIT_TASK = "lenders.submit_application"


class LenderService:
    async def names(
        self, session: AsyncSession, lender_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, str]:
        """Lender names by id (public catalog facts, for wording a question to a person)."""
        repository = LenderRepository.from_session(session)
        found = {}
        for lender_id in dict.fromkeys(lender_ids):
            lender = await repository.get_lender(lender_id)
            if lender is not None:
                found[lender_id] = lender.name
        return found

    async def list_lenders(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        product_type: ProductType | None = None,
        include_inactive: bool = False,
    ) -> list[LenderWithProducts]:
        """The catalog: lenders with their products (inactive ones for catalog managers)."""
        actor.require(Scope.LENDERS_READ)
        if include_inactive:
            actor.require(Scope.LENDERS_MANAGE)
        repository = LenderRepository.from_session(session)
        lenders = await repository.list_lenders(
            include_inactive=include_inactive, product_type=product_type
        )
        products = await repository.products_of(
            [lender.id for lender in lenders], include_inactive=include_inactive
        )
        return [
            LenderWithProducts(
                **LenderRead.model_validate(lender).model_dump(),
                products=[
                    _product_read(product)
                    for product in products
                    if product.lender_id == lender.id
                    and (product_type is None or product.product_type == product_type)
                ],
            )
            for lender in lenders
        ]

    async def get(
        self, session: AsyncSession, actor: Actor, *, lender_id: uuid.UUID
    ) -> LenderWithProducts:
        actor.require(Scope.LENDERS_READ)
        repository = LenderRepository.from_session(session)
        lender = await repository.get_lender(lender_id)
        manager = actor.has(Scope.LENDERS_MANAGE)
        if lender is None or (not lender.active and not manager):
            raise NotFound("No such lender.")
        products = await repository.products_of([lender.id], include_inactive=manager)
        return LenderWithProducts(
            **LenderRead.model_validate(lender).model_dump(),
            products=[_product_read(product) for product in products],
        )


class SubmissionService:
    async def choose(
        self,
        session: AsyncSession,
        *,
        application: Application,
        lender_ids: Sequence[uuid.UUID],
    ) -> list[Offer]:
        """For each chosen lender, its cheapest current prequalified offer for the application.

        Raises:
            InvalidInput: a lender chosen twice, or one without a current prequalified offer.
        """
        offers = await OfferRepository.from_session(session).current_prequalified(
            application.id, datetime.now(UTC)
        )
        best: dict[uuid.UUID, Offer] = {}
        for offer in offers:  # cheapest APR first
            best.setdefault(offer.lender_id, offer)
        errors = []
        chosen: list[Offer] = []
        for index, lender_id in enumerate(lender_ids):
            if lender_id in lender_ids[:index]:
                errors.append(field_error(["lender_ids", index], "is listed twice"))
            elif lender_id not in best:
                errors.append(
                    field_error(
                        ["lender_ids", index],
                        "has no current prequalified offer for this application; get offers "
                        "first and choose among their lenders",
                    )
                )
            else:
                chosen.append(best[lender_id])
        if errors:
            raise InvalidInput(errors)
        return chosen

    async def queue(
        self, session: AsyncSession, *, application: Application, chosen: Sequence[Offer]
    ) -> list[LenderSubmission]:
        """One submission row and one delivery job per chosen lender, in this transaction."""
        repository = SubmissionRepository.from_session(session)
        rows = []
        for offer in chosen:
            submission = await repository.add(
                LenderSubmission(
                    application_id=application.id,
                    lender_id=offer.lender_id,
                    product_id=offer.product_id,
                    status=SubmissionStatus.QUEUED,
                )
            )
            submission.job_id = await enqueue(
                session,
                SUBMIT_TASK,
                args={"submission_id": str(submission.id)},
                # One delivery at a time per submission, and never two waiting.
                lock=f"submission:{submission.id}",
                queueing_lock=f"submission:{submission.id}",
            )
            rows.append(submission)
        await session.flush()
        return rows

    async def mark_pending(
        self, session: AsyncSession, *, submission_id: uuid.UUID
    ) -> LenderSubmission | None:
        """Record that the delivery job picked the submission up (queued → pending)."""
        submission = await SubmissionRepository.from_session(session).get(
            submission_id, for_update=True
        )
        if submission is None:
            return None
        if submission.status is SubmissionStatus.QUEUED:
            submission.status = SubmissionStatus.PENDING
            await session.flush()
        return submission

    async def get_for(
        self,
        session: AsyncSession,
        *,
        application_id: uuid.UUID,
        lender_id: uuid.UUID,
        for_update: bool = False,
    ) -> LenderSubmission:
        submission = await SubmissionRepository.from_session(session).get_for(
            application_id, lender_id, for_update=for_update
        )
        if submission is None:
            raise NotFound("The application was not submitted to this lender.")
        return submission

    async def open_statuses(
        self, session: AsyncSession, *, application_id: uuid.UUID
    ) -> list[SubmissionStatus]:
        """Statuses of the submissions still waiting for a decision."""
        rows = await SubmissionRepository.from_session(session).of_application(application_id)
        return [row.status for row in rows if row.status in OPEN_SUBMISSION_STATUSES]

    async def withdraw_open(self, session: AsyncSession, *, application_id: uuid.UUID) -> None:
        for row in await SubmissionRepository.from_session(session).of_application(application_id):
            if row.status in OPEN_SUBMISSION_STATUSES:
                row.status = SubmissionStatus.WITHDRAWN
        await session.flush()


def _product_read(product: LenderProduct) -> ProductRead:
    return ProductRead.model_validate(product)


lender_service = LenderService()
submission_service = SubmissionService()
