"""Fraud and quality signals: checks a reviewer would make, run on every analysed document.

Each signal names the field, what was expected, what the document shows, a severity and a
sentence for the reviewer. Signals are evidence for a person to weigh, never a decision.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta
from decimal import Decimal

from lending.documents.extraction.parsing import names_match
from lending.documents.extraction.reading import parse_pdf_date
from lending.documents.extraction.schemas import (
    ApplicantFacts,
    ExtractedField,
    FraudSignal,
    PdfMetadata,
    Severity,
    Transaction,
)
from lending.documents.types import DocumentType

STALE_AFTER_MONTHS = 4
# A PDF saved again this long after it was created was edited afterwards (producers stamp both
# dates at once, some a few seconds apart).
MODIFICATION_TOLERANCE = timedelta(minutes=10)
# YTD gross outside this share of gross x periods paid this year is inconsistent: overtime,
# bonuses and raises move it some, an invented pay stub moves it a lot.
YTD_LOW, YTD_HIGH = Decimal("0.6"), Decimal("1.5")

# Software that edits PDFs or images, by severity of what its presence suggests.
_EDITOR_PATTERNS: list[tuple[str, Severity, str]] = [
    (
        r"photoshop|gimp|illustrator|paint\.net|pixelmator|affinity\s+(?:photo|designer)|canva|inkscape",
        "high",
        "an image editor",
    ),
    (
        r"pdfescape|sejda|smallpdf|ilovepdf|pdf-?xchange\s+editor|foxit\s+(?:phantom|pdf\s+editor)|"
        r"nitro\s*pro|pdfelement|pdf\s*filler|dochub|pdf\s+candy|soda\s*pdf|master\s*pdf\s+editor",
        "medium",
        "a PDF editor",
    ),
    (
        r"microsoft.{0,10}word|libreoffice|openoffice|google\s+docs|\bpages\b|acrobat\s+pro",
        "low",
        "a word processor or general PDF tool",
    ),
]
_EDITORS = [
    (re.compile(p, re.IGNORECASE), severity, kind) for p, severity, kind in _EDITOR_PATTERNS
]
_INSTRUCTIONS = re.compile(
    r"ignore\s+(?:all\s+)?(?:previous|prior|above)\s+instructions|disregard\s+(?:all\s+)?(?:previous|prior)"
    r"|approve\s+(?:this|the|my)\s+(?:loan|application)|system\s+prompt|you\s+are\s+(?:an?\s+)?(?:ai|assistant|language\s+model)",
    re.IGNORECASE,
)
_NAME_FIELDS = {
    DocumentType.PAY_STUB: "employee_name",
    DocumentType.BANK_STATEMENT: "account_holder",
    DocumentType.W2: "employee_name",
    DocumentType.IDENTIFICATION: "full_name",
}


def months_before(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def detect(
    *,
    document_type: DocumentType | None,
    fields: dict[str, ExtractedField],
    transactions: list[Transaction],
    metadata: PdfMetadata | None,
    applicant: ApplicantFacts,
    today: date,
    text: str,
    complete: bool = True,
) -> list[FraudSignal]:
    """The signals for one document. `complete` is False when some pages were not read: the
    checks that sum over all transactions are then skipped."""
    signals: list[FraudSignal] = []
    signals += _metadata(metadata)
    signals += _instructions(text)
    if document_type is None:
        return signals
    signals += _identity(document_type, fields, applicant)
    signals += _dates(document_type, fields, today)
    if document_type == DocumentType.PAY_STUB:
        signals += _pay_stub(fields)
    if document_type == DocumentType.BANK_STATEMENT and complete:
        signals += _balances(fields, transactions)
    return signals


def _metadata(metadata: PdfMetadata | None) -> list[FraudSignal]:
    if metadata is None:
        return []
    out: list[FraudSignal] = []
    for name, value in (("producer", metadata.producer), ("creator", metadata.creator)):
        if not value:
            continue
        for pattern, severity, kind in _EDITORS:
            if pattern.search(value):
                out.append(
                    FraudSignal(
                        code="editing_software",
                        field=f"metadata.{name}",
                        expected=None,
                        actual=value,
                        severity=severity,
                        description=f"The PDF's {name} is {value!r}, {kind}: the file was produced or "
                        "saved by software that can change its content.",
                    )
                )
                break
    created, modified = parse_pdf_date(metadata.created_at), parse_pdf_date(metadata.modified_at)
    if created and modified and modified - created > MODIFICATION_TOLERANCE:
        out.append(
            FraudSignal(
                code="modified_after_creation",
                field="metadata.modified_at",
                expected=metadata.created_at,
                actual=metadata.modified_at,
                severity="medium",
                description=f"The PDF was modified {_duration(modified - created)} after it was "
                "created; statements and pay stubs are normally issued once and not edited.",
            )
        )
    return out


def _duration(delta: timedelta) -> str:
    if delta.days >= 1:
        return f"{delta.days} day{'s' if delta.days != 1 else ''}"
    hours = delta.seconds // 3600
    return f"{hours} hour{'s' if hours != 1 else ''}" if hours else f"{delta.seconds // 60} minutes"


def _instructions(text: str) -> list[FraudSignal]:
    found = _INSTRUCTIONS.search(text)
    if found is None:
        return []
    return [
        FraudSignal(
            code="embedded_instructions",
            field=None,
            expected=None,
            actual=found.group(),
            severity="high",
            description="The document's text addresses an automated reviewer "
            f"({found.group()!r}); genuine documents never do. Its text was treated as data only.",
        )
    ]


def _identity(
    document_type: DocumentType, fields: dict[str, ExtractedField], applicant: ApplicantFacts
) -> list[FraudSignal]:
    out: list[FraudSignal] = []
    name_field = _NAME_FIELDS.get(document_type)
    shown = fields.get(name_field) if name_field else None
    if applicant.full_name and shown is not None and isinstance(shown.value, str):
        if not names_match(applicant.full_name, shown.value):
            out.append(
                FraudSignal(
                    code="name_mismatch",
                    field=name_field,
                    expected=applicant.full_name,
                    actual=shown.value,
                    severity="high",
                    description=f"The document is in the name of {shown.value!r}, not the applicant "
                    f"{applicant.full_name!r}.",
                )
            )
    dob = fields.get("date_of_birth")
    if (
        document_type == DocumentType.IDENTIFICATION
        and applicant.date_of_birth
        and dob
        and isinstance(dob.value, date)
        and dob.value != applicant.date_of_birth
    ):
        out.append(
            FraudSignal(
                code="date_of_birth_mismatch",
                field="date_of_birth",
                expected=applicant.date_of_birth.isoformat(),
                actual=dob.value.isoformat(),
                severity="high",
                description="The date of birth on the ID differs from the application's.",
            )
        )
    return out


def _document_date(
    document_type: DocumentType, fields: dict[str, ExtractedField]
) -> tuple[str, date] | None:
    key = {DocumentType.PAY_STUB: "pay_date", DocumentType.BANK_STATEMENT: "period_end"}.get(
        document_type
    )
    if key is None:
        return None
    found = fields.get(key)
    if found is None and document_type == DocumentType.PAY_STUB:
        key, found = "pay_period_end", fields.get("pay_period_end")
    if found is None or not isinstance(found.value, date):
        return None
    return key, found.value


def _dates(
    document_type: DocumentType, fields: dict[str, ExtractedField], today: date
) -> list[FraudSignal]:
    out: list[FraudSignal] = []
    dated = _document_date(document_type, fields)
    if dated is not None:
        key, day = dated
        limit = months_before(today, STALE_AFTER_MONTHS)
        if day < limit:
            out.append(
                FraudSignal(
                    code="stale_document",
                    field=key,
                    expected=f">= {limit.isoformat()}",
                    actual=day.isoformat(),
                    severity="medium",
                    description=f"The document is dated {day.isoformat()}, more than "
                    f"{STALE_AFTER_MONTHS} months before {today.isoformat()}; ask for a recent one.",
                )
            )
        elif day > today:
            out.append(
                FraudSignal(
                    code="future_dated",
                    field=key,
                    expected=f"<= {today.isoformat()}",
                    actual=day.isoformat(),
                    severity="high",
                    description=f"The document is dated {day.isoformat()}, after today.",
                )
            )
    expiry = fields.get("expiry_date")
    if document_type == DocumentType.IDENTIFICATION and expiry and isinstance(expiry.value, date):
        if expiry.value < today:
            out.append(
                FraudSignal(
                    code="id_expired",
                    field="expiry_date",
                    expected=f">= {today.isoformat()}",
                    actual=expiry.value.isoformat(),
                    severity="high",
                    description=f"The ID expired on {expiry.value.isoformat()}.",
                )
            )
    return out


def _money(fields: dict[str, ExtractedField], name: str) -> Decimal | None:
    found = fields.get(name)
    return found.value if found is not None and isinstance(found.value, Decimal) else None


def _date(fields: dict[str, ExtractedField], name: str) -> date | None:
    found = fields.get(name)
    return found.value if found is not None and isinstance(found.value, date) else None


def pay_periods(start: date, end: date) -> tuple[str, int] | None:
    """(frequency, days) of a pay period, or None when the dates fit no usual schedule."""
    days = (end - start).days + 1
    last_day = calendar.monthrange(end.year, end.month)[1]
    if (
        start.day in (1, 16)
        and end.day in (15, last_day)
        and start.month == end.month
        and days < 20
    ):
        return "semimonthly", days
    if days == 7:
        return "weekly", 7
    if days == 14:
        return "biweekly", 14
    if start.day == 1 and end.day == last_day and start.month == end.month:
        return "monthly", days
    return None


def periods_paid(frequency: str, days: int, pay_date: date) -> int:
    """How many pay dates of this schedule fall in the year up to and including `pay_date`."""
    if frequency == "semimonthly":
        return 2 * (pay_date.month - 1) + (1 if pay_date.day <= 15 else 2)
    if frequency == "monthly":
        return pay_date.month
    return (pay_date.timetuple().tm_yday - 1) // days + 1


def _pay_stub(fields: dict[str, ExtractedField]) -> list[FraudSignal]:
    out: list[FraudSignal] = []
    gross, ytd = _money(fields, "gross_pay"), _money(fields, "ytd_gross")
    net, deductions = _money(fields, "net_pay"), _money(fields, "deductions")
    start, end, paid = (
        _date(fields, "pay_period_start"),
        _date(fields, "pay_period_end"),
        _date(fields, "pay_date"),
    )
    if (
        gross is not None
        and net is not None
        and deductions is not None
        and gross - deductions != net
    ):
        out.append(
            FraudSignal(
                code="net_pay_inconsistent",
                field="net_pay",
                expected=str(gross - deductions),
                actual=str(net),
                severity="medium",
                description=f"Gross pay {gross:,.2f} minus deductions {deductions:,.2f} is "
                f"{gross - deductions:,.2f}, but the net pay shown is {net:,.2f}.",
            )
        )
    if gross is None or ytd is None or gross <= 0:
        return out
    if ytd < gross:
        out.append(
            FraudSignal(
                code="ytd_inconsistent",
                field="ytd_gross",
                expected=f">= {gross}",
                actual=str(ytd),
                severity="high",
                description=f"Year-to-date gross {ytd:,.2f} is less than this period's gross pay "
                f"{gross:,.2f}, which is impossible.",
            )
        )
        return out
    schedule = pay_periods(start, end) if start and end else None
    pay_day = paid or end
    if schedule is None or pay_day is None:
        return out
    frequency, days = schedule
    periods = periods_paid(frequency, days, pay_day)
    expected = gross * periods
    ratio = ytd / expected
    if not YTD_LOW <= ratio <= YTD_HIGH:
        out.append(
            FraudSignal(
                code="ytd_inconsistent",
                field="ytd_gross",
                expected=str(expected),
                actual=str(ytd),
                severity="medium",
                description=f"Year-to-date gross {ytd:,.2f} is {ratio:.0%} of gross pay {gross:,.2f} "
                f"x {periods} {frequency} periods paid by {pay_day.isoformat()} ({expected:,.2f}). "
                "A mid-year start explains a low figure; an inflated current gross explains it too.",
            )
        )
    return out


def _balances(
    fields: dict[str, ExtractedField], transactions: list[Transaction]
) -> list[FraudSignal]:
    out: list[FraudSignal] = []
    if not transactions:
        return out
    opening, closing = _money(fields, "opening_balance"), _money(fields, "closing_balance")
    total = sum((t.amount for t in transactions), Decimal(0))
    if opening is not None and closing is not None and opening + total != closing:
        out.append(
            FraudSignal(
                code="balance_mismatch",
                field="closing_balance",
                expected=str(opening + total),
                actual=str(closing),
                severity="high",
                description=f"Opening balance {opening:,.2f} plus the {len(transactions)} "
                f"transactions ({total:+,.2f}) gives {opening + total:,.2f}, but the closing "
                f"balance shown is {closing:,.2f}.",
            )
        )
    previous = opening
    for t in transactions:
        if t.balance is None:
            previous = None
            continue
        if previous is not None and previous + t.amount != t.balance:
            out.append(
                FraudSignal(
                    code="running_balance_mismatch",
                    field="transactions",
                    expected=str(previous + t.amount),
                    actual=str(t.balance),
                    severity="high",
                    description=f"After {t.description!r} on {t.posted_on.isoformat()} "
                    f"({t.amount:+,.2f}) the balance should be {previous + t.amount:,.2f}, but "
                    f"{t.balance:,.2f} is printed.",
                )
            )
            break
        previous = t.balance
    deposits = _money(fields, "total_deposits")
    credits = sum((t.amount for t in transactions if t.amount > 0), Decimal(0))
    if deposits is not None and deposits != credits:
        out.append(
            FraudSignal(
                code="deposits_mismatch",
                field="total_deposits",
                expected=str(credits),
                actual=str(deposits),
                severity="medium",
                description=f"The deposits listed add up to {credits:,.2f}, but total deposits "
                f"shown are {deposits:,.2f}.",
            )
        )
    return out
