"""Deterministic extractors: typed fields read from the text by their printed labels.

Each extractor walks the text line by line, finds a field's label and reads the value after it
on the same line (confidence 0.95) or on the next line (0.85, forms like the W-2 print the label
above the value); a value guessed without a label gets 0.6. For OCR text the confidence is
multiplied by tesseract's length-weighted mean word confidence inside the value's span.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import product
from typing import Any

from lending.documents.extraction.parsing import (
    Match,
    collapse,
    dates_in,
    integers_in,
    money_in,
)
from lending.documents.extraction.schemas import Transaction
from lending.documents.types import DocumentType

SAME_LINE = 0.95
NEXT_LINE = 0.85
GUESS = 0.6
# Rows between two printed balances whose signs are solved together (2^n combinations).
_MAX_UNBALANCED_ROWS = 4


@dataclass(frozen=True)
class Found:
    """A value, the span it was read from, and how sure the extractor is before OCR."""

    value: Any
    span: tuple[int, int] | None
    confidence: float


@dataclass(frozen=True)
class Line:
    start: int
    text: str


def lines_of(text: str) -> list[Line]:
    out: list[Line] = []
    position = 0
    for raw in text.split("\n"):
        out.append(Line(position, raw))
        position += len(raw) + 1
    return out


def _label(patterns: str) -> re.Pattern[str]:
    return re.compile(patterns, re.IGNORECASE)


def _after(lines: list[Line], label: re.Pattern[str]) -> Iterator[tuple[int, Line, int]]:
    """(line index, line, offset in the line just after the label) for every labelled line."""
    for index, line in enumerate(lines):
        m = label.search(line.text)
        if m:
            end = m.end()
            while end < len(line.text) and line.text[end] in " :#.\t":
                end += 1
            yield index, line, end


def _column(line: Line, offset: int) -> tuple[str, int] | None:
    """The text from `offset` to the next column gap (two spaces), and its start in the text."""
    rest = line.text[offset:]
    stripped = rest.lstrip(" :")
    if not stripped:
        return None
    lead = len(rest) - len(stripped)
    cell = re.split(r"\s{2,}", stripped, maxsplit=1)[0].rstrip(" ,;")
    if not cell:
        return None
    return cell, line.start + offset + lead


def text_after(
    lines: list[Line],
    label: str,
    *,
    next_line: bool = True,
    accept: Callable[[str], bool] | None = None,
) -> Found | None:
    pattern = _label(label)
    for index, line, offset in _after(lines, pattern):
        cell = _column(line, offset)
        if cell and (accept is None or accept(cell[0])):
            return Found(collapse(cell[0]), (cell[1], cell[1] + len(cell[0])), SAME_LINE)
        if next_line and not cell and index + 1 < len(lines):
            below = _column(lines[index + 1], 0)
            if below and (accept is None or accept(below[0])):
                return Found(collapse(below[0]), (below[1], below[1] + len(below[0])), NEXT_LINE)
    return None


def _values_after(
    lines: list[Line],
    label: str,
    finder: Callable[[str, int], Iterator[Match]],
    *,
    next_line: bool = True,
) -> tuple[list[Match], float] | None:
    pattern = _label(label)
    for index, line, offset in _after(lines, pattern):
        found = list(finder(line.text[offset:], line.start + offset))
        if found:
            return found, SAME_LINE
        if next_line and index + 1 < len(lines) and not line.text[offset:].strip():
            below = lines[index + 1]
            found = list(finder(below.text, below.start))
            if found:
                return found, NEXT_LINE
    return None


def value_after(
    lines: list[Line],
    label: str,
    finder: Callable[[str, int], Iterator[Match]],
    position: int = 0,
    *,
    next_line: bool = True,
) -> Found | None:
    result = _values_after(lines, label, finder, next_line=next_line)
    if result is None or len(result[0]) <= position:
        return None
    match = result[0][position]
    return Found(match.value, (match.start, match.end), result[1])


def cells(line: Line) -> list[tuple[int, str]]:
    """A row's cells (runs of text separated by two or more spaces), with their start offsets."""
    return [(line.start + m.start(), m.group()) for m in re.finditer(r"\S+(?: \S+)*", line.text)]


def cell_below(lines: list[Line], label: str) -> tuple[tuple[int, str], float] | None:
    """On forms laid out as a grid (the W-2), the cell under the labelled cell: the row below
    must have as many cells as the label's row, so that columns line up."""
    pattern = _label(label)
    for index, line in enumerate(lines[:-1]):
        row = cells(line)
        for position, (_, text) in enumerate(row):
            if pattern.search(text):
                below = cells(lines[index + 1])
                if len(row) > 1 and len(below) == len(row):
                    return below[position], NEXT_LINE
    return None


def _is_name(text: str) -> bool:
    words = text.split()
    return 2 <= len(words) <= 6 and not any(ch.isdigit() for ch in text)


def _first_line_cell(lines: list[Line], accept: Callable[[str], bool]) -> Found | None:
    for line in lines[:4]:
        cell = _column(line, 0)
        if cell and accept(cell[0]):
            return Found(collapse(cell[0]), (cell[1], cell[1] + len(cell[0])), GUESS)
    return None


# --- pay stub -------------------------------------------------------------------------------


def pay_stub(text: str) -> dict[str, Found]:
    lines = lines_of(text)
    out: dict[str, Found | None] = {}
    out["employer"] = text_after(
        lines, r"\b(?:employer|company)(?:\s+name)?\s*:"
    ) or _first_line_cell(
        lines,
        lambda c: (
            not re.search(r"statement|pay\s*stub|earnings", c, re.I)
            and not any(ch.isdigit() for ch in c)
        ),
    )
    out["employee_name"] = text_after(
        lines,
        r"\b(?:employee(?:\s+name)?|name|pay\s+to(?:\s+the\s+order\s+of)?)\s*:",
        accept=_is_name,
    )
    period = _values_after(lines, r"\bpay\s+period(?:\s+dates?)?\b", dates_in)
    if period and len(period[0]) >= 2:
        start, end = period[0][0], period[0][1]
        out["pay_period_start"] = Found(start.value, (start.start, start.end), period[1])
        out["pay_period_end"] = Found(end.value, (end.start, end.end), period[1])
    else:
        out["pay_period_start"] = value_after(
            lines, r"\bperiod\s+(?:start|begin)(?:ning|s)?(?:\s+date)?\b", dates_in
        )
        out["pay_period_end"] = value_after(
            lines, r"\bperiod\s+end(?:ing|s)?(?:\s+date)?\b", dates_in
        )
    out["pay_date"] = value_after(
        lines, r"\b(?:pay|check|payment|advice|deposit)\s+date\b", dates_in
    )
    gross_label = r"\b(?:total\s+)?gross(?:\s+(?:pay|earnings|wages))?\b(?!\s+ytd)"
    out["gross_pay"] = value_after(lines, gross_label, money_in)
    out["ytd_gross"] = value_after(
        lines,
        r"\b(?:ytd\s+gross|gross\s+ytd|year[\s-]to[\s-]date\s+gross)(?:\s+(?:pay|earnings))?\b",
        money_in,
    )
    if out["ytd_gross"] is None:
        second = value_after(lines, gross_label, money_in, position=1)
        if second is not None:
            # The gross pay row's second amount sits in the year-to-date column.
            out["ytd_gross"] = Found(second.value, second.span, second.confidence - 0.05)
    out["net_pay"] = value_after(lines, r"\bnet\s+(?:pay|amount|check|earnings)\b", money_in)
    out["deductions"] = value_after(
        lines, r"\btotal\s+deductions?\b|\bdeductions?\s+total\b", money_in
    )
    return {name: found for name, found in out.items() if found is not None}


# --- bank statement ----------------------------------------------------------------------------

_TRANSACTION = re.compile(
    r"^\s*(?P<date>\d{1,2}/\d{1,2}(?:/\d{2,4})?)\s+(?P<desc>.+?)\s{2,}(?P<amounts>.*)$"
)
_NSF_WORDS = re.compile(r"\bNSF\b|\bOVERDRAFT\b|RETURNED\s+ITEM|INSUFFICIENT\s+FUNDS", re.I)


def bank_statement(text: str) -> tuple[dict[str, Found], list[Transaction]]:
    lines = lines_of(text)
    out: dict[str, Found | None] = {}
    out["bank"] = text_after(lines, r"\bbank(?:\s+name)?\s*:") or _first_line_cell(
        lines,
        lambda c: bool(re.search(r"\b(?:bank|credit\s+union|savings|trust|bancorp)\b", c, re.I)),
    )
    out["account_holder"] = text_after(
        lines,
        r"\b(?:account\s+(?:holder|name|owner)s?|customer(?:\s+name)?|primary\s+owner)\s*:",
        accept=_is_name,
    )
    out["account_last4"] = _last_four(lines)
    period = _values_after(lines, r"\b(?:statement\s+period|for\s+the\s+period|period)\b", dates_in)
    if period and len(period[0]) >= 2:
        start, end = period[0][0], period[0][1]
        out["period_start"] = Found(start.value, (start.start, start.end), period[1])
        out["period_end"] = Found(end.value, (end.start, end.end), period[1])
    out["opening_balance"] = value_after(
        lines, r"\b(?:opening|beginning|starting|previous)\s+balance\b", money_in
    )
    out["closing_balance"] = value_after(lines, r"\b(?:closing|ending|new)\s+balance\b", money_in)
    out["total_deposits"] = value_after(
        lines,
        r"\btotal\s+(?:deposits|credits)\b|\bdeposits\s+(?:and|&)\s+(?:other\s+)?credits\b",
        money_in,
    )
    period_end, period_start = out.get("period_end"), out.get("period_start")
    opening = out.get("opening_balance")
    transactions = _transactions(
        lines,
        period_end.value.year if period_end else None,
        period_start.value if period_start else None,
        opening.value if opening else None,
    )
    nsf = value_after(
        lines,
        r"\b(?:overdraft|nsf)(?:\s*/\s*(?:nsf|overdraft))?(?:\s+(?:items?|count|fees?))?\b",
        integers_in,
    )
    if nsf is None and transactions:
        count = sum(1 for t in transactions if _NSF_WORDS.search(t.description))
        nsf = Found(count, None, GUESS)
    out["nsf_count"] = nsf
    return {name: found for name, found in out.items() if found is not None}, transactions


def _last_four(lines: list[Line]) -> Found | None:
    label = _label(r"\baccount\s+(?:number|no\.?|#)|\baccount\s+ending\s+in\b|\bending\s+in\b")
    for _, line, offset in _after(lines, label):
        cell = _column(line, offset)
        if cell is None:
            continue
        digits = [m for m in re.finditer(r"\d", cell[0])]
        if len(digits) >= 4:
            first = digits[-4]
            start = cell[1] + first.start()
            value = "".join(d.group() for d in digits[-4:])
            return Found(value, (start, cell[1] + digits[-1].end()), SAME_LINE)
    return None


def _transactions(
    lines: list[Line], year: int | None, period_start: date | None, opening: Decimal | None
) -> list[Transaction]:
    out: list[Transaction] = []
    for line in lines:
        m = _TRANSACTION.match(line.text)
        if m is None:
            continue
        amounts = list(money_in(m.group("amounts"), line.start + m.start("amounts")))
        if not amounts or len(amounts) > 2:
            continue
        posted = next(iter(dates_in(m.group("date"))), None)
        if posted is None and year is not None:
            month, day = (int(p) for p in m.group("date").split("/")[:2])
            try:
                candidate = date(year, month, day)
            except ValueError:
                continue
            if (
                period_start
                and candidate < period_start.replace(day=1)
                and period_start.month == 12
            ):
                candidate = candidate.replace(year=year - 1)
            posted = Match(candidate, 0, 0)
        if posted is None:
            continue
        out.append(
            Transaction(
                posted_on=posted.value,  # type: ignore[arg-type]
                description=collapse(m.group("desc")),
                amount=amounts[0].value,  # type: ignore[arg-type]
                balance=amounts[1].value if len(amounts) == 2 else None,  # type: ignore[arg-type]
                span=(line.start, line.start + len(line.text)),
            )
        )
    return _signs_from_balances(out, opening)


def _signs_from_balances(
    transactions: list[Transaction], opening: Decimal | None
) -> list[Transaction]:
    """Signs from the running balance. A statement with separate, unsigned withdrawal and
    deposit columns loses the column in text, and OCR drops minus signs; where a balance is
    printed, the signs that make the amounts since the last printed balance add up to its
    change are taken (up to a few rows without a readable balance in between). Amounts are
    never changed, only signs, and only when the balances then agree."""
    fixed = list(transactions)
    previous = opening
    pending: list[int] = []
    for index, t in enumerate(fixed):
        pending.append(index)
        if t.balance is None:
            continue
        if previous is not None and len(pending) <= _MAX_UNBALANCED_ROWS:
            change = t.balance - previous
            amounts = [fixed[j].amount for j in pending]
            if sum(amounts) != change:
                for signs in product((1, -1), repeat=len(amounts)):
                    if sum(sign * abs(a) for sign, a in zip(signs, amounts, strict=True)) == change:
                        for j, sign in zip(pending, signs, strict=True):
                            fixed[j] = fixed[j].model_copy(
                                update={"amount": sign * abs(fixed[j].amount)}
                            )
                        break
        previous = t.balance
        pending = []
    return fixed


# --- W-2 -----------------------------------------------------------------------------------


def w2(text: str) -> dict[str, Found]:
    lines = lines_of(text)
    out: dict[str, Found | None] = {}
    employer_label = r"\bemployer'?s\s+name\b"
    employer_cell = cell_below(lines, employer_label)
    out["employer"] = (
        Found(employer_cell[0][1], _span(employer_cell[0]), employer_cell[1])
        if employer_cell
        else _next_line_after(lines, employer_label)
    )
    out["employee_name"] = _next_line_after(
        lines, r"\bemployee'?s\s+(?:first\s+)?name\b", accept=_is_name
    )
    ein = None
    for line in lines:
        if re.search(r"identification\s+number|\bEIN\b", line.text, re.I):
            m = re.search(r"\b\d{2}-\d{7}\b", line.text)
            if m:
                ein = Found(m.group(), (line.start + m.start(), line.start + m.end()), SAME_LINE)
                break
    if ein is None:
        below = cell_below(lines, r"identification\s+number|\bEIN\b")
        if below and re.fullmatch(r"\d{2}-\d{7}", below[0][1]):
            ein = Found(below[0][1], _span(below[0]), below[1])
    if ein is None:
        m = re.search(r"\b\d{2}-\d{7}\b", text)
        ein = Found(m.group(), (m.start(), m.end()), GUESS) if m else None
    out["ein"] = ein
    wages_label = r"\bwages,?\s+tips,?\s+(?:and\s+)?other\s+comp\w*\b"
    out["wages"] = value_after(lines, wages_label, money_in)
    if out["wages"] is None and (below := cell_below(lines, wages_label)):
        amounts = list(money_in(below[0][1], below[0][0]))
        if len(amounts) == 1:
            out["wages"] = Found(amounts[0].value, (amounts[0].start, amounts[0].end), below[1])
    year = None
    for line in lines[:6]:
        if re.search(r"\bW-?2\b|wage\s+and\s+tax\s+statement", line.text, re.I):
            m = re.search(r"\b(?:19|20)\d{2}\b", re.sub(r"\bW-?2\b", "", line.text))
            if m:
                idx = line.text.find(m.group())
                year = Found(int(m.group()), (line.start + idx, line.start + idx + 4), SAME_LINE)
                break
    out["tax_year"] = year or value_after(lines, r"\btax\s+year\b", integers_in)
    return {name: found for name, found in out.items() if found is not None}


def _span(cell: tuple[int, str]) -> tuple[int, int]:
    return cell[0], cell[0] + len(cell[1])


def _next_line_after(
    lines: list[Line], label: str, accept: Callable[[str], bool] | None = None
) -> Found | None:
    pattern = _label(label)
    for index, line in enumerate(lines):
        if pattern.search(line.text) and index + 1 < len(lines):
            below = lines[index + 1]
            cell = _column(below, 0)
            if cell is None:
                continue
            # "Jane Q   Doe" under "first name and initial   Last name": both columns.
            value = collapse(below.text)
            if accept is not None and not accept(value):
                continue
            start = below.start + (len(below.text) - len(below.text.lstrip()))
            return Found(value, (start, below.start + len(below.text.rstrip())), NEXT_LINE)
    return None


# --- identification ----------------------------------------------------------------------------


def identification(text: str, *, ocr: bool = False) -> dict[str, Found]:
    lines = lines_of(text)
    out: dict[str, Found | None] = {}
    last = text_after(lines, r"^\s*(?:LN|last\s+name|surname)\b", next_line=False)
    first = text_after(lines, r"^\s*(?:FN|first\s+name|given\s+names?)\b", next_line=False)
    if first and last and first.span and last.span:
        out["full_name"] = Found(
            f"{first.value} {last.value}",
            (min(first.span[0], last.span[0]), max(first.span[1], last.span[1])),
            min(first.confidence, last.confidence),
        )
    else:
        out["full_name"] = text_after(lines, r"\b(?:full\s+)?name\s*:", accept=_is_name)
    out["date_of_birth"] = value_after(
        lines, r"\b(?:DOB|date\s+of\s+birth|birth\s*date)\b", dates_in
    )
    out["expiry_date"] = value_after(
        lines, r"\b(?:EXP|expires|expiry|expiration(?:\s+date)?|date\s+of\s+expiry)\b", dates_in
    )
    number = None
    label = _label(
        r"^\s*(?:(?:id|lic(?:ense|ence)?|document|passport|card)\s*(?:no\.?|number|#)|DLN?|ID)(?![\w])"
    )
    for _, line, offset in _after(lines, label):
        m = re.match(r"[A-Z0-9$][A-Z0-9-]{4,}", line.text[offset:])
        if m:
            value = m.group()
            confidence = SAME_LINE
            if ocr and value.startswith("$"):
                # tesseract reads a leading S as $ in some fonts; IDs never start with $.
                value, confidence = "S" + value[1:], SAME_LINE - 0.1
            start = line.start + offset
            number = Found(value, (start, start + len(m.group())), confidence)
            break
    out["document_number"] = number
    return {name: found for name, found in out.items() if found is not None}


def extract(
    document_type: DocumentType, text: str, *, ocr: bool = False
) -> tuple[dict[str, Found], list[Transaction]]:
    """The deterministic fields for `document_type` (none for types without an extractor)."""
    if document_type == DocumentType.PAY_STUB:
        return pay_stub(text), []
    if document_type == DocumentType.BANK_STATEMENT:
        return bank_statement(text)
    if document_type == DocumentType.W2:
        return w2(text), []
    if document_type == DocumentType.IDENTIFICATION:
        return identification(text, ocr=ocr), []
    return {}, []
