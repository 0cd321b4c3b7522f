"""The commission service: rules, funded loans and their servicing events, the ledger (accrual,
clawback, corrections), explanations, summaries, statements and payout batches.

Money only ever enters the ledger as new entries written by the set-based statements in
`ledger.py` or by the corrections here; nothing is updated. System paths (jobs) take no actor.
"""

from __future__ import annotations

import asyncio
import calendar
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, and_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lending.analytics.recorder import analytics
from lending.audit.schemas import Origin
from lending.audit.service import audit
from lending.commissions import exports, ledger
from lending.commissions.explanation import ExplanationStep, step
from lending.commissions.repository import READ_SCOPES, CommissionRepository
from lending.commissions.rules import CENT, guard_violations, money
from lending.commissions.schemas import (
    AccrualRun,
    AdjustmentCreate,
    BatchCreate,
    BatchPayee,
    BatchRead,
    BatchSummary,
    CommissionSummary,
    EntryList,
    EntryRead,
    Explanation,
    JurisdictionRead,
    JurisdictionUpdate,
    PayeeBalance,
    ReversalCreate,
    RuleCreate,
    RuleRead,
    RuleTerms,
    RuleVersionRead,
    ServicingEventCreate,
    ServicingEventRead,
    Statement,
    StatementLine,
    TrailRun,
)
from lending.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from lending.identity.actor import Actor
from lending.identity.repository import OrganizationRepository
from lending.identity.scopes import Scope
from lending.jobs import enqueue
from lending.models.analytics import EventName
from lending.models.applications import ApplicationStatus
from lending.models.commissions import (
    BatchStatus,
    CommissionEntry,
    CommissionRule,
    CommissionRuleVersion,
    Component,
    EntryKind,
    FundedLoan,
    LoanServicingEvent,
    LoanStatus,
    Party,
    PayoutBatch,
    RuleScope,
    ServicingEventKind,
)
from lending.models.identity import Organization, User
from lending.pagination import Page, map_page

ACCRUE_FUNDED_TASK = "commissions.accrue_funded"
CLAWBACK_TASK = "commissions.claw_back"
TRAIL_TASK = "commissions.accrue_trail"
# The platform lends in the US today: loans are US-dollar loans under US rules unless a rule
# says otherwise (a jurisdiction is data: see commission_jurisdiction).
DEFAULT_JURISDICTION = "US"
DEFAULT_CURRENCY = "USD"


class GuardRejected(InvalidInput):
    message = "The rule breaks a guard of its jurisdiction."

    def __init__(self, detail: dict[str, Any]) -> None:
        super().__init__(detail)
        self.args = (detail["message"],)


class MakerCheckerRefused(PermissionDenied):
    message = "Maker-checker: the administrator who created a payout batch cannot approve it."


class BatchStateConflict(Conflict):
    message = "The payout batch is not in a state that allows this."


def _money(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:,.2f}"


async def _audit(
    session: AsyncSession,
    actor: Actor,
    action: str,
    origin: Origin | None,
    subject_type: str,
    subject_id: uuid.UUID | str,
    changed: BaseModel | Iterable[str] = (),
) -> None:
    """Audit a commission change, last in its unit of work (the fields a request set, by name)."""
    fields = changed.model_fields_set if isinstance(changed, BaseModel) else changed
    await audit.record_change(
        session,
        actor,
        action,
        origin=origin,
        subject_type=subject_type,
        subject_id=subject_id,
        fields=fields,
    )


class CommissionService:
    # Rules

    async def create_rule(
        self, session: AsyncSession, actor: Actor, *, data: RuleCreate, origin: Origin | None = None
    ) -> RuleRead:
        """Save a rule and its first version, after the jurisdiction's guards accept it."""
        actor.require(Scope.COMMISSIONS_APPROVE)
        repository = CommissionRepository.from_session(session)
        await self._check_guards(repository, data.jurisdiction, data)
        await self._check_scope(session, data.scope, data.scope_id)
        rule = CommissionRule(
            name=data.name,
            scope=data.scope,
            scope_id=data.scope_id,
            jurisdiction=data.jurisdiction,
            currency=data.currency,
            created_by_user_id=actor.user_id,
        )
        await repository.add(rule)
        await repository.add(self._version(rule, 1, data, actor))
        created = await self._rule_read(repository, rule)
        await _audit(
            session, actor, "commission.rule_created", origin, "commission_rule", rule.id, data
        )
        return created

    async def add_version(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        rule_id: uuid.UUID,
        data: RuleTerms,
        origin: Origin | None = None,
    ) -> RuleRead:
        """New terms for a rule from `effective_from` on (earlier amounts keep their version)."""
        actor.require(Scope.COMMISSIONS_APPROVE)
        repository = CommissionRepository.from_session(session)
        rule = await repository.rule(rule_id, for_update=True)
        if rule is None:
            raise NotFound("No such commission rule.")
        await self._check_guards(repository, rule.jurisdiction, data)
        versions = await repository.versions([rule.id])
        await repository.add(self._version(rule, len(versions) + 1, data, actor))
        versioned = await self._rule_read(repository, rule)
        await _audit(
            session, actor, "commission.rule_versioned", origin, "commission_rule", rule.id, data
        )
        return versioned

    async def list_rules(self, session: AsyncSession, actor: Actor) -> list[RuleRead]:
        actor.require(Scope.COMMISSIONS_READ_ALL)
        repository = CommissionRepository.from_session(session)
        rules = await repository.rules()
        versions = await repository.versions([rule.id for rule in rules])
        return [
            RuleRead(
                id=rule.id,
                name=rule.name,
                scope=rule.scope,
                scope_id=rule.scope_id,
                jurisdiction=rule.jurisdiction,
                currency=rule.currency,
                versions=[
                    RuleVersionRead.model_validate(v) for v in versions if v.rule_id == rule.id
                ],
            )
            for rule in rules
        ]

    async def jurisdictions(self, session: AsyncSession, actor: Actor) -> list[JurisdictionRead]:
        actor.require(Scope.COMMISSIONS_READ_ALL)
        rows = await CommissionRepository.from_session(session).jurisdictions()
        return [JurisdictionRead.model_validate(row) for row in rows]

    async def update_jurisdiction(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        code: str,
        data: JurisdictionUpdate,
        origin: Origin | None = None,
    ) -> JurisdictionRead:
        """Switch a jurisdiction's guards (e.g. volume bonuses off). Rules already saved keep
        their versions; new rules and versions are checked against the new guards."""
        actor.require(Scope.COMMISSIONS_APPROVE)
        repository = CommissionRepository.from_session(session)
        jurisdiction = await repository.jurisdiction(code, for_update=True)
        if jurisdiction is None:
            raise NotFound("No such jurisdiction.")
        for name, value in data.model_dump(exclude_unset=True).items():
            if value is not None:
                setattr(jurisdiction, name, value)
        await repository.flush()
        await _audit(
            session,
            actor,
            "commission.jurisdiction_updated",
            origin,
            "commission_jurisdiction",
            code,
            data,
        )
        return JurisdictionRead.model_validate(jurisdiction)

    async def _check_guards(
        self, repository: CommissionRepository, code: str, data: RuleTerms
    ) -> None:
        jurisdiction = await repository.jurisdiction(code)
        if jurisdiction is None:
            raise InvalidInput(
                [
                    {
                        "loc": ["body", "jurisdiction"],
                        "msg": f"unknown jurisdiction {code}",
                        "type": "unknown",
                    }
                ]
            )
        violations = guard_violations(
            jurisdiction,
            conditions=[c.model_dump(mode="json") for c in data.conditions],
            volume_bonus=data.volume_bonus.model_dump(mode="json") if data.volume_bonus else None,
            clawback_schedule=[t.model_dump(mode="json") for t in data.clawback_schedule],
        )
        if violations:
            raise GuardRejected(
                {
                    "message": "The rule was rejected: "
                    + "; ".join(v.reason for v in violations)
                    + ".",
                    "violations": [v.as_error() for v in violations],
                }
            )

    async def _check_scope(
        self, session: AsyncSession, scope: RuleScope, scope_id: uuid.UUID | None
    ) -> None:
        from lending.models.lenders import Lender, LenderProduct

        model: Any = {
            RuleScope.FIRM: Organization,
            RuleScope.BROKER: User,
            RuleScope.LENDER: Lender,
            RuleScope.PRODUCT: LenderProduct,
        }.get(scope)
        if model is not None and await session.get(model, scope_id) is None:
            raise InvalidInput(
                [{"loc": ["body", "scope_id"], "msg": f"no such {scope.value}", "type": "unknown"}]
            )

    def _version(
        self, rule: CommissionRule, number: int, data: RuleTerms, actor: Actor
    ) -> CommissionRuleVersion:
        return CommissionRuleVersion(
            rule_id=rule.id,
            version=number,
            effective_from=data.effective_from,
            active=data.active,
            basis=data.basis,
            upfront_percent=data.upfront_percent,
            upfront_flat=data.upfront_flat,
            upfront_cap=data.upfront_cap,
            upfront_floor=data.upfront_floor,
            trail_percent=data.trail_percent,
            tax_percent=data.tax_percent,
            splits={party.value: str(percent) for party, percent in data.splits.items()},
            clawback_schedule=[t.model_dump(mode="json") for t in data.clawback_schedule],
            conditions=[c.model_dump(mode="json") for c in data.conditions],
            volume_bonus=data.volume_bonus.model_dump(mode="json") if data.volume_bonus else None,
            note=data.note,
            created_by_user_id=actor.user_id,
        )

    async def _rule_read(self, repository: CommissionRepository, rule: CommissionRule) -> RuleRead:
        versions = await repository.versions([rule.id])
        return RuleRead(
            id=rule.id,
            name=rule.name,
            scope=rule.scope,
            scope_id=rule.scope_id,
            jurisdiction=rule.jurisdiction,
            currency=rule.currency,
            versions=[RuleVersionRead.model_validate(v) for v in versions],
        )

    # Funding and servicing

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

    async def accrue_funded(
        self, session: AsyncSession, *, application_id: uuid.UUID
    ) -> AccrualRun:
        """The job behind a `funded` transition: record the loan, accrue its upfront commission."""
        loan = await self.record_funding(session, application_id=application_id)
        if loan is None:
            return AccrualRun(loans=0, entries_written=0)
        written = await ledger.accrue_upfront(
            session, platform_id=await self._platform_id(session), loan_ids=[loan.id]
        )
        written += await self._late_clawbacks(session)
        analytics.record(
            session,
            EventName.COMMISSION_ACCRUED,
            organization_id=loan.organization_id,
            application_id=loan.application_id,
            lender_id=loan.lender_id,
            broker_id=loan.broker_user_id,
            product=loan.product_type,
            amount=loan.funded_amount,
            properties={"entries": written, "component": "upfront"},
        )
        return AccrualRun(loans=1, entries_written=written)

    async def accrue_pending(self, session: AsyncSession) -> AccrualRun:
        """Upfront commission for every funded loan that has none yet (one statement)."""
        loans = await CommissionRepository.from_session(session).loans_without_upfront()
        written = await ledger.accrue_upfront(
            session, platform_id=await self._platform_id(session), loan_ids=None
        )
        written += await self._late_clawbacks(session)
        return AccrualRun(loans=loans, entries_written=written)

    async def _late_clawbacks(self, session: AsyncSession) -> int:
        """Clawbacks of loans that were closed before their upfront commission accrued (a
        discharge reported before the accrual ran): the clawback job found nothing then."""
        events = await CommissionRepository.from_session(session).unclawed_closures()
        written = 0
        for event_id in events:
            written += await self.claw_back(session, servicing_event_id=event_id)
        return written

    async def accrue_trail(self, session: AsyncSession, *, month: date) -> TrailRun:
        """A month's trail on every active loan funded before it (safe to run again)."""
        start = month.replace(day=1)
        end = start.replace(day=calendar.monthrange(start.year, start.month)[1])
        written = await ledger.accrue_trail(
            session, platform_id=await self._platform_id(session), month_start=start, month_end=end
        )
        return TrailRun(month=start.strftime("%Y-%m"), entries_written=written)

    async def accrue_trail_now(
        self, session: AsyncSession, actor: Actor, *, month: date, origin: Origin | None = None
    ) -> TrailRun:
        """A person runs a month's trail before the monthly job does (audited; the job is not)."""
        actor.require(Scope.COMMISSIONS_APPROVE)
        run = await self.accrue_trail(session, month=month)
        await audit.record_change(
            session, actor, "commission.trail_accrued", origin=origin, fields=["month"]
        )
        return run

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
            await _audit(
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

    async def _platform_id(self, session: AsyncSession) -> uuid.UUID:
        return (await OrganizationRepository.from_session(session).get_platform()).id

    # Reads

    async def list_entries(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        loan_id: uuid.UUID | None = None,
        payee_id: uuid.UUID | None = None,
        kind: EntryKind | None = None,
        period_start: date | None = None,
        period_end: date | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> EntryList:
        actor.require_any(*READ_SCOPES)
        rows = await CommissionRepository.from_session(session).list_entries(
            actor,
            loan_id=loan_id,
            payee_id=payee_id,
            kind=kind,
            period_start=period_start,
            period_end=period_end,
            limit=limit,
            offset=offset,
        )
        return EntryList(
            items=[_entry_read(entry, reference) for entry, reference in rows],
            limit=limit,
            offset=offset,
        )

    async def summary(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        period_start: date | None = None,
        period_end: date | None = None,
    ) -> CommissionSummary:
        """Per payee the actor may see: accrued, clawed back, adjusted, paid and the balance."""
        actor.require_any(*READ_SCOPES)
        rows = await CommissionRepository.from_session(session).balances(
            actor, period_start=period_start, period_end=period_end
        )
        return CommissionSummary(
            period_start=period_start,
            period_end=period_end,
            payees=[
                PayeeBalance(
                    payee_kind=row.payee_kind,
                    payee_id=row.payee_id,
                    payee_name=row.payee_name or str(row.payee_id),
                    currency=row.currency,
                    accrued=row.accrued,
                    clawed_back=row.clawed_back,
                    adjusted=row.adjusted,
                    paid=row.paid,
                    balance=row.balance,
                )
                for row in rows
            ],
            entries=sum(int(row.entries) for row in rows),
        )

    async def explain(self, session: AsyncSession, actor: Actor, *, entry_id: int) -> Explanation:
        """Why an entry has its amount, from the ledger alone."""
        actor.require_any(*READ_SCOPES)
        repository = CommissionRepository.from_session(session)
        entry = await repository.entry_scoped(actor, entry_id)
        if entry is None:
            raise NotFound("No such commission entry.")
        rule = await repository.rule(entry.rule_id) if entry.rule_id else None
        version = await repository.version(entry.rule_version_id) if entry.rule_version_id else None
        loan = await repository.loan(entry.loan_id) if entry.loan_id else None
        payee = await repository.name_of(entry.payee_kind, entry.payee_id)
        parts = _steps(entry, rule, version, loan, payee)
        steps = [part.english() for part in parts]
        return Explanation(
            entry=_entry_read(entry, loan.reference if loan else None),
            rule_name=rule.name if rule else None,
            rule_version=version.version if version else None,
            rule_effective_from=version.effective_from if version else None,
            loan_reference=loan.reference if loan else None,
            steps=steps,
            parts=parts,
            text=" ".join(steps),
        )

    async def statement_for_payee(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        payee_id: uuid.UUID,
        period_start: date,
        period_end: date,
        currency: str = DEFAULT_CURRENCY,
    ) -> Statement:
        actor.require_any(*READ_SCOPES)
        repository = CommissionRepository.from_session(session)
        kind = "user" if await session.get(User, payee_id) is not None else "organization"
        if not await self._may_see_payee(session, actor, payee_id, kind):
            raise NotFound("No such payee.")
        return await self._statement(
            repository,
            actor,
            CommissionEntry.payee_id == payee_id,
            subject_kind="payee",
            subject_id=payee_id,
            subject_name=await repository.name_of(kind, payee_id),
            currency=currency,
            period_start=period_start,
            period_end=period_end,
        )

    async def statement_for_firm(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        organization_id: uuid.UUID,
        period_start: date,
        period_end: date,
        currency: str = DEFAULT_CURRENCY,
    ) -> Statement:
        """Everything the firm and its people earned on its loans (not the platform's share)."""
        actor.require_any(Scope.COMMISSIONS_READ_ALL, Scope.COMMISSIONS_READ_FIRM)
        if not actor.has(Scope.COMMISSIONS_READ_ALL) and organization_id != actor.organization_id:
            raise NotFound("No such firm.")
        organization = await session.get(Organization, organization_id)
        if organization is None:
            raise NotFound("No such firm.")
        return await self._statement(
            CommissionRepository.from_session(session),
            actor,
            and_(
                CommissionEntry.organization_id == organization_id,
                CommissionEntry.party != Party.PLATFORM,
            ),
            subject_kind="firm",
            subject_id=organization_id,
            subject_name=organization.name,
            currency=currency,
            period_start=period_start,
            period_end=period_end,
        )

    async def _may_see_payee(
        self, session: AsyncSession, actor: Actor, payee_id: uuid.UUID, kind: str
    ) -> bool:
        if actor.has(Scope.COMMISSIONS_READ_ALL):
            return True
        if actor.has(Scope.COMMISSIONS_READ_FIRM):
            if kind == "organization":
                return payee_id == actor.organization_id
            user = await session.get(User, payee_id)
            return user is not None and user.organization_id == actor.organization_id
        return actor.has(Scope.COMMISSIONS_READ_OWN) and payee_id == actor.user_id

    async def _statement(
        self,
        repository: CommissionRepository,
        actor: Actor,
        subject: ColumnElement[bool],
        *,
        subject_kind: Any,
        subject_id: uuid.UUID,
        subject_name: str,
        currency: str,
        period_start: date,
        period_end: date,
    ) -> Statement:
        if period_end < period_start:
            raise InvalidInput(
                [{"loc": ["query", "period_end"], "msg": "before period_start", "type": "range"}]
            )
        opening, rows = await repository.statement_rows(
            actor, subject, currency=currency, period_start=period_start, period_end=period_end
        )
        lines = [
            StatementLine(
                entry_id=row[0].id,
                effective_on=row[0].effective_on,
                kind=row[0].kind,
                component=row[0].component,
                party=row[0].party,
                payee_name=row.payee_name or str(row[0].payee_id),
                loan_reference=row.reference,
                borrower_name=row.borrower_name,
                rule=row.rule if row[0].rule_id else None,
                amount=row[0].amount,
                tax_amount=row[0].tax_amount,
                total_amount=row[0].total_amount,
            )
            for row in rows
        ]

        def total(*kinds: EntryKind) -> Decimal:
            return sum((line.total_amount for line in lines if line.kind in kinds), Decimal(0))

        opening_balance = Decimal(opening)
        return Statement(
            subject_kind=subject_kind,
            subject_id=subject_id,
            subject_name=subject_name,
            currency=currency,
            period_start=period_start,
            period_end=period_end,
            opening_balance=opening_balance,
            accruals=total(EntryKind.ACCRUAL),
            clawbacks=total(EntryKind.CLAWBACK),
            adjustments=total(EntryKind.ADJUSTMENT, EntryKind.REVERSAL),
            payouts=total(EntryKind.PAYOUT),
            closing_balance=opening_balance + sum((ln.total_amount for ln in lines), Decimal(0)),
            lines=lines,
        )

    # Corrections: new entries, never edits

    async def adjust(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        data: AdjustmentCreate,
        origin: Origin | None = None,
    ) -> EntryRead:
        actor.require(Scope.COMMISSIONS_APPROVE)
        organization_id = data.payee_id
        if data.payee_kind == "user":
            user = await session.get(User, data.payee_id)
            if user is None:
                raise InvalidInput(
                    [{"loc": ["body", "payee_id"], "msg": "no such user", "type": "unknown"}]
                )
            organization_id = user.organization_id
        elif await session.get(Organization, data.payee_id) is None:
            raise InvalidInput(
                [{"loc": ["body", "payee_id"], "msg": "no such organization", "type": "unknown"}]
            )
        entry = CommissionEntry(
            event_key=f"adjustment:{uuid.uuid4()}",
            kind=EntryKind.ADJUSTMENT,
            component=Component.MANUAL,
            loan_id=data.loan_id,
            party=data.party,
            payee_kind=data.payee_kind,
            payee_id=data.payee_id,
            organization_id=organization_id,
            amount=data.amount,
            tax_amount=Decimal(0),
            currency=data.currency,
            effective_on=data.effective_on,
            created_by_user_id=actor.user_id,
            details={"reason": data.reason},
        )
        repository = CommissionRepository.from_session(session)
        await repository.add(entry)
        await session.refresh(entry)
        await _audit(
            session, actor, "commission.adjusted", origin, "commission_entry", str(entry.id), data
        )
        return _entry_read(entry, None)

    async def reverse(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        entry_id: int,
        data: ReversalCreate,
        origin: Origin | None = None,
    ) -> EntryRead:
        """Cancel an entry with its exact opposite (once); a paid-out entry cannot be reversed."""
        actor.require(Scope.COMMISSIONS_APPROVE)
        repository = CommissionRepository.from_session(session)
        entry = await repository.entry_scoped(actor, entry_id)
        if entry is None:
            raise NotFound("No such commission entry.")
        if entry.kind in (EntryKind.PAYOUT, EntryKind.REVERSAL):
            raise Conflict(f"A {entry.kind.value} entry cannot be reversed.")
        if await repository.reversal_of(entry.id) is not None:
            raise Conflict("This entry was already reversed.")
        if await repository.in_unreleased_batch(entry.id):
            raise Conflict(
                "This entry is in a payout batch; fail the batch first, or adjust instead."
            )
        reversal = CommissionEntry(
            event_key=f"reversal:{entry.id}",
            kind=EntryKind.REVERSAL,
            component=entry.component,
            loan_id=entry.loan_id,
            rule_id=entry.rule_id,
            rule_version_id=entry.rule_version_id,
            party=entry.party,
            payee_kind=entry.payee_kind,
            payee_id=entry.payee_id,
            organization_id=entry.organization_id,
            amount=-entry.amount,
            tax_amount=-entry.tax_amount,
            currency=entry.currency,
            effective_on=datetime.now(UTC).date(),
            reverses_entry_id=entry.id,
            created_by_user_id=actor.user_id,
            details={"reason": data.reason, "reverses": entry.id},
        )
        await repository.add(reversal)
        await session.refresh(reversal)
        await _audit(
            session,
            actor,
            "commission.reversed",
            origin,
            "commission_entry",
            str(entry_id),
            ["reason"],
        )
        return _entry_read(reversal, None)

    # Payout batches

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
                    platform_id=await self._platform_id(session),
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
        await _audit(
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
        await _audit(session, actor, "commission.batch_approved", origin, "payout_batch", batch_id)
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
        await _audit(session, actor, "commission.batch_exported", origin, "payout_batch", batch_id)
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
        await _audit(
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
        await _audit(
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


def _entry_read(entry: CommissionEntry, reference: str | None) -> EntryRead:
    read = EntryRead.model_validate(entry)
    read.loan_reference = reference
    return read


def _steps(
    entry: CommissionEntry,
    rule: CommissionRule | None,
    version: CommissionRuleVersion | None,
    loan: FundedLoan | None,
    payee: str,
) -> list[ExplanationStep]:
    d = entry.details
    currency = entry.currency
    steps: list[ExplanationStep] = []
    if loan is not None:
        steps.append(
            step(
                "loan",
                reference=loan.reference,
                borrower=loan.borrower_name,
                funded_on=loan.funded_on,
                amount=_money(loan.funded_amount),
                currency=loan.currency,
            )
        )
    if rule is not None and version is not None:
        steps.append(
            step(
                "rule",
                name=rule.name,
                scope=rule.scope.value,
                jurisdiction=rule.jurisdiction,
                version=version.version,
                effective_from=version.effective_from,
            )
        )
    if entry.kind is EntryKind.ACCRUAL and version is not None:
        steps.extend(_accrual_steps(entry, version, payee))
    if entry.kind is EntryKind.CLAWBACK:
        steps.append(
            step(
                "clawback",
                reason=d.get("reason"),
                loan_month=d.get("loan_month"),
                percent=d.get("percent"),
                entry=d.get("clawback_of_entry"),
                accrued=d.get("accrued"),
                amount=_money(entry.total_amount),
            )
        )
    if entry.kind is EntryKind.PAYOUT:
        steps.append(
            step(
                "payout",
                payee=payee,
                batch=d.get("batch_id"),
                payment_reference=d.get("payment_reference"),
                entries=d.get("entries"),
            )
        )
    if entry.kind in (EntryKind.ADJUSTMENT, EntryKind.REVERSAL):
        steps.append(step(entry.kind.value, payee=payee, reason=d.get("reason")))
    if entry.tax_amount:
        tax = _money(entry.tax_amount)
        total = _money(entry.total_amount)
        if version is not None:
            rate = f"{version.tax_percent.normalize():f}"
            steps.append(step("tax", rate=rate, tax=tax, total=total, currency=currency))
        else:
            steps.append(step("tax_unrated", tax=tax, total=total, currency=currency))
    else:
        steps.append(step("total", total=_money(entry.total_amount), currency=currency))
    return steps


def _accrual_steps(
    entry: CommissionEntry, version: CommissionRuleVersion, payee: str
) -> list[ExplanationStep]:
    """The arithmetic of an accrual, from its recorded basis and the (immutable) version."""
    d = entry.details
    basis = entry.basis_amount or Decimal(0)
    total = entry.commission_total or Decimal(0)
    steps: list[ExplanationStep] = []
    if entry.component is Component.UPFRONT:
        percent = version.upfront_percent or Decimal(0)
        percent_part = money(basis * percent / 100)
        flat = version.upfront_flat or Decimal(0)
        bonus = Decimal(d.get("volume_bonus") or 0)
        before = percent_part + flat + bonus
        key = "upfront" + ("_flat" if flat else "") + ("_bonus" if bonus else "")
        steps.append(
            step(
                key,
                percent=f"{percent:f}",
                basis_kind=version.basis.value,
                basis=_money(basis),
                part=_money(percent_part),
                **({"flat": _money(flat)} if flat else {}),
                **(
                    {"bonus": _money(bonus), "loan_in_month": d.get("loan_in_month")}
                    if bonus
                    else {}
                ),
                **({"before": _money(before)} if flat or bonus else {}),
            )
        )
        if total != before:
            steps.append(
                step(
                    "cap_floor",
                    cap=_money(version.upfront_cap),
                    floor=_money(version.upfront_floor),
                    total=_money(total),
                )
            )
    else:
        steps.append(
            step(
                "trail_net" if version.basis.value == "drawn_net_of_offset" else "trail",
                month=f"{entry.effective_on:%Y-%m}",
                percent=f"{(version.trail_percent or 0):f}",
                basis=_money(basis),
                total=_money(total),
            )
        )
    split_percent = entry.split_percent or Decimal(0)
    rounded_down = (total * split_percent / 100).quantize(CENT, rounding=ROUND_DOWN)
    steps.append(
        step(
            "split_remainder" if entry.amount != rounded_down else "split",
            party=entry.party.value,
            payee=payee,
            percent=f"{split_percent.normalize():f}",
            total=_money(total),
            amount=_money(entry.amount),
        )
    )
    return steps


commission = CommissionService()
