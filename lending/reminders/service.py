"""The scheduled notifications, and a broker's reminder to a client about a missing document.

`reminder.run_scheduled` is the `reminders.scan` job's work (every 15 minutes): it looks for
offers expiring within `notify_offer_expiring_days`, required documents still missing
`notify_document_missing_days` after an application was started, commission accrued, paid,
clawed back or adjusted for a broker, and payout batches waiting for approval. Each event has a key (the offer, the
application and requirement, the ledger entry, the batch), unique per person in the
notification table: a second run, or two workers at once, tells nobody twice.

`reminder.remind_document` is the broker's "remind Riley to upload her pay stub": only for the
broker's own clients (what they may not see is NotFound), at most once per client per
`document_reminder_per_client_seconds`, and only for a document the application is missing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from lending.applications.service import application_service
from lending.audit.schemas import Origin
from lending.audit.service import audit_service
from lending.config import Settings
from lending.documents.repository import DocumentRepository
from lending.documents.requirements import completeness, document_requirements
from lending.errors import Conflict, PermissionDenied, RateLimited
from lending.identity.actor import Actor
from lending.identity.repository import UserRepository
from lending.models.applications import Application
from lending.models.commissions import EntryKind
from lending.models.identity import Role
from lending.notifications import kinds
from lending.notifications.service import notification_service
from lending.reminders.repository import ReminderRepository
from lending.reminders.schemas import DocumentReminderRead

# Commission entries older than this are not announced (a first run on an old ledger is quiet).
_ENTRY_LOOKBACK = timedelta(days=7)
_BROKERS = frozenset({Role.BROKER, Role.BROKER_MANAGER})
# The notification of each kind of ledger entry to a broker: accrued, paid, clawed back (a
# discharge or refinance), adjusted (an admin's adjustment or a reversal). Each entry is told
# once: its notification's event key is the entry's id.
_ENTRY_KINDS: dict[str, tuple[EntryKind, ...]] = {
    kinds.COMMISSION_ACCRUED: (EntryKind.ACCRUAL,),
    kinds.COMMISSION_PAID: (EntryKind.PAYOUT,),
    kinds.COMMISSION_CLAWED_BACK: (EntryKind.CLAWBACK,),
    kinds.COMMISSION_ADJUSTED: (EntryKind.ADJUSTMENT, EntryKind.REVERSAL),
}


def _amount(kind: str, amount: Decimal) -> str:
    """What the message shows: an adjustment with its sign (it can go either way), the others
    as the size of what accrued, was paid or was clawed back."""
    if kind == kinds.COMMISSION_ADJUSTED:
        return f"{amount:+.2f}"
    return f"{abs(amount):.2f}"


@dataclass(frozen=True, slots=True)
class ScanRun:
    offers_expiring: int = 0
    documents_missing: int = 0
    commission_accrued: int = 0
    commission_paid: int = 0
    commission_changed: int = 0  # clawbacks and adjustments
    batches_awaiting: int = 0

    @property
    def total(self) -> int:
        return (
            self.offers_expiring
            + self.documents_missing
            + self.commission_accrued
            + self.commission_paid
            + self.commission_changed
            + self.batches_awaiting
        )


def _labels(name: str) -> dict[str, str]:
    rule = document_requirements().requirements[name]
    return {"requirement": name, "label_en": rule.label, "label_zh": rule.label_zh}


async def _missing(session: AsyncSession, application: Application) -> list[str]:
    documents = await DocumentRepository.from_session(session).for_application(application.id)
    return completeness(application, documents).missing


def requirement_named(name: str | None) -> str | None:
    """A requirement's name from its own name or a document type that meets it ("pay_stub" is
    the income requirement); None for none; the name unchanged when it is neither (the caller
    then finds it is not missing)."""
    if name is None or not name.strip():
        return None
    key = name.strip().lower().replace(" ", "_").replace("-", "_")
    rules = document_requirements().requirements
    if key in rules:
        return key
    for rule_name, rule in rules.items():
        if key in {document_type.value for document_type in rule.any_of}:
            return rule_name
    return key


class ReminderService:
    async def run_scheduled(
        self, session: AsyncSession, *, settings: Settings, now: datetime | None = None
    ) -> ScanRun:
        """Write every scheduled notification that is due and not yet written."""
        now = now or datetime.now(UTC)
        repository = ReminderRepository.from_session(session)
        notify = notification_service.notify

        offers = 0
        until = now + timedelta(days=settings.notify_offer_expiring_days)
        for offer in await repository.expiring_offers(now, until):
            offers += len(
                await notify(
                    session,
                    (offer.borrower_id, offer.broker_id),
                    kind=kinds.OFFER_EXPIRING,
                    application_id=offer.application_id,
                    data={
                        "reference": offer.reference,
                        "lender": offer.lender,
                        "expires_on": offer.expires_at.date().isoformat(),
                    },
                    event_key=f"offer.expiring:{offer.offer_id}",
                )
            )

        documents = 0
        started_before = now - timedelta(days=settings.notify_document_missing_days)
        for application in await repository.collecting_since(started_before):
            for name in await _missing(session, application):
                documents += len(
                    await notify(
                        session,
                        (application.borrower_user_id, application.broker_user_id),
                        kind=kinds.DOCUMENT_MISSING,
                        application_id=application.id,
                        data={"reference": application.reference, **_labels(name)},
                        event_key=f"document.missing:{application.id}:{name}",
                    )
                )

        told = dict.fromkeys(_ENTRY_KINDS, 0)
        for kind, entry_kinds in _ENTRY_KINDS.items():
            for entry in await repository.broker_entries(entry_kinds, now - _ENTRY_LOOKBACK):
                data = {"amount": _amount(kind, entry.amount), "currency": entry.currency}
                if entry.reference is not None:
                    data["reference"] = entry.reference
                if entry.payment is not None:
                    data["payment"] = entry.payment
                told[kind] += len(
                    await notify(
                        session,
                        (entry.payee_id,),
                        kind=kind,
                        data=data,
                        event_key=f"{kind}:{entry.entry_id}",
                    )
                )

        batches = 0
        admins = await repository.active_admins()
        for batch in await repository.draft_batches():
            batches += len(
                await notify(
                    session,
                    admins,
                    kind=kinds.PAYOUT_BATCH_AWAITING_APPROVAL,
                    caused_by=batch.created_by_user_id,  # the maker is not the checker
                    data={
                        "amount": f"{batch.total_amount:.2f}",
                        "currency": batch.currency,
                        "payees": str(batch.payee_count),
                        "batch_id": str(batch.id),
                    },
                    event_key=f"payout_batch.awaiting_approval:{batch.id}",
                )
            )
        return ScanRun(
            offers_expiring=offers,
            documents_missing=documents,
            commission_accrued=told[kinds.COMMISSION_ACCRUED],
            commission_paid=told[kinds.COMMISSION_PAID],
            commission_changed=told[kinds.COMMISSION_CLAWED_BACK] + told[kinds.COMMISSION_ADJUSTED],
            batches_awaiting=batches,
        )

    async def remind_document(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        settings: Settings,
        application_id: uuid.UUID,
        requirement: str | None = None,
        origin: Origin | None = None,
    ) -> DocumentReminderRead:
        """A broker reminds their client to upload what the application is missing (one
        requirement, or all of them): an in-app notification and a mail to the borrower.

        Raises:
            PermissionDenied: the actor is not a broker.
            NotFound: not an application the broker may see.
            Conflict: nothing (or not that requirement) is missing.
            RateLimited: this client was reminded recently.
        """
        if actor.role not in _BROKERS:
            raise PermissionDenied("Only a broker reminds a client about documents.")
        application = await application_service.load(session, actor, application_id=application_id)
        missing = await _missing(session, application)
        requirement = requirement_named(requirement)
        if requirement is not None:
            if requirement not in missing:
                raise Conflict(
                    "That document is not missing from this application; nothing was sent."
                )
            missing = [requirement]
        if not missing:
            raise Conflict("This application has every document it needs; nothing was sent.")
        repository = ReminderRepository.from_session(session)
        # One reminder per client per window, whichever broker or channel asks: the check and
        # the write are serialised per client, so two at once cannot both pass.
        await repository.lock_client(application.borrower_user_id)
        last = await repository.last_reminder_at(application.borrower_user_id)
        window = timedelta(seconds=settings.document_reminder_per_client_seconds)
        now = datetime.now(UTC)
        if last is not None and now - last < window:
            raise RateLimited(
                max(1, int((last + window - now).total_seconds())),
                "This client was reminded recently; try again later.",
            )
        broker_user = await UserRepository.from_session(session).get(actor.user_id)
        broker = broker_user.full_name if broker_user is not None else "Your broker"
        told = 0
        for name in missing:
            told += len(
                await notification_service.notify(
                    session,
                    (application.borrower_user_id,),
                    kind=kinds.DOCUMENT_REMINDER,
                    application_id=application.id,
                    caused_by=actor.user_id,
                    data={"reference": application.reference, "broker": broker, **_labels(name)},
                )
            )
        await audit_service.record(
            session,
            actor,
            action="document.reminder_sent",
            origin=origin,
            organization_id=application.organization_id,
            subject_type="loan_application",
            subject_id=application.id,
            details={"requirements": missing},
        )
        rules = document_requirements().requirements
        return DocumentReminderRead(
            reference=application.reference,
            reminded_about=[rules[name].label for name in missing],
            reminded_about_zh=[rules[name].label_zh for name in missing],
            sent=told > 0,
        )


reminder_service = ReminderService()
