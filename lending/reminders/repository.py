"""What the scheduled notifications look for: offers about to expire, applications still missing
a document, commission accrued or paid to a broker, payout batches waiting for approval."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.applications import transitions
from lending.models.applications import Application, ApplicationStatus
from lending.models.commissions import (
    BatchStatus,
    CommissionEntry,
    EntryKind,
    FundedLoan,
    PayoutBatch,
)
from lending.models.identity import Role, User
from lending.models.lenders import Lender
from lending.models.notifications import Notification
from lending.models.offers import Offer, OfferKind, OfferStatus
from lending.notifications import kinds

# Applications still collecting documents (after an offer is accepted nothing more is asked).
_COLLECTING = tuple(
    status
    for status in ApplicationStatus
    if status not in transitions.TERMINAL
    and status not in (ApplicationStatus.OFFER_ACCEPTED, ApplicationStatus.FUNDED)
)
_REMINDER_LOCK = 1919  # the advisory lock's first key: reminders to one client
_BATCH = 500  # rows looked at per kind and run; the next run takes the rest


@dataclass(frozen=True, slots=True)
class ExpiringOffer:
    offer_id: uuid.UUID
    application_id: uuid.UUID
    reference: str
    borrower_id: uuid.UUID
    broker_id: uuid.UUID | None
    lender: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class BrokerEntry:
    entry_id: int
    payee_id: uuid.UUID
    amount: Decimal
    currency: str
    reference: str | None
    payment: str | None


class ReminderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: AsyncSession) -> ReminderRepository:
        return cls(session)

    async def expiring_offers(self, now: datetime, until: datetime) -> list[ExpiringOffer]:
        """Firm offers still open that expire between now and `until`."""
        rows = await self.session.execute(
            select(
                Offer.id,
                Application.id,
                Application.reference,
                Application.borrower_user_id,
                Application.broker_user_id,
                Lender.name,
                Offer.expires_at,
            )
            .join(Application, Application.id == Offer.application_id)
            .join(Lender, Lender.id == Offer.lender_id)
            .where(
                Offer.kind == OfferKind.FIRM,
                Offer.status == OfferStatus.ACTIVE,
                Offer.expires_at > now,
                Offer.expires_at <= until,
            )
            .order_by(Offer.expires_at)
            .limit(_BATCH)
        )
        return [ExpiringOffer(*row) for row in rows.all()]

    async def collecting_since(self, started_before: datetime) -> Sequence[Application]:
        """Open applications started before `started_before`, oldest first."""
        rows = await self.session.execute(
            select(Application)
            .where(Application.status.in_(_COLLECTING), Application.created_at <= started_before)
            .order_by(Application.created_at)
            .limit(_BATCH)
        )
        return rows.scalars().all()

    async def broker_entries(
        self, entry_kinds: Sequence[EntryKind], since: datetime
    ) -> list[BrokerEntry]:
        """Ledger entries of these kinds (accruals, payouts, clawbacks, adjustments) to a
        broker (a person, not a firm) written since `since`."""
        rows = await self.session.execute(
            select(
                CommissionEntry.id,
                CommissionEntry.payee_id,
                CommissionEntry.total_amount,
                CommissionEntry.currency,
                func.coalesce(Application.reference, FundedLoan.reference),
                CommissionEntry.details["payment_reference"].astext,
            )
            .join(User, User.id == CommissionEntry.payee_id)
            .outerjoin(FundedLoan, FundedLoan.id == CommissionEntry.loan_id)
            .outerjoin(Application, Application.id == FundedLoan.application_id)
            .where(
                CommissionEntry.kind.in_(entry_kinds),
                CommissionEntry.payee_kind == "user",
                CommissionEntry.created_at >= since,
                User.role.in_((Role.BROKER, Role.BROKER_MANAGER)),
            )
            .order_by(CommissionEntry.id)
            .limit(_BATCH)
        )
        return [BrokerEntry(*row) for row in rows.all()]

    async def draft_batches(self) -> Sequence[PayoutBatch]:
        rows = await self.session.execute(
            select(PayoutBatch)
            .where(PayoutBatch.status == BatchStatus.DRAFT)
            .order_by(PayoutBatch.created_at)
            .limit(_BATCH)
        )
        return rows.scalars().all()

    async def active_admins(self) -> list[uuid.UUID]:
        rows = await self.session.execute(
            select(User.id).where(User.role == Role.PLATFORM_ADMIN, User.is_active.is_(True))
        )
        return list(rows.scalars().all())

    async def lock_client(self, borrower_id: uuid.UUID) -> None:
        """Serialise reminders to one client until this transaction ends."""
        await self.session.execute(
            select(func.pg_advisory_xact_lock(_REMINDER_LOCK, func.hashtext(str(borrower_id))))
        )

    async def last_reminder_at(self, borrower_id: uuid.UUID) -> datetime | None:
        return await self.session.scalar(
            select(func.max(Notification.created_at)).where(
                Notification.user_id == borrower_id,
                Notification.kind == kinds.DOCUMENT_REMINDER,
            )
        )
