"""The commission tools: balances, explanations and entries for whoever may see them (a broker
their own, a broker manager their firm's, the platform all), payout batches and lender
statement imports for platform administrators. Thin wrappers over lending.commissions."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from lending.commissions.reconciliation import reconciliation
from lending.commissions.repository import READ_SCOPES
from lending.commissions.schemas import (
    BatchCreate,
    BatchRead,
    CommissionSummary,
    EntryList,
    Explanation,
    ReconciliationRead,
    StatementImport,
)
from lending.commissions.service import commission
from lending.identity.scopes import Scope
from lending.models.commissions import EntryKind
from tools.base import Tool, ToolCall, tool


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SummaryInput(_Input):
    period_start: date | None = None
    period_end: date | None = None


class ExplainInput(_Input):
    entry_id: Annotated[int, Field(ge=1)]


class ListEntriesInput(_Input):
    loan_id: uuid.UUID | None = None
    kind: EntryKind | None = None
    period_start: date | None = None
    period_end: date | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    offset: Annotated[int, Field(ge=0)] = 0


class BatchRef(_Input):
    batch_id: uuid.UUID


@tool(scopes=READ_SCOPES)
async def get_commission_summary(call: ToolCall, data: SummaryInput) -> CommissionSummary:
    """Commission balances you may see, per payee: accrued, clawed back, adjusted, paid and
    the balance still owed (a broker sees their own, a manager their firm's).

    Args:
        period_start: Only entries on or after this date (YYYY-MM-DD).
        period_end: Only entries on or before this date (YYYY-MM-DD).
    """
    return await commission.summary(
        call.session, call.actor, period_start=data.period_start, period_end=data.period_end
    )


@tool(scopes=READ_SCOPES)
async def explain_commission(call: ToolCall, data: ExplainInput) -> Explanation:
    """Explain one commission entry: the loan, the rule and version that produced it, and the
    arithmetic step by step (basis, percent, cap/floor, split, tax, clawback tier).

    Answer "why did I get $X" from this text; never work the numbers out yourself.

    Args:
        entry_id: The entry's id (from list_commission_entries).
    """
    return await commission.explain(call.session, call.actor, entry_id=data.entry_id)


@tool(scopes=READ_SCOPES)
async def list_commission_entries(call: ToolCall, data: ListEntriesInput) -> EntryList:
    """List commission ledger entries you may see, newest first.

    Args:
        loan_id: Only entries of this funded loan.
        kind: accrual, clawback, adjustment, reversal or payout.
        period_start: Only entries on or after this date.
        period_end: Only entries on or before this date.
        limit: How many to return (1-100).
        offset: How many to skip, for the next page.
    """
    return await commission.list_entries(
        call.session,
        call.actor,
        loan_id=data.loan_id,
        kind=data.kind,
        period_start=data.period_start,
        period_end=data.period_end,
        limit=data.limit,
        offset=data.offset,
    )


@tool(scopes=[Scope.COMMISSIONS_APPROVE], side_effect=True)
async def create_payout_batch(call: ToolCall, data: BatchCreate) -> BatchRead:
    """Draft a payout batch: every payee's unpaid commission up to the cut-off date, when it
    nets at least the minimum. Another platform administrator must approve it.

    Args:
        cutoff_on: Include entries dated on or before this day (YYYY-MM-DD).
        currency: Three-letter currency code, e.g. USD.
        minimum_amount: Payees owed less than this wait for a later batch.
    """
    return await commission.create_batch(call.session, call.actor, data=data)


@tool(scopes=[Scope.COMMISSIONS_APPROVE], side_effect=True, requires_approval=True)
async def approve_payout_batch(call: ToolCall, data: BatchRef) -> BatchRead:
    """Approve a draft payout batch (maker-checker: not the administrator who created it).

    Irreversible: an approved batch is exported for payment, so a person approves first.

    Args:
        batch_id: The draft batch to approve.
    """
    return await commission.approve_batch(call.session, call.actor, batch_id=data.batch_id)


@tool(scopes=[Scope.COMMISSIONS_APPROVE], side_effect=True)
async def import_lender_statement(call: ToolCall, data: StatementImport) -> ReconciliationRead:
    """Import a lender's commission statement (CSV) and reconcile it with the ledger: each line
    becomes match, underpaid, overpaid, unexpected or needs_review, and every expected loan the
    lender left out a missing_expected line.

    Args:
        lender_id: The lender whose statement it is.
        period_start: The statement's first day.
        period_end: The statement's last day.
        currency: Three-letter currency code of the amounts.
        filename: The file's name, for the record.
        csv_text: The CSV with columns loan_reference, borrower_name, funding_date, amount.
    """
    return await reconciliation.import_statement(call.session, call.actor, data=data)


COMMISSION_TOOLS: list[Tool[Any, Any]] = [
    get_commission_summary,
    explain_commission,
    list_commission_entries,
    create_payout_batch,
    approve_payout_batch,
    import_lender_statement,
]
