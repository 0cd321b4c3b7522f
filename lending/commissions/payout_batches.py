"""Payout batches with maker-checker: draft, approve (not by the maker), export (CSV and
per-payee PDF statements), paid or failed."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lending.analytics.recorder import analytics
from lending.audit.schemas import Origin
from lending.commissions import exports, ledger
from lending.commissions.common import audit_change, platform_id
from lending.commissions.errors import BatchStateConflict, MakerCheckerRefused
from lending.commissions.repository import CommissionRepository
from lending.commissions.schemas import BatchCreate, BatchPayee, BatchRead, BatchSummary
from lending.errors import Conflict, NotFound
from lending.identity.actor import Actor
from lending.identity.scopes import Scope
from lending.models.analytics import EventName
from lending.models.commissions import BatchStatus, PayoutBatch
from lending.pagination import Page, map_page


class PayoutBatchService:
    """Payout batches (platform admins only)."""

    async def create_batch(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        data: BatchCreate,
        origin: Origin | None = None,
    ) -> BatchRead:
        """Draft a batch of every payee's unpaid entries up to the cut-off, when they net at
        least the minimum. Entries already in an open or paid batch are never taken again."""
        actor.require(Scope.COMMISSIONS_APPROVE)
        await ledger.lock_batches(session)
        batch = PayoutBatch(
            id=uuid.uuid4(),
            status=BatchStatus.DRAFT,
            currency=data.currency,
            cutoff_on=data.cutoff_on,
            minimum_amount=data.minimum_amount,
            total_amount=Decimal(0),
            payee_count=0,
            created_by_user_id=actor.user_id,
        )
        repository = CommissionRepository.from_session(session)
        await repository.add(batch)
        try:
            async with session.begin_nested():
                await ledger.collect_batch(
                    session,
                    batch_id=batch.id,
                    currency=data.currency,
                    cutoff_on=data.cutoff_on,
                    minimum=data.minimum_amount,
                    platform_id=await platform_id(session),
                )
        except IntegrityError:
            raise Conflict("Another payout batch took these entries first; try again.") from None
        payees = await repository.batch_payees(batch.id)
        if not payees:
            raise Conflict(
                f"Nothing to pay: no payee has unpaid {data.currency} commission of at least "
                f"{data.minimum_amount} up to {data.cutoff_on}."
            )
        batch.total_amount = sum((row.amount for row in payees), Decimal(0))
        batch.payee_count = len(payees)
        await repository.flush()
        created = await self._batch_read(repository, batch)
        await audit_change(
            session, actor, "commission.batch_created", origin, "payout_batch", batch.id, data
        )
        return created

    async def list_batches(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        status: BatchStatus | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page[BatchSummary]:
        """Payout batches, newest first (the back office's list; payees are on the detail)."""
        actor.require(Scope.COMMISSIONS_APPROVE)
        page = await CommissionRepository.from_session(session).batches(
            status=status, cursor=cursor, limit=limit
        )
        return map_page(page, BatchSummary.model_validate)

    async def get_batch(
        self, session: AsyncSession, actor: Actor, *, batch_id: uuid.UUID
    ) -> BatchRead:
        actor.require(Scope.COMMISSIONS_APPROVE)
        repository = CommissionRepository.from_session(session)
        return await self._batch_read(repository, await self._load_batch(repository, batch_id))

    async def approve_batch(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        batch_id: uuid.UUID,
        origin: Origin | None = None,
    ) -> BatchRead:
        """The checker's approval: another platform admin than the batch's maker."""
        actor.require(Scope.COMMISSIONS_APPROVE)
        repository = CommissionRepository.from_session(session)
        batch = await self._load_batch(repository, batch_id, for_update=True)
        self._expect(batch, BatchStatus.DRAFT, "approved")
        if batch.created_by_user_id == actor.user_id:
            raise MakerCheckerRefused()
        batch.status = BatchStatus.APPROVED
        batch.approved_by_user_id = actor.user_id
        batch.approved_at = datetime.now(UTC)
        await repository.flush()
        approved = await self._batch_read(repository, batch)
        await audit_change(
            session, actor, "commission.batch_approved", origin, "payout_batch", batch_id
        )
        return approved

    async def mark_exported(
        self, session: AsyncSession, actor: Actor, *, batch_id: uuid.UUID
    ) -> tuple[PayoutBatch, list[Any], list[Any]]:
        """An approved batch becomes exported (again: the same content); its payees and items."""
        actor.require(Scope.COMMISSIONS_APPROVE)
        repository = CommissionRepository.from_session(session)
        batch = await self._load_batch(repository, batch_id, for_update=True)
        if batch.status is BatchStatus.APPROVED:
            batch.status = BatchStatus.EXPORTED
            batch.exported_at = datetime.now(UTC)
            await repository.flush()
        elif batch.status not in (BatchStatus.EXPORTED, BatchStatus.PAID):
            raise BatchStateConflict(
                f"A {batch.status.value} batch cannot be exported; it must be approved first."
            )
        return (
            batch,
            list(await repository.batch_payees(batch.id)),
            list(await repository.batch_items(batch.id)),
        )

    async def export_csv(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        batch_id: uuid.UUID,
        origin: Origin | None = None,
    ) -> str:
        """The bank-run CSV of an approved batch (marks it exported)."""
        batch, payees, _ = await self.mark_exported(session, actor, batch_id=batch_id)
        await audit_change(
            session, actor, "commission.batch_exported", origin, "payout_batch", batch_id
        )
        return exports.batch_csv(batch, payees)

    async def statement_pdf(
        self, session: AsyncSession, actor: Actor, *, batch_id: uuid.UUID, payee_id: uuid.UUID
    ) -> bytes:
        """One payee's PDF statement of an exported (or paid) batch."""
        actor.require(Scope.COMMISSIONS_APPROVE)
        repository = CommissionRepository.from_session(session)
        batch = await self._load_batch(repository, batch_id)
        if batch.status not in (BatchStatus.EXPORTED, BatchStatus.PAID):
            raise BatchStateConflict(
                f"Statements come with the export; this batch is {batch.status.value}."
            )
        payees = await repository.batch_payees(batch.id)
        items = await repository.batch_items(batch.id, payee_id)
        payee = next((row for row in payees if row.payee_id == payee_id), None)
        if payee is None:
            raise NotFound("This payee is not in the batch.")
        return await asyncio.to_thread(
            exports.payee_statement_pdf, batch, payee, exports.items_of(items, payee_id)
        )

    async def mark_paid(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        batch_id: uuid.UUID,
        reference: str,
        origin: Origin | None = None,
    ) -> BatchRead:
        """Record the payment: one payout entry per payee (the ledger's unique key and the
        status check each make a second payment of the batch impossible)."""
        actor.require(Scope.COMMISSIONS_APPROVE)
        repository = CommissionRepository.from_session(session)
        batch = await self._load_batch(repository, batch_id, for_update=True)
        self._expect(batch, BatchStatus.EXPORTED, "paid")
        now = datetime.now(UTC)
        await ledger.write_payouts(
            session,
            batch_id=batch.id,
            currency=batch.currency,
            paid_on=now.date(),
            user_id=actor.user_id,
            reference=reference,
        )
        batch.status = BatchStatus.PAID
        batch.paid_at = now
        batch.payment_reference = reference
        analytics.record(
            session,
            EventName.COMMISSION_PAID,
            origin=origin,
            user_id=actor.user_id,
            amount=batch.total_amount,
            properties={"batch_id": str(batch.id), "payees": batch.payee_count},
        )
        await repository.flush()
        paid = await self._batch_read(repository, batch)
        await audit_change(
            session,
            actor,
            "commission.batch_paid",
            origin,
            "payout_batch",
            batch_id,
            ["payment_reference"],
        )
        return paid

    async def mark_failed(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        batch_id: uuid.UUID,
        reason: str,
        origin: Origin | None = None,
    ) -> BatchRead:
        """The payment failed (or the draft is dropped): its entries are released for the next
        batch."""
        actor.require(Scope.COMMISSIONS_APPROVE)
        repository = CommissionRepository.from_session(session)
        batch = await self._load_batch(repository, batch_id, for_update=True)
        if batch.status in (BatchStatus.PAID, BatchStatus.FAILED):
            raise BatchStateConflict(f"The batch is already {batch.status.value}.")
        now = datetime.now(UTC)
        await repository.release_items(batch.id, now)
        batch.status = BatchStatus.FAILED
        batch.failed_at = now
        batch.failure_reason = reason
        await repository.flush()
        failed = await self._batch_read(repository, batch)
        await audit_change(
            session, actor, "commission.batch_failed", origin, "payout_batch", batch_id, ["reason"]
        )
        return failed

    async def _load_batch(
        self, repository: CommissionRepository, batch_id: uuid.UUID, *, for_update: bool = False
    ) -> PayoutBatch:
        batch = await repository.batch(batch_id, for_update=for_update)
        if batch is None:
            raise NotFound("No such payout batch.")
        return batch

    def _expect(self, batch: PayoutBatch, status: BatchStatus, action: str) -> None:
        if batch.status is not status:
            raise BatchStateConflict(
                f"Only a {status.value} batch can be {action}; this one is {batch.status.value}."
            )

    async def _batch_read(self, repository: CommissionRepository, batch: PayoutBatch) -> BatchRead:
        payees = await repository.batch_payees(batch.id)
        return BatchRead(
            id=batch.id,
            status=batch.status,
            currency=batch.currency,
            cutoff_on=batch.cutoff_on,
            minimum_amount=batch.minimum_amount,
            total_amount=batch.total_amount,
            payee_count=batch.payee_count,
            created_by_user_id=batch.created_by_user_id,
            approved_by_user_id=batch.approved_by_user_id,
            approved_at=batch.approved_at,
            exported_at=batch.exported_at,
            paid_at=batch.paid_at,
            payment_reference=batch.payment_reference,
            failed_at=batch.failed_at,
            failure_reason=batch.failure_reason,
            created_at=batch.created_at,
            payees=[
                BatchPayee(
                    payee_kind=row.payee_kind,
                    payee_id=row.payee_id,
                    payee_name=row.payee_name or str(row.payee_id),
                    amount=row.amount,
                    entries=row.entries,
                )
                for row in payees
            ],
        )


payout_batch_service = PayoutBatchService()
