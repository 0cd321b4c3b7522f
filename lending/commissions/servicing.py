"""Funded loans and their servicing events: the loan recorded once when an application is
funded, what the lender reports about it afterwards, and the clawback a closure triggers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from lending.audit.schemas import Origin
from lending.commissions import ledger
from lending.commissions.common import (
    CLAWBACK_TASK,
    DEFAULT_CURRENCY,
    DEFAULT_JURISDICTION,
    audit_change,
)
from lending.commissions.repository import CommissionRepository
from lending.commissions.schemas import (
    LoanDetail,
    LoanRead,
    ServicingEventCreate,
    ServicingEventRead,
    ServicingEventRow,
)
from lending.errors import Conflict, InvalidInput, NotFound
from lending.identity.actor import Actor
from lending.identity.scopes import Scope
from lending.jobs import enqueue
from lending.models.applications import ApplicationStatus
from lending.models.commissions import (
    FundedLoan,
    LoanServicingEvent,
    LoanStatus,
    ServicingEventKind,
)
from lending.pagination import Page, map_page


class ServicingService:
    """Funded loans, servicing events and clawbacks."""

    async def record_funding(
        self, session: AsyncSession, *, application_id: uuid.UUID
    ) -> FundedLoan | None:
        """The funded loan of a funded application, made once (None if it is not funded)."""
        repository = CommissionRepository.from_session(session)
        existing = await repository.loan_for_application(application_id)
        if existing is not None:
            return existing
        application = await repository.application(application_id)
        if application is None or application.status not in (
            ApplicationStatus.FUNDED,
            ApplicationStatus.CLOSED,
        ):
            return None
        offer = await repository.accepted_offer(application.id)
        funded_at, event_lender_id = await repository.funding_event(application.id)
        lender_id = offer.lender_id if offer else event_lender_id
        profile = await repository.borrower_profile(application.borrower_user_id)
        borrower = await repository.user(application.borrower_user_id)
        name = " ".join(
            part
            for part in (
                profile.legal_first_name if profile else None,
                profile.legal_last_name if profile else None,
            )
            if part
        ) or (borrower.full_name if borrower else "")
        amount = offer.amount if offer else application.amount
        if amount is None:
            return None
        values = {
            "id": uuid.uuid4(),
            "application_id": application.id,
            "reference": application.reference,
            "borrower_user_id": application.borrower_user_id,
            "borrower_name": name,
            "organization_id": application.organization_id,
            "broker_user_id": application.broker_user_id,
            "referrer_user_id": None,
            "lender_id": lender_id,
            "product_id": offer.product_id if offer else application.requested_product_id,
            "product_type": application.product_type.value,
            "state": profile.state if profile else None,
            "jurisdiction": DEFAULT_JURISDICTION,
            "currency": DEFAULT_CURRENCY,
            "funded_amount": amount,
            "offset_balance": Decimal(0),
            "outstanding_balance": amount,
            "term_months": offer.term_months if offer else application.term_months,
            "note_rate": offer.note_rate if offer else None,
            "funded_on": (funded_at or datetime.now(UTC)).date(),
            "status": LoanStatus.ACTIVE.value,
        }
        await repository.add_loan_once(values)
        return await repository.loan_for_application(application_id)

    async def record_servicing_event(
        self,
        session: AsyncSession,
        actor: Actor | None,
        *,
        loan_id: uuid.UUID,
        data: ServicingEventCreate,
        source: str = "admin",
        lender_event_id: str | None = None,
        origin: Origin | None = None,
    ) -> ServicingEventRead:
        """Record what the lender reported about a funded loan: a balance, arrears (trail stops),
        arrears cured (trail resumes), a discharge or a refinance (trail stops for good and the
        clawback job is queued in this transaction). `actor` None: a lender's report, with the
        lender's `lender_event_id` (recorded once per loan: see `servicing_event_from_lender`)."""
        if actor is not None:
            actor.require(Scope.COMMISSIONS_APPROVE)
        repository = CommissionRepository.from_session(session)
        loan = await repository.loan(loan_id, for_update=True)
        if loan is None:
            raise NotFound("No such funded loan.")
        if loan.status in (LoanStatus.DISCHARGED, LoanStatus.REFINANCED):
            raise Conflict(
                f"The loan was {loan.status.value} on {loan.closed_on}; it has no further events."
            )
        if data.occurred_on < loan.funded_on:
            raise InvalidInput(
                [
                    {
                        "loc": ["body", "occurred_on"],
                        "msg": "before the loan was funded",
                        "type": "out_of_range",
                    }
                ]
            )
        event = LoanServicingEvent(
            loan_id=loan.id,
            kind=data.kind,
            occurred_on=data.occurred_on,
            outstanding_balance=data.outstanding_balance,
            offset_balance=data.offset_balance,
            source=source,
            recorded_by_user_id=actor.user_id if actor else None,
            note=data.note,
            lender_event_id=lender_event_id,
        )
        await repository.add(event)
        if data.outstanding_balance is not None:
            loan.outstanding_balance = data.outstanding_balance
        if data.offset_balance is not None:
            loan.offset_balance = data.offset_balance
        job_id = None
        if data.kind is ServicingEventKind.ARREARS:
            loan.status = LoanStatus.IN_ARREARS
        elif data.kind is ServicingEventKind.ARREARS_CURED:
            loan.status = LoanStatus.ACTIVE
        elif data.kind in (ServicingEventKind.DISCHARGED, ServicingEventKind.REFINANCED):
            loan.status = LoanStatus(data.kind.value)
            loan.closed_on = data.occurred_on
            loan.outstanding_balance = Decimal(0)
            job_id = await enqueue(
                session,
                CLAWBACK_TASK,
                args={"servicing_event_id": event.id},
                lock=f"commission-loan:{loan.id}",
            )
        await repository.flush()
        read = ServicingEventRead.model_validate(event)
        read.job_id = job_id
        if actor is not None:  # a lender's report (through its webhook) is not a person's act
            await audit_change(
                session,
                actor,
                f"commission.loan_{data.kind.value}",
                origin,
                "funded_loan",
                loan.id,
                data,
            )
        return read

    async def claw_back(self, session: AsyncSession, *, servicing_event_id: int) -> int:
        """The clawback of a discharge or refinance (the job); entries written."""
        repository = CommissionRepository.from_session(session)
        event = await repository.servicing_event(servicing_event_id)
        if event is None or event.kind not in (
            ServicingEventKind.DISCHARGED,
            ServicingEventKind.REFINANCED,
        ):
            return 0
        return await ledger.claw_back(
            session,
            loan_id=event.loan_id,
            occurred_on=event.occurred_on,
            reason=event.kind.value,
            servicing_event_id=event.id,
        )

    async def page_loans(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        status: LoanStatus | None = None,
        reference: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page[LoanRead]:
        """Funded loans, newest reference first (the back office's list)."""
        actor.require(Scope.COMMISSIONS_READ_ALL)
        page = await CommissionRepository.from_session(session).loans(
            status=status, reference=reference, cursor=cursor, limit=limit
        )
        return map_page(page, LoanRead.model_validate)

    async def get_loan(
        self, session: AsyncSession, actor: Actor, *, loan_id: uuid.UUID
    ) -> LoanDetail:
        """A funded loan with every servicing event recorded for it."""
        actor.require(Scope.COMMISSIONS_READ_ALL)
        repository = CommissionRepository.from_session(session)
        loan = await repository.loan(loan_id)
        if loan is None:
            raise NotFound("No such funded loan.")
        events = await repository.servicing_events(loan.id)
        return LoanDetail(
            loan=LoanRead.model_validate(loan),
            events=[ServicingEventRow.model_validate(event) for event in events],
        )


servicing_service = ServicingService()
