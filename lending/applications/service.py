"""The application service: start, fill in, submit, withdraw and decide loan applications.

Every status change goes through `move`, which checks the transition table, records an
`application_event` row (who, when, why, HMDA outcome) and bumps the row's version.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.analytics.recorder import analytics
from lending.applications import hmda, transitions
from lending.applications.hmda import DenialReason
from lending.applications.profile import borrower_profile_service
from lending.applications.ratios import Ratio, debt_to_income, loan_to_value
from lending.applications.repository import (
    READ_SCOPES,
    WRITE_SCOPES,
    ApplicationRepository,
    BorrowerRepository,
    StaleVersion,
)
from lending.applications.requirements import (
    check_slots,
    field_error,
    missing_fields,
    requirements,
    slot_money,
)
from lending.applications.schemas import (
    ApplicationCreate,
    ApplicationFilters,
    ApplicationList,
    ApplicationListItem,
    ApplicationRead,
    ApplicationSummary,
    ApplicationUpdate,
    EventRead,
)
from lending.applications.transitions import Mover
from lending.audit.schemas import Origin
from lending.audit.service import audit_service
from lending.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from lending.identity.actor import Actor
from lending.identity.scopes import Scope
from lending.identity.verification import email_verification_service
from lending.jobs import enqueue
from lending.lenders.repository import LenderRepository
from lending.lenders.schemas import SubmissionRead
from lending.lenders.service import submission_service
from lending.models.analytics import EventName
from lending.models.applications import (
    Application,
    ApplicationEvent,
    ApplicationStatus,
    BorrowerProfile,
    ProductType,
)
from lending.models.identity import Role, User
from lending.models.lenders import Lender, LenderProductVersion, SubmissionStatus
from lending.notifications import kinds as notification_kinds
from lending.notifications.service import notification_service
from lending.pagination import Page


class ConsentRequired(Conflict):
    message = (
        "The borrower has not consented to a credit check; record their consent (the current "
        "credit_check text) first."
    )


class IncompleteApplication(InvalidInput):
    message = "The application is missing information."


class LenderDecision(StrEnum):
    """What a lender said about a submission (the lender-integration adapter reports these)."""

    RECEIVED = "received"
    APPROVED = "approved"
    REFERRED = "referred"
    DECLINED = "declined"
    FUNDED = "funded"


@dataclass(frozen=True)
class FirmOfferTerms:
    """A lender's approved terms; the platform prices them (payment, APR) itself."""

    amount: Decimal
    term_months: int
    note_rate: Decimal
    product_id: uuid.UUID | None = None
    # (code, name, amount, finance_charge) for each fee the lender charges.
    fees: Sequence[tuple[str, str, Decimal, bool]] = ()
    validity_days: int = 30
    risky_features: Sequence[str] = field(default_factory=tuple)


_STAFF_BROKER_ROLES = frozenset({Role.BROKER, Role.BROKER_MANAGER})
# Until it is submitted (and again when a lender asks for more), an application can be edited.
_EDITABLE = frozenset({ApplicationStatus.DRAFT, ApplicationStatus.REFERRED})


def _list_item(row: Application, names: dict[uuid.UUID, str]) -> ApplicationListItem:
    """A row of a list of applications, with the borrower's name and who opened it."""
    creator = row.created_by_user_id
    started_by: Literal["borrower", "broker", "staff"] | None = (
        None
        if creator is None
        else "borrower"
        if creator == row.borrower_user_id
        else "broker"
        if creator == row.broker_user_id
        else "staff"
    )
    return ApplicationListItem(
        **ApplicationSummary.model_validate(row).model_dump(),
        borrower_name=names.get(row.borrower_user_id),
        started_by=started_by,
    )


async def _missing_documents(session: AsyncSession, application: Application) -> list[str]:
    # Imported here: the documents domain builds on applications (reach, repository).
    from lending.documents.repository import DocumentRepository
    from lending.documents.requirements import completeness

    documents = await DocumentRepository.from_session(session).for_application(application.id)
    return completeness(application, documents).missing


class ApplicationService:
    # Reads

    async def get(
        self, session: AsyncSession, actor: Actor, *, application_id: uuid.UUID
    ) -> ApplicationRead:
        application = await self.load(session, actor, application_id=application_id)
        return await self.describe(session, application)

    async def load(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        application_id: uuid.UUID,
        write: bool = False,
    ) -> Application:
        """The application if `actor` may see it (or change it, with `write`); else NotFound."""
        scopes = WRITE_SCOPES if write else READ_SCOPES
        actor.require_any(*scopes)
        repository = ApplicationRepository.from_session(session)
        application = await repository.get_scoped(actor, application_id, scopes)
        if application is None:
            raise NotFound("No such application.")
        return application

    async def list_applications(
        self,
        session: AsyncSession,
        actor: Actor,
        filters: ApplicationFilters | None = None,
        *,
        limit: int = 50,
        offset: int = 0,
    ) -> ApplicationList:
        """A page of the applications `actor` may see (a borrower their own, a broker their
        clients', a manager the firm's, an admin all), narrowed by `filters`, with the total."""
        actor.require_any(*READ_SCOPES)
        rows, total = await ApplicationRepository.from_session(session).list_scoped(
            actor, filters or ApplicationFilters(), limit=limit, offset=offset
        )
        names = await self._borrower_names(session, {row.borrower_user_id for row in rows})
        return ApplicationList(
            items=[_list_item(row, names) for row in rows],
            limit=limit,
            offset=offset,
            total=total,
        )

    async def page_applications(
        self,
        session: AsyncSession,
        actor: Actor,
        filters: ApplicationFilters | None = None,
        *,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page[ApplicationListItem]:
        """A keyset page (newest first) of the applications `actor` may see, for long lists
        such as the back office's: `cursor` is the previous page's `next_cursor`."""
        actor.require_any(*READ_SCOPES)
        page = await ApplicationRepository.from_session(session).page_scoped(
            actor, filters or ApplicationFilters(), cursor=cursor, limit=limit
        )
        names = await self._borrower_names(session, {row.borrower_user_id for row in page.items})
        return Page(
            [_list_item(row, names) for row in page.items],
            page.next_cursor,
        )

    async def _borrower_names(
        self, session: AsyncSession, borrower_ids: set[uuid.UUID]
    ) -> dict[uuid.UUID, str]:
        if not borrower_ids:
            return {}
        found = await session.execute(
            select(User.id, User.full_name).where(User.id.in_(borrower_ids))
        )
        return {user_id: name for user_id, name in found}

    async def events(
        self, session: AsyncSession, actor: Actor, *, application_id: uuid.UUID
    ) -> list[EventRead]:
        application = await self.load(session, actor, application_id=application_id)
        rows = await ApplicationRepository.from_session(session).events(application.id)
        return [EventRead.model_validate(row) for row in rows]

    async def describe(self, session: AsyncSession, application: Application) -> ApplicationRead:
        """The full view: fields still missing, DTI and LTV with their inputs, submissions."""
        repository = ApplicationRepository.from_session(session)
        profile = await BorrowerRepository.from_session(session).get_profile(
            application.borrower_user_id
        )
        missing = missing_fields(application, profile)
        rules = requirements().rules(application.product_type)
        trid = (
            not missing_fields(application, profile, which="trid_application")
            if rules.trid_application
            else None
        )
        summary = ApplicationSummary.model_validate(application)
        return ApplicationRead(
            **summary.model_dump(),
            requested_product_id=application.requested_product_id,
            slots=dict(application.slots),
            status_changed_at=application.status_changed_at,
            submitted_at=application.submitted_at,
            decided_at=application.decided_at,
            hmda_action_taken=application.hmda_action_taken,
            allowed_next_states=transitions.allowed_next(application.status),
            missing_fields=missing,
            ready_to_submit=not missing and application.status is ApplicationStatus.DRAFT,
            trid_application_complete=trid,
            debt_to_income=_current_dti(profile),
            loan_to_value=collateral_ratio(application),
            submissions=[
                SubmissionRead.model_validate(row)
                for row in await repository.submissions(application.id)
            ],
            missing_documents=await _missing_documents(session, application),
        )

    # Changes by the borrower's side

    async def start(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        data: ApplicationCreate,
        origin: Origin | None = None,
    ) -> ApplicationRead:
        """Open a draft application for the actor (a borrower) or a borrower they work with."""
        actor.require_any(*WRITE_SCOPES)
        borrower = await self._borrower_for(session, actor, data.borrower_user_id)
        errors = _check_purpose(data.product_type, data.purpose)
        slots = _clean_slots(data.product_type, data.slots, errors)
        if errors:
            raise InvalidInput(errors)
        application = Application(
            borrower_user_id=borrower.id,
            broker_user_id=await self._broker_for(session, actor, borrower),
            organization_id=borrower.organization_id,
            created_by_user_id=actor.user_id,
            product_type=data.product_type,
            purpose=data.purpose,
            amount=data.amount,
            term_months=data.term_months,
            slots={name: value for name, value in slots.items() if value is not None},
            status=ApplicationStatus.DRAFT,
        )
        await self._check_requested_product(
            session,
            data.product_type,
            data.requested_product_id,
            amount=data.amount,
            term_months=data.term_months,
        )
        application.requested_product_id = data.requested_product_id
        repository = ApplicationRepository.from_session(session)
        number = await repository.next_reference_number()
        application.reference = f"OMF-{datetime.now(UTC).year}-{number:06d}"
        await repository.add(application)
        await repository.add_event(
            ApplicationEvent(
                application_id=application.id,
                from_status=None,
                to_status=ApplicationStatus.DRAFT,
                actor_user_id=actor.user_id,
                actor_role=actor.role.value,
                source="user",
                reason="Application started.",
                details={"product_type": data.product_type.value},
            )
        )
        analytics.record(
            session,
            EventName.APPLICATION_STARTED,
            origin=origin,
            organization_id=application.organization_id,
            application_id=application.id,
            user_id=actor.user_id,
            broker_id=application.broker_user_id,
            product=application.product_type.value,
            amount=application.amount,
        )
        started = await self.describe(session, application)
        _record_intake(session, actor, application, started, origin)
        await _audit(session, actor, "application.started", application.id, origin)
        return started

    async def update(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        application_id: uuid.UUID,
        data: ApplicationUpdate,
        origin: Origin | None = None,
    ) -> ApplicationRead:
        """Change the amount, term, purpose or slot values of a draft (or referred) application."""
        application = await self.load(session, actor, application_id=application_id, write=True)
        _check_version(application, data.version)
        if application.status not in _EDITABLE:
            raise Conflict(
                {
                    "message": f"A {application.status.value} application cannot be changed; "
                    "only a draft or a referred one can.",
                    "status": application.status.value,
                }
            )
        changes = data.model_dump(exclude_unset=True, exclude={"version", "slots"})
        errors: list[dict[str, Any]] = []
        if "purpose" in changes:
            errors += _check_purpose(application.product_type, data.purpose)
        slots = _clean_slots(application.product_type, data.slots, errors)
        if errors:
            raise InvalidInput(errors)
        values = {
            name: changes.get(name, getattr(application, name))
            for name in ("purpose", "amount", "term_months", "requested_product_id")
        }
        # Checked before anything is assigned, so a refused change leaves the row untouched.
        await self._check_requested_product(
            session,
            application.product_type,
            values["requested_product_id"],
            amount=values["amount"],
            term_months=values["term_months"],
        )
        for name, value in values.items():
            if getattr(application, name) != value:
                setattr(application, name, value)
        if slots:
            merged = {**application.slots, **slots}
            # A new dict, so the JSONB column is seen as changed.
            application.slots = {k: v for k, v in merged.items() if v is not None}
        await ApplicationRepository.from_session(session).flush()
        updated = await self.describe(session, application)
        _record_intake(session, actor, application, updated, origin)
        fields = [*data.model_fields_set, *(f"slots.{name}" for name in data.slots)]
        await _audit(session, actor, "application.updated", application.id, origin, fields)
        return updated

    async def submit(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        application_id: uuid.UUID,
        lender_ids: Sequence[uuid.UUID],
        version: int | None = None,
        origin: Origin | None = None,
    ) -> ApplicationRead:
        """Send a complete draft to the chosen lenders: one background job per lender.

        Each lender must have a current prequalified offer for the application (call the
        offers service first); the borrower must have consented to a credit check.
        """
        actor.require(Scope.APPLICATIONS_SUBMIT)
        application = await self.load(session, actor, application_id=application_id, write=True)
        _check_version(application, version)
        transitions.mover(application.status, ApplicationStatus.SUBMITTED)
        profile = await BorrowerRepository.from_session(session).get_profile(
            application.borrower_user_id
        )
        missing = missing_fields(application, profile)
        if missing:
            raise IncompleteApplication(
                {
                    "message": "These are still needed before submitting: "
                    + ", ".join(field.label for field in missing)
                    + ".",
                    "missing_fields": [field.model_dump() for field in missing],
                }
            )
        if not await borrower_profile_service.has_credit_check_consent(
            session, application.borrower_user_id
        ):
            raise ConsentRequired()
        await email_verification_service.require_verified(
            session, actor_user_id=actor.user_id, borrower_id=application.borrower_user_id
        )
        chosen = await submission_service.choose(
            session, application=application, lender_ids=lender_ids
        )
        await self.move(
            session,
            application,
            ApplicationStatus.SUBMITTED,
            actor=actor,
            reason=f"Submitted to {len(chosen)} lender{'s' if len(chosen) > 1 else ''}.",
            details={"lenders": [str(offer.lender_id) for offer in chosen]},
        )
        await submission_service.queue(session, application=application, chosen=chosen)
        submitted = await self.describe(session, application)
        await _audit(session, actor, "application.submitted", application.id, origin)
        return submitted

    async def withdraw(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        application_id: uuid.UUID,
        reason: str,
        version: int | None = None,
        origin: Origin | None = None,
    ) -> ApplicationRead:
        """Withdraw the application at the borrower's request; final, it never reopens."""
        application = await self.load(session, actor, application_id=application_id, write=True)
        _check_version(application, version)
        await self.move(
            session, application, ApplicationStatus.WITHDRAWN, actor=actor, reason=reason
        )
        await submission_service.withdraw_open(session, application_id=application.id)
        withdrawn = await self.describe(session, application)
        await _audit(session, actor, "application.withdrawn", application.id, origin)
        return withdrawn

    async def assign_broker(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        application_id: uuid.UUID,
        broker_user_id: uuid.UUID,
        version: int | None = None,
        origin: Origin | None = None,
    ) -> ApplicationRead:
        """Give the application to a broker of its firm (a firm manager or the platform)."""
        actor.require_any(Scope.APPLICATIONS_WRITE_FIRM, Scope.APPLICATIONS_WRITE_ALL)
        application = await self.load(session, actor, application_id=application_id, write=True)
        _check_version(application, version)
        broker = await BorrowerRepository.from_session(session).get_user(broker_user_id)
        if (
            broker is None
            or broker.role not in _STAFF_BROKER_ROLES
            or not broker.is_active
            or broker.organization_id != application.organization_id
        ):
            raise InvalidInput(
                [field_error(["broker_user_id"], "must be an active broker of the firm")]
            )
        application.broker_user_id = broker.id
        await ApplicationRepository.from_session(session).flush()
        assigned = await self.describe(session, application)
        await _audit(session, actor, "application.broker_assigned", application.id, origin)
        return assigned

    # Decisions

    async def transition(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        application_id: uuid.UUID,
        to_status: ApplicationStatus,
        reason: str,
        version: int | None = None,
        denial_reasons: Sequence[DenialReason] = (),
        origin: Origin | None = None,
    ) -> ApplicationRead:
        """Move an application along the table: a withdrawal by its borrower's side, or a
        credit decision in the back office (platform administrators)."""
        if to_status is ApplicationStatus.SUBMITTED:
            raise InvalidInput([field_error(["to_status"], "submit with the submit action")])
        if to_status is ApplicationStatus.OFFER_ACCEPTED:
            raise InvalidInput([field_error(["to_status"], "accept an offer instead")])
        if to_status is ApplicationStatus.WITHDRAWN:
            return await self.withdraw(
                session,
                actor,
                application_id=application_id,
                reason=reason,
                version=version,
                origin=origin,
            )
        actor.require(Scope.APPLICATIONS_DECIDE)
        application = await self.load(session, actor, application_id=application_id)
        _check_version(application, version)
        details: dict[str, Any] = {}
        if denial_reasons:
            details["denial_reasons"] = [int(code) for code in denial_reasons]
        await self.move(
            session, application, to_status, actor=actor, reason=reason, details=details
        )
        moved = await self.describe(session, application)
        await _audit(session, actor, f"application.{to_status.value}", application.id, origin)
        return moved

    async def record_lender_decision(
        self,
        session: AsyncSession,
        *,
        application_id: uuid.UUID,
        lender_id: uuid.UUID,
        decision: LenderDecision,
        offers: Sequence[FirmOfferTerms] = (),
        reason: str | None = None,
        denial_reasons: Sequence[DenialReason] = (),
        external_reference: str | None = None,
    ) -> Application:
        """Apply a lender's decision on its submission (system path: no actor; the caller has
        authenticated the lender, e.g. by a verified webhook signature).

        Safe to repeat: a decision the submission already carries changes nothing, so a
        duplicate webhook neither adds events nor offers. The application moves as far as the
        decision allows: an approval from any lender approves it; a decline declines it only
        when every lender it went to has declined; a final status never reopens.
        """
        repository = ApplicationRepository.from_session(session)
        application = await repository.get(application_id, for_update=True)
        if application is None:
            raise NotFound("No such application.")
        submission = await submission_service.get_for(
            session, application_id=application.id, lender_id=lender_id, for_update=True
        )
        new_status = _SUBMISSION_STATUS[decision]
        if submission.status is new_status:
            return application
        submission.status = new_status
        if reason is not None:
            submission.decision_reason = reason
        if external_reference is not None:
            submission.external_reference = external_reference
        if decision is not LenderDecision.RECEIVED:
            submission.decided_at = datetime.now(UTC)
        details: dict[str, Any] = {"submission_id": str(submission.id), "decision": decision.value}
        if denial_reasons:
            details["denial_reasons"] = [int(code) for code in denial_reasons]
        if application.status in transitions.TERMINAL:
            await repository.flush()
            return application

        async def advance(to_status: ApplicationStatus) -> None:
            await self.move(
                session,
                application,
                to_status,
                actor=None,
                source="lender",
                lender_id=lender_id,
                reason=reason,
                details=details,
            )

        status = application.status
        if decision is LenderDecision.FUNDED:
            if status is ApplicationStatus.OFFER_ACCEPTED:
                await advance(ApplicationStatus.FUNDED)
        elif decision in (
            LenderDecision.RECEIVED,
            LenderDecision.APPROVED,
            LenderDecision.REFERRED,
        ):
            if status in (ApplicationStatus.SUBMITTED, ApplicationStatus.REFERRED) and not (
                decision is LenderDecision.REFERRED and status is ApplicationStatus.REFERRED
            ):
                await advance(ApplicationStatus.UNDER_REVIEW)
            if application.status is ApplicationStatus.UNDER_REVIEW:
                if decision is LenderDecision.APPROVED:
                    await advance(ApplicationStatus.APPROVED)
                elif decision is LenderDecision.REFERRED:
                    await advance(ApplicationStatus.REFERRED)
        elif decision is LenderDecision.DECLINED:
            open_statuses = await submission_service.open_statuses(
                session, application_id=application.id
            )
            if not open_statuses and application.status in (
                ApplicationStatus.SUBMITTED,
                ApplicationStatus.UNDER_REVIEW,
            ):
                if application.status is ApplicationStatus.SUBMITTED:
                    await advance(ApplicationStatus.UNDER_REVIEW)
                await advance(ApplicationStatus.DECLINED)
        if decision is LenderDecision.APPROVED and offers:
            # Imported here: the offers service builds on this one (it reads applications).
            from lending.offers.service import offer_service

            await offer_service.record_firm_offers(
                session,
                application=application,
                lender_id=lender_id,
                submission_product_id=submission.product_id,
                offers=offers,
            )
        await self._tell_lender_decision(
            session, application, submission.id, lender_id, decision, len(offers)
        )
        await repository.flush()
        return application

    async def _tell_lender_decision(
        self,
        session: AsyncSession,
        application: Application,
        submission_id: uuid.UUID,
        lender_id: uuid.UUID,
        decision: LenderDecision,
        offer_count: int,
    ) -> None:
        """Tell the borrower and their broker what the lender decided, and that its offers
        arrived; once per submission and decision (a repeated webhook tells nobody again)."""
        if decision not in _TOLD_DECISIONS:
            return
        lender = await session.scalar(select(Lender.name).where(Lender.id == lender_id))
        people = (application.borrower_user_id, application.broker_user_id)
        data = {"reference": application.reference, "lender": lender or ""}
        await notification_service.notify(
            session,
            people,
            kind=notification_kinds.LENDER_DECISION,
            application_id=application.id,
            data={**data, "decision": decision.value},
            event_key=f"lender.decision:{submission_id}:{decision.value}",
        )
        if offer_count:
            await notification_service.notify(
                session,
                people,
                kind=notification_kinds.OFFERS_ARRIVED,
                application_id=application.id,
                data={**data, "count": str(offer_count)},
                event_key=f"offer.arrived:{submission_id}",
            )

    # Internals

    async def move(
        self,
        session: AsyncSession,
        application: Application,
        to_status: ApplicationStatus,
        *,
        actor: Actor | None,
        reason: str | None,
        source: str = "user",
        lender_id: uuid.UUID | None = None,
        details: dict[str, Any] | None = None,
    ) -> ApplicationEvent:
        """The one place a status changes: table check, mover check, event row, outcome code.

        `actor` None is the system path (a lender decision); otherwise the actor must be
        allowed to make this move (see transitions.Mover).
        """
        from_status = application.status
        mover = transitions.mover(from_status, to_status)
        if actor is not None:
            _check_mover(actor, application, mover)
        repository = ApplicationRepository.from_session(session)
        previously_approved = from_status in (
            ApplicationStatus.APPROVED,
            ApplicationStatus.OFFER_ACCEPTED,
        ) or await repository.was_approved(application.id)
        outcome = hmda.action_taken(to_status, previously_approved=previously_approved)
        now = datetime.now(UTC)
        application.status = to_status
        application.status_changed_at = now
        if to_status is ApplicationStatus.SUBMITTED:
            application.submitted_at = now
        if to_status in (
            ApplicationStatus.APPROVED,
            ApplicationStatus.DECLINED,
            ApplicationStatus.REFERRED,
        ):
            application.decided_at = now
        if outcome is not None:
            application.hmda_action_taken = int(outcome)
        await repository.flush()
        if to_status in _MILESTONES:
            analytics.record(
                session,
                _MILESTONES[to_status],
                organization_id=application.organization_id,
                application_id=application.id,
                user_id=actor.user_id if actor else None,
                lender_id=lender_id,
                broker_id=application.broker_user_id,
                product=application.product_type.value,
                amount=application.amount,
            )
        await notification_service.application_status_changed(
            session,
            application_id=application.id,
            reference=application.reference,
            borrower_id=application.borrower_user_id,
            broker_id=application.broker_user_id,
            from_status=from_status.value,
            to_status=to_status.value,
            caused_by=actor.user_id if actor else None,
        )
        if to_status is ApplicationStatus.FUNDED:
            # Commissions accrue in a job written in this transaction: no funding without it.
            from lending.commissions.common import ACCRUE_FUNDED_TASK

            await enqueue(
                session,
                ACCRUE_FUNDED_TASK,
                args={"application_id": str(application.id)},
                lock=f"commission-application:{application.id}",
            )
        return await repository.add_event(
            ApplicationEvent(
                application_id=application.id,
                from_status=from_status.value,
                to_status=to_status,
                actor_user_id=actor.user_id if actor else None,
                actor_role=actor.role.value if actor else None,
                source=source if actor is None else "user",
                lender_id=lender_id,
                reason=reason,
                hmda_action_taken=int(outcome) if outcome is not None else None,
                details=details or {},
                occurred_at=now,
            )
        )

    async def _borrower_for(
        self, session: AsyncSession, actor: Actor, borrower_user_id: uuid.UUID | None
    ) -> User:
        if actor.role is Role.BORROWER and borrower_user_id not in (None, actor.user_id):
            # A borrower applies for themselves; another borrower's id is simply not theirs.
            raise NotFound("No such borrower.")
        return await borrower_profile_service.resolve_borrower(
            session, actor, user_id=borrower_user_id, write=True
        )

    async def _broker_for(
        self, session: AsyncSession, actor: Actor, borrower: User
    ) -> uuid.UUID | None:
        """The borrower's referring broker when they are an active broker of the same firm;
        otherwise the broker starting the application."""
        if borrower.referred_by_user_id is not None:
            referrer = await BorrowerRepository.from_session(session).get_user(
                borrower.referred_by_user_id
            )
            if (
                referrer is not None
                and referrer.is_active
                and referrer.role in _STAFF_BROKER_ROLES
                and referrer.organization_id == borrower.organization_id
            ):
                return referrer.id
        if actor.role in _STAFF_BROKER_ROLES and actor.organization_id == borrower.organization_id:
            return actor.user_id
        return None

    async def _check_requested_product(
        self,
        session: AsyncSession,
        product_type: ProductType,
        product_id: uuid.UUID | None,
        *,
        amount: Decimal | None,
        term_months: int | None,
    ) -> None:
        if product_id is None:
            return
        offered = await LenderRepository.from_session(session).offered_product_on(
            product_id, datetime.now(UTC).date()
        )
        if offered is None:
            raise InvalidInput(
                [field_error(["requested_product_id"], "no such product is offered", "unknown")]
            )
        _check_against_product(offered[0], product_type, amount, term_months)


def _check_against_product(
    product: LenderProductVersion,
    product_type: ProductType,
    amount: Decimal | None,
    term: int | None,
) -> None:
    errors: list[dict[str, Any]] = []
    if product.product_type != product_type:
        errors.append(
            field_error(
                ["requested_product_id"],
                f"{product.name} is a {product.product_type} product, not {product_type.value}",
            )
        )
    if amount is not None and not product.min_amount <= amount <= product.max_amount:
        errors.append(
            field_error(
                ["amount"],
                f"must be between {product.min_amount} and {product.max_amount} for {product.name}",
                "out_of_range",
            )
        )
    if term is not None and not product.min_term_months <= term <= product.max_term_months:
        errors.append(
            field_error(
                ["term_months"],
                f"must be between {product.min_term_months} and {product.max_term_months} "
                f"months for {product.name}",
                "out_of_range",
            )
        )
    if errors:
        raise InvalidInput(errors)


_SUBMISSION_STATUS = {
    LenderDecision.RECEIVED: SubmissionStatus.RECEIVED,
    LenderDecision.APPROVED: SubmissionStatus.APPROVED,
    LenderDecision.REFERRED: SubmissionStatus.REFERRED,
    LenderDecision.DECLINED: SubmissionStatus.DECLINED,
    LenderDecision.FUNDED: SubmissionStatus.FUNDED,
}


def _check_version(application: Application, version: int | None) -> None:
    if version is not None and version != application.version:
        raise StaleVersion(
            {
                "message": StaleVersion.message,
                "your_version": version,
                "current_version": application.version,
            }
        )


def _check_mover(actor: Actor, application: Application, mover: Mover) -> None:
    if mover is Mover.DECIDER:
        actor.require(Scope.APPLICATIONS_DECIDE)
    elif mover is Mover.BORROWER:
        actor.require(Scope.OFFERS_ACCEPT)
        if actor.user_id != application.borrower_user_id:
            raise PermissionDenied("Only the borrower can accept an offer.")
    else:
        actor.require_any(*WRITE_SCOPES)


def _check_purpose(product_type: ProductType, purpose: str | None) -> list[dict[str, Any]]:
    purposes = requirements().rules(product_type).purposes
    if purpose is not None and purpose not in purposes:
        return [
            field_error(
                ["purpose"], f"for a {product_type.value} loan, one of: {', '.join(purposes)}"
            )
        ]
    return []


def _clean_slots(
    product_type: ProductType, values: dict[str, Any], errors: list[dict[str, Any]]
) -> dict[str, Any]:
    clean, problems = check_slots(product_type, values)
    errors.extend(problems)
    return clean


def _current_dti(profile: BorrowerProfile | None) -> Ratio | None:
    if profile is None:
        return None
    return debt_to_income(
        annual_income=profile.annual_income,
        monthly_debt_payments=profile.monthly_debt_payments,
        monthly_housing_payment=profile.monthly_housing_payment,
    )


def collateral_ratio(application: Application) -> Ratio | None:
    """LTV (CLTV with existing liens) of a secured application, when the value is known."""
    collateral = requirements().rules(application.product_type).collateral
    if collateral == "property":
        return loan_to_value(
            amount=application.amount,
            value=slot_money(application, "property_value"),
            purchase_price=slot_money(application, "purchase_price"),
            existing_liens=slot_money(application, "existing_mortgage_balance"),
        )
    if collateral == "vehicle":
        return loan_to_value(
            amount=application.amount, value=slot_money(application, "vehicle_value")
        )
    return None


# Status changes that are funnel steps (analytics, issue 20).
_MILESTONES = {
    ApplicationStatus.SUBMITTED: EventName.APPLICATION_SUBMITTED,
    ApplicationStatus.OFFER_ACCEPTED: EventName.OFFER_ACCEPTED,
    ApplicationStatus.FUNDED: EventName.FUNDED,
}


def _record_intake(
    session: AsyncSession,
    actor: Actor,
    application: Application,
    read: ApplicationRead,
    origin: Origin | None,
) -> None:
    """The required field the intake waits for now (in asking order; '' when none is missing),
    for drop-off per intake question."""
    analytics.record(
        session,
        EventName.INTAKE_PROGRESS,
        origin=origin,
        organization_id=application.organization_id,
        application_id=application.id,
        user_id=actor.user_id,
        broker_id=application.broker_user_id,
        product=application.product_type.value,
        properties={"next_field": read.missing_fields[0].name if read.missing_fields else ""},
    )


async def _audit(
    session: AsyncSession,
    actor: Actor,
    action: str,
    application_id: uuid.UUID,
    origin: Origin | None,
    fields: Sequence[str] = (),
) -> None:
    """Audit a change to an application (last in the unit of work: it takes the chain's lock)."""
    await audit_service.record_change(
        session,
        actor,
        action,
        origin=origin,
        subject_type="loan_application",
        subject_id=application_id,
        fields=fields,
    )


application_service = ApplicationService()
# The lender decisions a borrower and broker are told about (receipt and funding are not).
_TOLD_DECISIONS = frozenset(
    {LenderDecision.APPROVED, LenderDecision.REFERRED, LenderDecision.DECLINED}
)
