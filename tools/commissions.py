"""The commission tools: balances, explanations and entries for whoever may see them (a broker
their own, a broker manager their firm's, the platform all), payout batches and lender
statement imports for platform administrators. Thin wrappers over lending.commissions."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from lending.commissions.entries import commission_entry_service
from lending.commissions.payout_batches import payout_batch_service
from lending.commissions.reconciliation import reconciliation_service
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
from lending.db import MAX_OFFSET
from lending.identity.scopes import Scope
from lending.lenders.service import lender_service
from lending.models.commissions import EntryKind
from tools.approvals import Confirmation, money, quoted
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
    offset: Annotated[int, Field(ge=0, le=MAX_OFFSET)] = 0


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
    return await commission_entry_service.summary(
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
    return await commission_entry_service.explain(call.session, call.actor, entry_id=data.entry_id)


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
    return await commission_entry_service.list_entries(
        call.session,
        call.actor,
        loan_id=data.loan_id,
        kind=data.kind,
        period_start=data.period_start,
        period_end=data.period_end,
        limit=data.limit,
        offset=data.offset,
    )


async def _confirm_create_batch(call: ToolCall, data: BatchCreate) -> Confirmation:
    minimum = f"{data.minimum_amount:,.2f} {data.currency}"
    return Confirmation(
        en=f"I'm about to draft a payout batch of every payee's unpaid commission dated on or "
        f"before {data.cutoff_on.isoformat()}, in {data.currency}, for payees owed at least "
        f"{minimum}. Those entries are then held for this batch until another administrator "
        "approves or it fails. Shall I draft it? (yes or no)",
        zh=f"我将为截至 {data.cutoff_on.isoformat()}（含）所有未支付的佣金起草一个付款批次"
        f"（币种 {data.currency}，欠款不少于 {minimum} 的收款人）。这些条目将保留给该批次，"
        "直至另一位管理员批准或批次失败。要起草吗？（是或否）",
        details={"cutoff_on": data.cutoff_on.isoformat(), "currency": data.currency},
    )


@tool(
    scopes=[Scope.COMMISSIONS_APPROVE],
    side_effect=True,
    requires_approval=True,
    confirm=_confirm_create_batch,
)
async def create_payout_batch(call: ToolCall, data: BatchCreate) -> BatchRead:
    """Draft a payout batch: every payee's unpaid commission up to the cut-off date, when it
    nets at least the minimum. Another platform administrator must approve it.

    Args:
        cutoff_on: Include entries dated on or before this day (YYYY-MM-DD).
        currency: Three-letter currency code, e.g. USD.
        minimum_amount: Payees owed less than this wait for a later batch.
    """
    return await payout_batch_service.create_batch(call.session, call.actor, data=data)


async def _confirm_approve_batch(call: ToolCall, data: BatchRef) -> Confirmation:
    batch = await payout_batch_service.get_batch(call.session, call.actor, batch_id=data.batch_id)
    total = f"{batch.total_amount:,.2f} {batch.currency}"
    if batch.currency == "USD":
        total = money(batch.total_amount)
    return Confirmation(
        en=f"I'm about to approve the payout batch cut off on {batch.cutoff_on.isoformat()}: "
        f"{total} to {batch.payee_count} payee(s). Once approved it is exported for payment "
        "and cannot be undone. Shall I approve it? (yes or no)",
        zh=f"我将批准截至 {batch.cutoff_on.isoformat()} 的付款批次：向 {batch.payee_count} 位收款人"
        f"支付共 {total}。批准后将导出付款，无法撤销。要批准吗？（是或否）",
        details={
            "cutoff_on": batch.cutoff_on.isoformat(),
            "total": str(batch.total_amount),
            "currency": batch.currency,
            "payees": batch.payee_count,
        },
    )


@tool(
    scopes=[Scope.COMMISSIONS_APPROVE],
    side_effect=True,
    requires_approval=True,
    confirm=_confirm_approve_batch,
)
async def approve_payout_batch(call: ToolCall, data: BatchRef) -> BatchRead:
    """Approve a draft payout batch (maker-checker: not the administrator who created it).

    Irreversible: an approved batch is exported for payment, so a person approves first.

    Args:
        batch_id: The draft batch to approve.
    """
    return await payout_batch_service.approve_batch(
        call.session, call.actor, batch_id=data.batch_id
    )


async def _confirm_import(call: ToolCall, data: StatementImport) -> Confirmation:
    names = await lender_service.names(call.session, [data.lender_id])
    lender = names.get(data.lender_id, "the lender")
    lines = max(0, len([line for line in data.csv_text.splitlines() if line.strip()]) - 1)
    period = f"{data.period_start.isoformat()} to {data.period_end.isoformat()}"
    name = f" {quoted(data.filename)}" if data.filename else ""
    return Confirmation(
        en=f"I'm about to import {lender}'s commission statement{name} for {period} "
        f"({lines} line(s), {data.currency}) and reconcile it with the ledger. The import is "
        "kept on record. Shall I import it? (yes or no)",
        zh=f"我将导入{lender}的佣金对账单{name}（{period}，{lines} 行，币种 {data.currency}），"
        "并与账本核对。导入记录将被保留。要导入吗？（是或否）",
        details={"lender": lender, "period": period, "lines": lines},
    )


@tool(
    scopes=[Scope.COMMISSIONS_APPROVE],
    side_effect=True,
    requires_approval=True,
    confirm=_confirm_import,
)
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
    return await reconciliation_service.import_statement(call.session, call.actor, data=data)


COMMISSION_TOOLS: list[Tool[Any, Any]] = [
    get_commission_summary,
    explain_commission,
    list_commission_entries,
    create_payout_batch,
    approve_payout_batch,
    import_lender_statement,
]
