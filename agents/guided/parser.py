"""Deterministic readers for what a borrower types in guided mode: amounts, terms, yes/no, dates,
e-mails, phone numbers, SSNs, income, product types and menu choices (English and Chinese).

Each reader returns None when the text holds no such value, never a guess: guided mode then asks
again in plain words rather than filling a slot wrongly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from agents.guided.yesno import Answer, classify_answer
from lending.calendar_names import MONTH_NAMES_PATTERN, MONTHS

_SMALL_NUMBERS = {
    "zero": 0,
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "hundred": 100,
}
CHINESE_DIGITS = {
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
}
_SCALES = {
    "k": Decimal(1_000),
    "thousand": Decimal(1_000),
    "grand": Decimal(1_000),
    "m": Decimal(1_000_000),
    "mm": Decimal(1_000_000),
    "million": Decimal(1_000_000),
    "千": Decimal(1_000),
    "万": Decimal(10_000),
    "萬": Decimal(10_000),
    "百万": Decimal(1_000_000),
}
_CENT = Decimal("0.01")

# A number (digits with thousands separators and decimals, or a small number word), then an
# optional scale word. "$25,000", "25k", "1.5 million", "twenty thousand", "2.5万".
_NUMBER = (
    r"(?P<number>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|"
    + "|".join(sorted((w for w in _SMALL_NUMBERS if len(w) > 1), key=len, reverse=True))
    + ")"
)
_AMOUNT = re.compile(
    r"(?<![A-Za-z0-9.,])(?P<currency>\$|usd\s*|us\$|¥|rmb\s*)?\s*" + _NUMBER + r"\s*"
    r"(?P<scale>thousand|million|grand|mm|k|m|百万|千|万|萬)?(?![a-z])"
    r"\s*(?P<suffix>dollars?|bucks|usd|元|块)?",
    re.IGNORECASE,
)


_UNITS = {word: value for word, value in _SMALL_NUMBERS.items() if value < 20 and len(word) > 2}
_TENS = {word: value for word, value in _SMALL_NUMBERS.items() if 20 <= value < 100}
_MULTIPLIERS = {"hundred": 100, "thousand": 1_000, "million": 1_000_000}
_SPELLED = re.compile(
    r"\b(?:" + "|".join(sorted([*_UNITS, *_TENS, *_MULTIPLIERS], key=len, reverse=True)) + r")"
    r"(?:(?:\s+and\s+|[\s-]+)(?:"
    + "|".join(sorted([*_UNITS, *_TENS, *_MULTIPLIERS], key=len, reverse=True))
    + r"))+\b",
    re.IGNORECASE,
)


def spelled_numbers(text: str) -> str:
    """Numbers written in words, in digits: "twenty five thousand" → "25000", "thirty-six" → "36",
    "fifteen hundred" → "1500". One word alone stays (the parsers read "five years" already),
    and digits read out one by one ("five five five one") are left alone."""

    def value(match: re.Match[str]) -> str:
        words = [w for w in re.split(r"[\s-]+", match.group(0).lower()) if w != "and"]
        total, current, previous = 0, 0, ""
        for word in words:
            if word in _UNITS:
                if previous in _UNITS:
                    return match.group(0)  # "five five five": digits read out, not a number
                current += _UNITS[word]
            elif word in _TENS:
                if previous in _UNITS or previous in _TENS:
                    return match.group(0)
                current += _TENS[word]
            elif word == "hundred":
                current = (current or 1) * 100
            else:
                total += (current or 1) * _MULTIPLIERS[word]
                current = 0
            previous = word
        return str(total + current)

    return _SPELLED.sub(value, text)


def _number_value(token: str) -> Decimal | None:
    token = token.lower().replace(",", "")
    if token in _SMALL_NUMBERS:
        return Decimal(_SMALL_NUMBERS[token])
    try:
        return Decimal(token)
    except InvalidOperation:
        return None


def parse_amount(text: str) -> Decimal | None:
    """The first money amount in `text`, in whole currency units with cents, e.g. "25k" → 25000.00.

    A bare small number ("5") without a currency sign or scale is not taken as an amount, so that
    "5 years" is never read as five dollars.
    """
    text = spelled_numbers(text)
    for match in _AMOUNT.finditer(text):
        value = _number_value(match["number"])
        if value is None:
            continue
        scale = match["scale"]
        if not (match["currency"] or scale or match["suffix"]) and value < 100:
            continue
        following = text[match.end() :].lstrip().lower()
        if not scale and re.match(
            r"(years?\b|yrs?\b|months?\b|mos?\b|年|个月|%|percent)", following
        ):
            continue
        if scale:
            value *= _SCALES[scale.lower()]
        return value.quantize(_CENT)
    return None


class IncomePeriod(StrEnum):
    annual = "annual"
    monthly = "monthly"


@dataclass(frozen=True)
class Income:
    amount: Decimal
    period: IncomePeriod

    @property
    def monthly(self) -> Decimal:
        if self.period is IncomePeriod.monthly:
            return self.amount
        return (self.amount / 12).quantize(_CENT)


_MONTHLY_WORDS = re.compile(r"(per|a|each|every|/)\s*(month|mo)\b|monthly|每月|月薪|一个月", re.I)


def parse_income(text: str) -> Income | None:
    """An income and its period: "$85k a year" → 85000.00 annual, "6,500 a month" → monthly.

    Without a stated period, amounts under 20,000 are taken as monthly and larger ones as annual
    (the way people quote pay); the assistant reads the figure back for confirmation.
    """
    amount = parse_amount(text)
    if amount is None:
        return None
    if _MONTHLY_WORDS.search(text):
        return Income(amount, IncomePeriod.monthly)
    if re.search(r"(per|a|each|/)\s*(year|yr|annum)|annual|yearly|salary|年薪|每年", text, re.I):
        return Income(amount, IncomePeriod.annual)
    return Income(amount, IncomePeriod.monthly if amount < 20_000 else IncomePeriod.annual)


_TERM = re.compile(  # not inside a word: "money" is not "one y(ear)"
    r"(?<![A-Za-z])(?P<number>\d+(?:\.\d+)?|"
    + "|".join(sorted(_SMALL_NUMBERS, key=len, reverse=True))
    + r"|[一二两三四五六七八九十]+)\s*-?\s*(?P<unit>years?|yrs?|y\b|months?|mos?\b|mo\b|m\b|年|个月|月)",
    re.IGNORECASE,
)


def _chinese_number(token: str) -> int | None:
    if token == "十":
        return 10
    if "十" in token:
        tens, _, ones = token.partition("十")
        return CHINESE_DIGITS.get(tens, 1) * 10 + CHINESE_DIGITS.get(ones, 0)
    return CHINESE_DIGITS.get(token)


_NUMBER_TOKEN = (
    r"\d+|"
    + "|".join(sorted(_SMALL_NUMBERS, key=len, reverse=True))
    + r"|[一二两三四五六七八九十]+"
)
_YEAR_WORD = r"(?:years?|yrs?)"
# Halves, said the ways people say them, become decimal years before the term is read:
# "4 and a half years", "four years and a half", "a year and a half", "half a year", "三年半",
# "半年". (Read as whole years they were 4, 48 months or nothing.)
_HALVES = (
    (
        re.compile(rf"\b(?P<n>{_NUMBER_TOKEN})\s+and\s+a\s+half\s+{_YEAR_WORD}\b", re.I),
        "{n}.5 years",
    ),
    (
        re.compile(rf"\b(?P<n>{_NUMBER_TOKEN})\s+{_YEAR_WORD}\s+and\s+a\s+half\b", re.I),
        "{n}.5 years",
    ),
    (re.compile(r"\bhalf\s+(?:a|one)\s+year\b|\ba\s+half\s+year\b", re.I), "6 months"),
    (re.compile(r"(?P<n>[一二两三四五六七八九十]+|\d+)\s*年半"), "{n}.5年"),
    (re.compile(r"(?<![一二两三四五六七八九十\d.])半年"), "6个月"),
)
# What may stand between the years and the months of one duration: "3 years and 6 months",
# "2 years, 3 months", "两年零六个月", "一年又三个月".
_YEARS_THEN_MONTHS = re.compile(r"\s*(?:,|and|&|plus|零|又)?\s*", re.I)


def _halves(text: str) -> str:
    for pattern, replacement in _HALVES:

        def whole(match: re.Match[str], replacement: str = replacement) -> str:
            if "n" not in match.groupdict():
                return replacement
            token = match["n"]
            number = _chinese_number(token) if token[0] in CHINESE_DIGITS else _number_value(token)
            if number is None:
                return match.group(0)
            return replacement.format(n=int(number))

        text = pattern.sub(whole, text)
    return text


def _term_value(match: re.Match[str]) -> Decimal | None:
    """The months one `_TERM` match says, or None when it is not a duration."""
    token = match["number"].lower()
    value: Decimal | None
    if token[0] in CHINESE_DIGITS:
        number = _chinese_number(token)
        value = Decimal(number) if number is not None else None
    else:
        value = _number_value(token)
    if value is None or value <= 0:
        return None
    unit = match["unit"].lower()
    return value * 12 if unit.startswith("y") or unit == "年" else value


def parse_term_months(text: str) -> int | None:
    """A loan term in months: "5 years" → 60, "60 months" → 60, "18mo" → 18, "5年" → 60,
    "4 and a half years" → 54, "3 years and 6 months" → 42, "两年零六个月" → 30."""
    text = _halves(spelled_numbers(text))
    matches = list(_TERM.finditer(text))
    for index, match in enumerate(matches):
        token = match["number"].lower()
        if token in {"a", "an"} and not re.search(
            r"\b(for|over|within|in|about)\s*$", text[: match.start()], re.I
        ):
            continue  # "85k a year" is a rate, "for a year" is a term
        if token.isalpha() and token.isascii() and match["unit"].lower() in ("y", "m", "mo"):
            if not text[match.end("number") : match.start("unit")]:
                continue  # "eighty", "sixty", "tenmo…": a word, not "eight y(ears)"
        months = _term_value(match)
        if months is None:
            continue
        following = matches[index + 1] if index + 1 < len(matches) else None
        if (
            following is not None
            and (match["unit"].lower().startswith("y") or match["unit"] == "年")
            and not (following["unit"].lower().startswith("y") or following["unit"] == "年")
            and _YEARS_THEN_MONTHS.fullmatch(text[match.end() : following.start()])
        ):
            extra = _term_value(following)
            if extra is not None:
                months += extra  # years, then the months of the same duration
        if months != months.to_integral_value():
            continue
        return int(months)
    return None


def parse_whole_number(text: str) -> int | None:
    """The first whole number in `text`, in digits, words or Chinese: "12,000" → 12000,
    "four" → 4, "twenty five" → 25, "六" → 6. Not "a"/"an", which are articles far more often."""
    text = spelled_numbers(text)
    found = re.search(r"\d[\d,]*", text)
    if found:
        return int(found.group(0).replace(",", ""))
    for word in re.findall(r"[a-z]+", text.lower()):
        if word in _SMALL_NUMBERS and word not in {"a", "an"}:
            return _SMALL_NUMBERS[word]
    chinese = re.search(r"[一二两三四五六七八九十]+", text)
    return _chinese_number(chinese.group(0)) if chinese else None


def parse_count(field: str, text: str) -> int | None:
    """A whole-number answer for `field`: whole years for `years_*` fields ("4 and a half
    years" → 4, "18 months" → 1, "五年" → 5), a distance with its scale for mileage ("45k" →
    45000, "3万公里" → 30000), otherwise the first whole number."""
    if field.startswith("years_"):
        months = parse_term_months(text)
        if months is not None:
            return months // 12
    if field.endswith("mileage"):
        scaled = re.search(r"(\d[\d,]*(?:\.\d+)?)\s*(k|thousand|千|万)(?![a-z])", text, re.I)
        if scaled:
            unit = scaled.group(2).lower()
            factor = Decimal(10_000) if unit == "万" else Decimal(1_000)
            return int(Decimal(scaled.group(1).replace(",", "")) * factor)
    return parse_whole_number(text)


def parse_yes_no(
    text: str, *, action: str | None = None, targets: int | None = None
) -> bool | None:
    """True for an unambiguous yes, False for a plain refusal, None for anything else.

    The strict reading is `agents.guided.yesno.classify_answer`: a negation or hedge anywhere,
    a question, a condition or a mixed answer is never True. `action` (the tool being approved,
    e.g. "withdraw_application") lets "yes, withdraw it" approve a withdrawal; `targets` (how
    many things the question showed) keeps "yes, to all of them" from approving one.
    """
    answer = classify_answer(text, action=action, targets=targets)
    if answer is Answer.UNCLEAR:
        return None
    return answer is Answer.YES


_MONTH_NAMES = MONTH_NAMES_PATTERN
_DATE_PATTERNS = (
    (re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b"), ("y", "m", "d")),
    (re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?"), ("y", "m", "d")),
    (re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b"), ("m", "d", "y")),  # US order
    (
        re.compile(rf"\b({_MONTH_NAMES})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.I),
        ("mn", "d", "y"),
    ),
    (
        re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTH_NAMES})\.?,?\s+(\d{{4}})\b", re.I),
        ("d", "mn", "y"),
    ),
)


def parse_date(text: str) -> date | None:
    """A calendar date: ISO "1990-03-15", US "03/15/1990", "March 15, 1990", "15 March 1990"."""
    for pattern, order in _DATE_PATTERNS:
        match = pattern.search(text)
        if not match:
            continue
        parts: dict[str, int] = {}
        for key, group in zip(order, match.groups(), strict=True):
            if key == "mn":
                parts["m"] = MONTHS[group.lower()]
            else:
                parts[key] = int(group)
        try:
            return date(parts["y"], parts["m"], parts["d"])
        except ValueError:
            return None
    return None


_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


def parse_email(text: str) -> str | None:
    match = _EMAIL.search(text)
    return match.group(0).lower() if match else None


_PHONE = re.compile(r"(?<!\d)(\+?1[\s.-]?)?\(?(\d{3})\)?[\s.-]?(\d{3})[\s.-]?(\d{4})(?!\d)")


def parse_phone(text: str) -> str | None:
    """A North American phone number in E.164: "(415) 555-0134" → "+14155550134"."""
    match = _PHONE.search(text)
    if not match:
        return None
    return f"+1{match[2]}{match[3]}{match[4]}"


# Not the digits of an identifier such as OMF-001123450 (the PII detector skips those too).
_SSN = re.compile(r"(?<!\d)(?<![A-Za-z]-)(\d{3})[- ]?(\d{2})[- ]?(\d{4})(?!\d)")


def parse_ssn(text: str) -> str | None:
    """A US Social Security number as ddd-dd-dddd, refusing numbers the SSA never issues."""
    match = _SSN.search(text)
    if not match:
        return None
    area, group, serial = match.groups()
    if area in {"000", "666"} or area.startswith("9") or group == "00" or serial == "0000":
        return None
    return f"{area}-{group}-{serial}"


class ProductType(StrEnum):
    personal = "personal"
    auto = "auto"
    mortgage = "mortgage"
    business = "business"
    debt_consolidation = "debt_consolidation"
    home_improvement = "home_improvement"
    student = "student"


_PRODUCT_WORDS: tuple[tuple[ProductType, re.Pattern[str]], ...] = (
    (
        ProductType.debt_consolidation,
        re.compile(r"consolidat|pay off (my )?(debts?|cards?)|债务整合|还信用卡", re.I),
    ),
    (ProductType.home_improvement, re.compile(r"home improvement|renovat|remodel|装修", re.I)),
    (
        ProductType.mortgage,
        re.compile(r"mortgage|home loan|house|refinanc|buy(ing)? a home|房贷|房屋|买房", re.I),
    ),
    (
        ProductType.auto,
        re.compile(r"\bauto\b|\bcar\b|vehicle|truck|motorcycle|车贷|汽车|买车", re.I),
    ),
    (
        ProductType.business,
        re.compile(r"business|company|working capital|equipment|经营|企业|生意", re.I),
    ),
    (ProductType.student, re.compile(r"student|tuition|college|school|学生|学费", re.I)),
    (
        ProductType.personal,
        re.compile(r"personal|wedding|vacation|medical|emergency|个人|消费", re.I),
    ),
)


# The lending core's product type for each kind of loan people name (its catalog has no separate
# home-improvement or student product: those are a personal loan's purpose and a student refinance).
LENDING_PRODUCT_TYPES: dict[ProductType, str] = {
    ProductType.personal: "personal",
    ProductType.auto: "auto",
    ProductType.mortgage: "mortgage",
    ProductType.home_improvement: "personal",
    ProductType.business: "business",
    ProductType.debt_consolidation: "debt_consolidation",
    ProductType.student: "student_refinance",
}


def parse_product_type(text: str) -> ProductType | None:
    """The kind of loan someone asks for, from everyday words ("a car loan" → auto)."""
    for product, pattern in _PRODUCT_WORDS:
        if pattern.search(text):
            return product
    return None


_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "last": -1}


def parse_menu_choice(text: str, options: list[str]) -> int | None:
    """The index of the option chosen: by number ("2"), ordinal ("the second") or name."""
    cleaned = text.strip().lower()
    number = re.fullmatch(r"(?:option\s*|#)?(\d{1,2})[.)]?", cleaned)
    if number:
        index = int(number[1]) - 1
        return index if 0 <= index < len(options) else None
    for word, position in _ORDINALS.items():
        if re.search(rf"\b{word}\b", cleaned):
            index = position - 1 if position > 0 else len(options) - 1
            return index if 0 <= index < len(options) else None
    named = [i for i, option in enumerate(options) if option.lower() in cleaned]
    return named[0] if len(named) == 1 else None


@dataclass(frozen=True)
class Period:
    """A span of calendar days, both ends included."""

    start: date
    end: date


def _month_period(year: int, month: int) -> Period:
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return Period(date(year, month, 1), following - timedelta(days=1))


# "may" and "march" are also everyday words: alone they count as months only after "in", "for",
# "during", "of", "since" or before a year ("in May", "March 2026"), never in "may I ask".
_AMBIGUOUS_MONTHS = {"may", "mar", "march"}
_MONTH_IN_TEXT = re.compile(
    rf"(?P<before>\b(?:in|for|during|of|since|over)\s+)?\b(?P<month>{_MONTH_NAMES})\b\.?"
    r"(?:,?\s+(?P<year>\d{4})\b)?",
    re.IGNORECASE,
)
_RELATIVE = re.compile(
    r"\b(?P<which>this|last|previous|past|current|next)\s+(?P<unit>week|month|quarter|year)\b",
    re.IGNORECASE,
)


# The same in Chinese: "上个月", "本周", "今年", "去年", "上季度"; "十月", "10月", "2025年10月",
# "2025年". A month number is never read from "60个月" (a term).
_RELATIVE_ZH = re.compile(
    r"(?P<which>上|本|这|今|下|去|明)(?:个|一)?(?P<unit>周|星期|礼拜|月|季度|季|年)(?!\d)"
)
_ZH_STEPS = {"上": -1, "去": -1, "下": 1, "明": 1}
_ZH_UNITS = {"周": "week", "星期": "week", "礼拜": "week", "月": "month", "季度": "quarter"}
_MONTH_ZH = re.compile(
    r"(?:(?P<year>\d{4})\s*年\s*)?(?<![\d个])(?P<month>1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九])\s*月"
    r"(?!份?[之以]?[内后])"
)
_YEAR_ZH = re.compile(r"(?<!\d)(?P<year>\d{4})\s*年(?!\s*\d)")


def _period_zh(text: str, today: date) -> tuple[int, str] | Period | None:
    relative = _RELATIVE_ZH.search(text)
    if relative:
        unit = _ZH_UNITS.get(relative["unit"], "quarter" if relative["unit"] == "季" else "year")
        return _ZH_STEPS.get(relative["which"], 0), unit
    month = _MONTH_ZH.search(text)
    if month:
        token = month["month"]
        number = int(token) if token.isdigit() else _chinese_number(token)
        if number is not None and 1 <= number <= 12:
            if month["year"]:
                return _month_period(int(month["year"]), number)
            year = today.year if number <= today.month else today.year - 1
            return _month_period(year, number)
    whole = _YEAR_ZH.search(text)
    if whole:
        return Period(date(int(whole["year"]), 1, 1), date(int(whole["year"]), 12, 31))
    return None


def parse_period(text: str, today: date) -> Period | None:
    """A period of calendar days named in `text`, relative to `today`.

    "October" (the latest October not in the future), "October 2026", "last month", "this
    month", "this week" / "last week" (Monday to Sunday), "this year", "last quarter", and the
    same in Chinese ("十月", "2025年10月", "上个月", "本周", "去年"). None when the text names no
    period.
    """
    relative = _RELATIVE.search(text)
    chinese = None if relative else _period_zh(text, today)
    if isinstance(chinese, Period):
        return chinese
    if relative or chinese is not None:
        if relative:
            which, unit = relative["which"].lower(), relative["unit"].lower()
            step = {"last": -1, "previous": -1, "past": -1, "next": 1}.get(which, 0)
        else:
            assert chinese is not None
            step, unit = chinese
        if unit == "week":
            monday = today - timedelta(days=today.weekday()) + timedelta(weeks=step)
            return Period(monday, monday + timedelta(days=6))
        if unit == "month":
            index = today.year * 12 + today.month - 1 + step
            return _month_period(index // 12, index % 12 + 1)
        if unit == "quarter":
            index = today.year * 4 + (today.month - 1) // 3 + step
            year, quarter = index // 4, index % 4
            return Period(date(year, quarter * 3 + 1, 1), _month_period(year, quarter * 3 + 3).end)
        year = today.year + step
        return Period(date(year, 1, 1), date(year, 12, 31))
    for match in _MONTH_IN_TEXT.finditer(text):
        name = match["month"].lower()
        if name in _AMBIGUOUS_MONTHS and not (match["before"] or match["year"]):
            continue
        month = MONTHS[name]
        if match["year"]:
            year = int(match["year"])
        else:
            year = today.year if month <= today.month else today.year - 1
        return _month_period(year, month)
    return None


_WITHIN = re.compile(
    r"\b(?P<number>\d{1,2}|"
    + "|".join(sorted((w for w in _SMALL_NUMBERS if len(w) > 1), key=len, reverse=True))
    + r")\s+(?P<unit>days?|weeks?)\b",
    re.IGNORECASE,
)


def parse_within_days(text: str) -> int | None:
    """How many days ahead someone means: "in the next 10 days" → 10, "two weeks" → 14,
    "this week" / "next week" → 7 (a rolling week), "today" → 1, "tomorrow" → 2, "this month"
    → 30. None when the text says nothing about it."""
    match = _WITHIN.search(text)
    if match:
        value = _number_value(match["number"])
        if value is not None and value > 0:
            return int(value) * (7 if match["unit"].lower().startswith("week") else 1)
    match = _WITHIN_ZH.search(text)
    if match:
        token = match["number"]
        number = int(token) if token.isdigit() else _chinese_number(token)
        if number is not None and number > 0:
            return number * (1 if match["unit"] in ("天", "日") else 7)
    lowered = text.lower()
    if re.search(
        r"\b(this|next|coming)\s+week\b|\bweek\b|(本|这|下)个?(周|星期|礼拜)|一周", lowered
    ):
        return 7
    if re.search(r"\btoday\b|今天|今日", lowered):
        return 1
    if re.search(r"\btomorrow\b|明天", lowered):
        return 2
    if re.search(r"\b(this|next|coming)\s+month\b|(本|这|下)个?月", lowered):
        return 30
    return None


_WITHIN_ZH = re.compile(
    r"(?<!\d)(?P<number>\d{1,2}|[一二两三四五六七八九十]{1,3})\s*(?:个)?(?P<unit>天|日|周|星期|礼拜)"
)
