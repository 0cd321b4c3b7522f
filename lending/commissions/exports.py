"""Payout batch exports: one CSV for the bank run and a PDF statement per payee (reportlab),
listing the loan behind every amount (a recipient-created tax invoice where GST applies)."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from reportlab.lib import colors  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A4, landscape  # type: ignore[import-untyped]
from reportlab.lib.styles import getSampleStyleSheet  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle  # type: ignore[import-untyped]

from lending.models.commissions import PayoutBatch

CSV_COLUMNS = (
    "batch_id",
    "payee_kind",
    "payee_id",
    "payee_name",
    "currency",
    "amount",
    "entries",
    "cutoff_on",
)


def batch_csv(batch: PayoutBatch, payees: Sequence[Any]) -> str:
    """One line per payee: what to pay them."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in payees:
        writer.writerow(
            (
                batch.id,
                row.payee_kind,
                row.payee_id,
                row.payee_name or row.payee_id,
                batch.currency,
                f"{row.amount:.2f}",
                row.entries,
                batch.cutoff_on.isoformat(),
            )
        )
    return out.getvalue()


def payee_statement_pdf(
    batch: PayoutBatch, payee: Any, items: Sequence[Any], *, issuer: str = "Omnifin"
) -> bytes:
    """The payee's statement for this batch: every entry paid, with its loan and rule."""
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"Commission statement {batch.id}",
        author=issuer,
    )
    styles = getSampleStyleSheet()
    story: list[Any] = [
        Paragraph(f"{issuer} — commission statement", styles["Title"]),
        Paragraph(f"Payee: {_escape(str(payee.payee_name or payee.payee_id))}", styles["Normal"]),
        Paragraph(
            f"Payout batch {batch.id} · cut-off {batch.cutoff_on} · status {batch.status.value}"
            + (
                f" · payment reference {_escape(batch.payment_reference)}"
                if batch.payment_reference
                else ""
            ),
            styles["Normal"],
        ),
        Spacer(1, 6 * mm),
    ]
    header = ["Date", "Loan", "Borrower", "Kind", "Rule", "Amount", "Tax", "Total"]
    rows: list[list[str]] = [header]
    total = Decimal(0)
    for item in items:
        entry = item[1]
        total += entry.total_amount
        rows.append(
            [
                entry.effective_on.isoformat(),
                item.reference or "—",
                (item.borrower_name or "—")[:40],
                f"{entry.kind.value} {entry.component.value}",
                (item.rule if entry.rule_id else "—")[:40],
                f"{entry.amount:,.2f}",
                f"{entry.tax_amount:,.2f}",
                f"{entry.total_amount:,.2f}",
            ]
        )
    rows.append(["", "", "", "", "Total", "", "", f"{total:,.2f} {batch.currency}"])
    table = Table(rows, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold"),
                ("FONTSIZE", (0, 0), (-1, -1), 8),
                ("ALIGN", (5, 0), (-1, -1), "RIGHT"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
                ("LINEABOVE", (0, -1), (-1, -1), 0.5, colors.black),
            ]
        )
    )
    story.append(table)
    document.build(story)
    return buffer.getvalue()


def items_of(items: Sequence[Any], payee_id: uuid.UUID) -> list[Any]:
    return [item for item in items if item.payee_id == payee_id]


def _escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
