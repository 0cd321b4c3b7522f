"""Reconciling a lender's commission statement (CSV) with the ledger.

Columns: `loan_reference`, `borrower_name`, `funding_date` (YYYY-MM-DD), `amount` (the
commission the lender paid, tax included). A line is matched by loan reference (ours or the
lender's), else by borrower name and funding date; then:
match (same amount) · underpaid · overpaid (difference = reported − expected) ·
unexpected (no loan) · needs_review (several loans fit, or a loan already matched by another
line) · and missing_expected for each of the lender's loans funded in the period that no line
covers. A reviewer resolves a line with a reason; the figures themselves are never edited.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lending.audit.schemas import Origin
from lending.audit.service import audit_service
from lending.commissions.repository import CommissionRepository
from lending.commissions.schemas import (
    LineResolution,
    LineResolve,
    ReconciliationOverview,
    ReconciliationRead,
    StatementImport,
    StatementLineRead,
    StatementSummary,
)
from lending.errors import InvalidInput, NotFound
from lending.identity.actor import Actor
from lending.identity.scopes import Scope
from lending.models.commissions import LenderStatement, LenderStatementLine, LineStatus
from lending.models.lenders import Lender
from lending.pagination import Page, map_page

REQUIRED_COLUMNS = ("loan_reference", "borrower_name", "funding_date", "amount")
MAX_LINES = 50_000


def _normal(name: str | None) -> str:
    return " ".join((name or "").lower().split())


def parse_statement(csv_text: str) -> list[dict[str, Any]]:
    """The CSV's lines, checked; every problem is reported at once with its line number."""
    reader = csv.DictReader(io.StringIO(csv_text.lstrip("\ufeff")))
    columns = [c.strip() for c in reader.fieldnames or []]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise InvalidInput(
            [
                {
                    "loc": ["body", "csv_text"],
                    "msg": f"missing columns: {', '.join(missing)}",
                    "type": "csv",
                }
            ]
        )
    lines: list[dict[str, Any]] = []
    problems: list[dict[str, Any]] = []
    for number, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
        if not any(row.values()):
            continue
        try:
            amount = Decimal(row["amount"].replace(",", ""))
            if amount != amount.quantize(Decimal("0.01")) or not amount.is_finite():
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            problems.append(_problem(number, "amount", "not an amount with at most 2 decimals"))
            continue
        try:
            funding = date.fromisoformat(row["funding_date"]) if row["funding_date"] else None
        except ValueError:
            problems.append(_problem(number, "funding_date", "not a date (YYYY-MM-DD)"))
            continue
        if len(row["loan_reference"]) > 64 or len(row["borrower_name"]) > 200:
            problems.append(_problem(number, "loan_reference", "reference or name too long"))
            continue
        if not row["loan_reference"] and not (row["borrower_name"] and funding):
            problems.append(
                _problem(number, "loan_reference", "needs a loan reference or name and date")
            )
            continue
        lines.append(
            {
                "line_number": number,
                "loan_reference": row["loan_reference"] or None,
                "borrower_name": row["borrower_name"] or None,
                "funding_date": funding,
                "reported_amount": amount,
            }
        )
        if len(lines) > MAX_LINES:
            raise InvalidInput(
                [
                    {
                        "loc": ["body", "csv_text"],
                        "msg": f"more than {MAX_LINES} lines",
                        "type": "csv",
                    }
                ]
            )
    if problems:
        raise InvalidInput(problems)
    return lines


def _problem(line: int, column: str, message: str) -> dict[str, Any]:
    return {"loc": ["body", "csv_text", line, column], "msg": message, "type": "csv"}


class ReconciliationService:
    async def import_statement(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        data: StatementImport,
        origin: Origin | None = None,
    ) -> ReconciliationRead:
        actor.require(Scope.COMMISSIONS_APPROVE)
        if await session.get(Lender, data.lender_id) is None:
            raise InvalidInput(
                [{"loc": ["body", "lender_id"], "msg": "no such lender", "type": "unknown"}]
            )
        parsed = parse_statement(data.csv_text)
        repository = CommissionRepository.from_session(session)
        statement = LenderStatement(
            id=uuid.uuid4(),
            lender_id=data.lender_id,
            period_start=data.period_start,
            period_end=data.period_end,
            currency=data.currency,
            filename=data.filename,
            imported_by_user_id=actor.user_id,
        )
        await repository.add(statement)
        loans = await repository.expected_upfront(data.lender_id, data.currency)
        by_reference: dict[str, Any] = {}
        by_name_date: dict[tuple[str, date], list[Any]] = defaultdict(list)
        for loan in loans:
            by_reference[loan.reference.lower()] = loan
            if loan.external_reference:
                by_reference[loan.external_reference.lower()] = loan
            by_name_date[(_normal(loan.borrower_name), loan.funded_on)].append(loan)
        matched: set[uuid.UUID] = set()
        rows: list[LenderStatementLine] = []
        for line in parsed:
            loan, how = None, None
            candidates: list[Any] = []
            if line["loan_reference"]:
                loan = by_reference.get(line["loan_reference"].lower())
                how = "loan_reference" if loan else None
            if loan is None and line["borrower_name"] and line["funding_date"]:
                candidates = by_name_date.get(
                    (_normal(line["borrower_name"]), line["funding_date"]), []
                )
                if len(candidates) == 1:
                    loan, how = candidates[0], "borrower_and_funding_date"
            expected = difference = None
            if loan is not None and loan.id in matched:
                status = LineStatus.NEEDS_REVIEW
                how = f"{how} (loan already on another line)"
            elif loan is not None:
                matched.add(loan.id)
                expected = Decimal(loan.expected)
                difference = line["reported_amount"] - expected
                status = (
                    LineStatus.MATCH
                    if difference == 0
                    else LineStatus.UNDERPAID
                    if difference < 0
                    else LineStatus.OVERPAID
                )
            elif len(candidates) > 1:
                status, how = LineStatus.NEEDS_REVIEW, f"{len(candidates)} loans fit"
            else:
                status = LineStatus.UNEXPECTED
            rows.append(
                LenderStatementLine(
                    statement_id=statement.id,
                    status=status,
                    loan_id=loan.id if loan is not None else None,
                    matched_by=how,
                    expected_amount=expected,
                    difference=difference,
                    **line,
                )
            )
        for loan in loans:
            if (
                loan.id not in matched
                and data.period_start <= loan.funded_on <= data.period_end
                and Decimal(loan.expected) > 0
            ):
                rows.append(
                    LenderStatementLine(
                        statement_id=statement.id,
                        status=LineStatus.MISSING_EXPECTED,
                        loan_id=loan.id,
                        loan_reference=loan.reference,
                        borrower_name=loan.borrower_name,
                        funding_date=loan.funded_on,
                        expected_amount=Decimal(loan.expected),
                        difference=-Decimal(loan.expected),
                    )
                )
        session.add_all(rows)
        await repository.flush()
        imported = await self._read(repository, statement)
        await audit_service.record_change(
            session,
            actor,
            "commission.statement_imported",
            origin=origin,
            subject_type="lender_statement",
            subject_id=statement.id,
            fields=["csv_text"],
        )
        return imported

    async def page_statements(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        lender_id: uuid.UUID | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page[StatementSummary]:
        """Imported statements, newest first (the back office's list)."""
        actor.require(Scope.COMMISSIONS_APPROVE)
        page = await CommissionRepository.from_session(session).statements(
            lender_id=lender_id, cursor=cursor, limit=limit
        )
        return map_page(page, StatementSummary.model_validate)

    async def get(
        self, session: AsyncSession, actor: Actor, *, statement_id: uuid.UUID
    ) -> ReconciliationRead:
        actor.require(Scope.COMMISSIONS_APPROVE)
        repository = CommissionRepository.from_session(session)
        statement = await repository.statement(statement_id)
        if statement is None:
            raise NotFound("No such lender statement.")
        return await self._read(repository, statement)

    async def overview(
        self, session: AsyncSession, actor: Actor, *, statement_id: uuid.UUID
    ) -> ReconciliationOverview:
        """A statement and its count of lines by outcome, without the lines (see `page_lines`)."""
        actor.require(Scope.COMMISSIONS_APPROVE)
        repository = CommissionRepository.from_session(session)
        statement = await repository.statement(statement_id)
        if statement is None:
            raise NotFound("No such lender statement.")
        return await self._overview(repository, statement)

    async def page_lines(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        statement_id: uuid.UUID,
        status: LineStatus | None = None,
        resolution: LineResolution | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page[StatementLineRead]:
        """One page of a statement's lines in import order, by outcome and resolution (the back
        office's review: a statement may hold 50,000 lines)."""
        actor.require(Scope.COMMISSIONS_APPROVE)
        page = await CommissionRepository.from_session(session).statement_line_page(
            statement_id,
            status=status,
            resolved=None if resolution is None else resolution is LineResolution.RESOLVED,
            cursor=cursor,
            limit=limit,
        )
        return map_page(page, StatementLineRead.model_validate)

    async def resolve(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        statement_id: uuid.UUID,
        line_id: int,
        data: LineResolve,
        origin: Origin | None = None,
    ) -> StatementLineRead:
        actor.require(Scope.COMMISSIONS_APPROVE)
        repository = CommissionRepository.from_session(session)
        line = await repository.statement_line(statement_id, line_id)
        if line is None:
            raise NotFound("No such statement line.")
        line.resolved_by_user_id = actor.user_id
        line.resolved_at = datetime.now(UTC)
        line.resolution_reason = data.reason
        await repository.flush()
        await audit_service.record_change(
            session,
            actor,
            "commission.statement_line_resolved",
            origin=origin,
            subject_type="lender_statement",
            subject_id=statement_id,
            fields=["reason"],
        )
        return StatementLineRead.model_validate(line)

    async def _read(
        self, repository: CommissionRepository, statement: LenderStatement
    ) -> ReconciliationRead:
        lines = [
            StatementLineRead.model_validate(row)
            for row in await repository.statement_lines(statement.id)
        ]
        overview = await self._overview(repository, statement)
        return ReconciliationRead(**overview.model_dump(), lines=lines)

    async def _overview(
        self, repository: CommissionRepository, statement: LenderStatement
    ) -> ReconciliationOverview:
        counts = await repository.statement_line_counts(statement.id)
        return ReconciliationOverview(
            id=statement.id,
            lender_id=statement.lender_id,
            period_start=statement.period_start,
            period_end=statement.period_end,
            currency=statement.currency,
            counts={status.value: counts.get(status, 0) for status in LineStatus},
        )


reconciliation_service = ReconciliationService()
