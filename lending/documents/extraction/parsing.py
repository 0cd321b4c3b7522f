"""Value parsers and locators shared by the extractors: money, dates, names, and where in the
text a given value is printed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from lending.calendar_names import MONTH_NAMES_PATTERN, MONTHS

_MONTH_NAMES = MONTH_NAMES_PATTERN
DATE = re.compile(
    r"(?<![\d/.-])(?:"
    r"(?P<m>\d{1,2})[/.-](?P<d>\d{1,2})[/.-](?P<y>\d{4}|\d{2})"
    r"|(?P<iy>\d{4})-(?P<im>\d{2})-(?P<id>\d{2})"
    rf"|(?P<tm>{_MONTH_NAMES})\.?\s+(?P<td>\d{{1,2}}),?\s+(?P<ty>\d{{4}})"
    rf"|(?P<ed>\d{{1,2}})\s+(?P<em>{_MONTH_NAMES})\.?,?\s+(?P<ey>\d{{4}})"
    r")(?![\d/])",
    re.IGNORECASE,
)
MONEY = re.compile(
    r"(?<![\w.,/-])(?P<open>\()?(?P<neg>-\s?)?[$]?\s?(?P<num>\d{1,3}(?:,\d{3})+|\d+)\.(?P<c>\d{2})(?P<close>\))?(?![\d/])"
)
INTEGER = re.compile(r"(?<![\w.,])\(?(\d{1,4})\)?(?![\w.,])")


@dataclass(frozen=True)
class Match:
    value: object
    start: int
    end: int


def dates_in(text: str, offset: int = 0) -> Iterator[Match]:
    for m in DATE.finditer(text):
        parsed = _date_of(m)
        if parsed is not None:
            yield Match(parsed, offset + m.start(), offset + m.end())


def _date_of(m: re.Match[str]) -> date | None:
    g = m.groupdict()
    try:
        if g["m"]:
            year = int(g["y"])
            if year < 100:
                year += 2000 if year < 70 else 1900
            return date(year, int(g["m"]), int(g["d"]))
        if g["iy"]:
            return date(int(g["iy"]), int(g["im"]), int(g["id"]))
        if g["tm"]:
            return date(int(g["ty"]), MONTHS[g["tm"].lower()], int(g["td"]))
        return date(int(g["ey"]), MONTHS[g["em"].lower()], int(g["ed"]))
    except ValueError:
        return None


def money_in(text: str, offset: int = 0) -> Iterator[Match]:
    for m in MONEY.finditer(text):
        try:
            amount = Decimal(m.group("num").replace(",", "") + "." + m.group("c"))
        except InvalidOperation:
            continue
        if m.group("neg") or (m.group("open") and m.group("close")):
            amount = -amount
        yield Match(amount, offset + m.start(), offset + m.end())


def integers_in(text: str, offset: int = 0) -> Iterator[Match]:
    for m in INTEGER.finditer(text):
        yield Match(int(m.group(1)), offset + m.start(1), offset + m.end(1))


def collapse(text: str) -> str:
    return " ".join(text.split())


_NAME_SUFFIXES = {"jr", "sr", "ii", "iii", "iv", "v", "mr", "mrs", "ms", "dr"}


def name_tokens(name: str) -> list[str]:
    """A name as lowercase tokens, given names first ("DOE, JANE Q." -> jane q doe), without
    titles and suffixes."""
    if "," in name:
        last, _, given = name.partition(",")
        name = f"{given} {last}"
    tokens = re.findall(r"[^\W\d_]+(?:['-][^\W\d_]+)*", name.lower())
    return [t for t in tokens if t not in _NAME_SUFFIXES]


def names_match(a: str, b: str) -> bool:
    """Same person by name: first and last names equal (any case); middle names and initials
    may be missing on either side, and must agree where both give them."""
    x, y = name_tokens(a), name_tokens(b)
    if len(x) < 2 or len(y) < 2:
        return bool(x) and x == y
    if x[0] != y[0] or x[-1] != y[-1]:
        return False
    mx, my = x[1:-1], y[1:-1]
    for p, q in zip(mx, my, strict=False):
        if not (p == q or (len(p) == 1 and q.startswith(p)) or (len(q) == 1 and p.startswith(q))):
            return False
    return True


def renderings(value: object) -> list[str]:
    """The ways a value may be printed, to find it in the text."""
    if isinstance(value, Decimal):
        plain = f"{abs(value):.2f}"
        grouped = f"{abs(value):,.2f}"
        return [grouped, plain]
    if isinstance(value, date):
        return [
            value.strftime("%m/%d/%Y"),
            f"{value.month}/{value.day}/{value.year}",
            value.isoformat(),
            value.strftime("%m-%d-%Y"),
            value.strftime("%B %d, %Y"),
            value.strftime("%b %d, %Y"),
            f"{value.strftime('%B')} {value.day}, {value.year}",
            value.strftime("%d %B %Y"),
            value.strftime("%m/%d/%y"),
        ]
    return [str(value)]


def locate(text: str, value: object) -> tuple[int, int] | None:
    """Where `value` is printed in `text` (case- and spacing-insensitive for text), or None."""
    if value is None:
        return None
    lowered = text.lower()
    for candidate in renderings(value):
        if not candidate:
            continue
        if isinstance(value, str):
            pattern = r"\s+".join(re.escape(part) for part in candidate.lower().split())
            found = re.search(pattern, lowered)
            if found:
                return found.start(), found.end()
            continue
        index = lowered.find(candidate.lower())
        while index != -1:
            before = lowered[index - 1] if index else " "
            after = (
                lowered[index + len(candidate)] if index + len(candidate) < len(lowered) else " "
            )
            if not (before.isdigit() or after.isdigit()):
                return index, index + len(candidate)
            index = lowered.find(candidate.lower(), index + 1)
    if isinstance(value, int) and not isinstance(value, bool):
        found = re.search(rf"(?<!\d){value}(?!\d)", text)
        if found:
            return found.start(), found.end()
    return None
