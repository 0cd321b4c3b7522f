"""The ledger's entries as a reader sees them (lists, balances, explanations, statements) and
the corrections a platform admin makes: new entries, never edits."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_
from sqlalchemy.ext.asyncio import AsyncSession

from lending.audit.schemas import Origin
from lending.commissions.common import DEFAULT_CURRENCY, audit_change, money_text
from lending.commissions.explanation import ExplanationStep, step
from lending.commissions.repository import READ_SCOPES, CommissionRepository
from lending.commissions.rules import CENT, money
from lending.commissions.schemas import (
    AdjustmentCreate,
    CommissionSummary,
    EntryList,
    EntryRead,
    Explanation,
    PayeeBalance,
    ReversalCreate,
    Statement,
    StatementLine,
)
from lending.errors import Conflict, InvalidInput, NotFound
from lending.identity.actor import Actor
from lending.identity.scopes import Scope
from lending.models.commissions import (
    CommissionEntry,
    CommissionRule,
    CommissionRuleVersion,
    Component,
    EntryKind,
    FundedLoan,
    Party,
)
from lending.models.identity import Organization, User


class CommissionEntryService:
    """Reads scoped by the actor, explanations, statements and corrections."""

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
        await audit_change(
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
        await audit_change(
            session,
            actor,
            "commission.reversed",
            origin,
            "commission_entry",
            str(entry_id),
            ["reason"],
        )
        return _entry_read(reversal, None)


commission_entry_service = CommissionEntryService()


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
                amount=money_text(loan.funded_amount),
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
                amount=money_text(entry.total_amount),
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
        tax = money_text(entry.tax_amount)
        total = money_text(entry.total_amount)
        if version is not None:
            rate = f"{version.tax_percent.normalize():f}"
            steps.append(step("tax", rate=rate, tax=tax, total=total, currency=currency))
        else:
            steps.append(step("tax_unrated", tax=tax, total=total, currency=currency))
    else:
        steps.append(step("total", total=money_text(entry.total_amount), currency=currency))
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
                basis=money_text(basis),
                part=money_text(percent_part),
                **({"flat": money_text(flat)} if flat else {}),
                **(
                    {"bonus": money_text(bonus), "loan_in_month": d.get("loan_in_month")}
                    if bonus
                    else {}
                ),
                **({"before": money_text(before)} if flat or bonus else {}),
            )
        )
        if total != before:
            steps.append(
                step(
                    "cap_floor",
                    cap=money_text(version.upfront_cap),
                    floor=money_text(version.upfront_floor),
                    total=money_text(total),
                )
            )
    else:
        steps.append(
            step(
                "trail_net" if version.basis.value == "drawn_net_of_offset" else "trail",
                month=f"{entry.effective_on:%Y-%m}",
                percent=f"{(version.trail_percent or 0):f}",
                basis=money_text(basis),
                total=money_text(total),
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
            total=money_text(total),
            amount=money_text(entry.amount),
        )
    )
    return steps
