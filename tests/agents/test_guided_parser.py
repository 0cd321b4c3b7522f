"""Guided mode reads what people actually type, and refuses to guess."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agents.guided.parser import (
    LENDING_PRODUCT_TYPES,
    IncomePeriod,
    Period,
    ProductType,
    parse_amount,
    parse_count,
    parse_date,
    parse_email,
    parse_income,
    parse_menu_choice,
    parse_period,
    parse_phone,
    parse_product_type,
    parse_ssn,
    parse_term_months,
    parse_whole_number,
    parse_within_days,
    parse_yes_no,
)
from agents.guided.slots import name_answer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("25k", "25000.00"),
        ("$25,000", "25000.00"),
        ("I'd like to borrow $25,000.50 please", "25000.50"),
        ("about 40K for my car", "40000.00"),
        ("1.5 million", "1500000.00"),
        ("twenty thousand dollars", "20000.00"),
        ("5000 bucks", "5000.00"),
        ("2.5万", "25000.00"),
        ("借30万买房", "300000.00"),
        ("USD 12,500", "12500.00"),
    ],
)
def test_amounts(text: str, expected: str) -> None:
    assert parse_amount(text) == Decimal(expected)


@pytest.mark.parametrize("text", ["5 years", "I am 35", "hello", "60 months", "3.5%", ""])
def test_not_amounts(text: str) -> None:
    assert parse_amount(text) is None


@given(st.decimals(min_value=100, max_value=10_000_000, places=2))
def test_formatted_amounts_read_back_exactly(amount: Decimal) -> None:
    assert parse_amount(f"${amount:,.2f}") == amount
    assert parse_amount(f"{amount}") == amount


@pytest.mark.parametrize(
    ("text", "months"),
    [
        ("5 years", 60),
        ("60 months", 60),
        ("over 18mo", 18),
        ("a 3-year term", 36),
        ("for a year", 12),
        ("two years", 24),
        ("5年", 60),
        ("三十年", 360),
        ("36个月", 36),
        ("40k for 5 years", 60),
    ],
)
def test_terms(text: str, months: int) -> None:
    assert parse_term_months(text) == months


@pytest.mark.parametrize("text", ["85k a year", "$25,000", "1.3 years", "soon"])
def test_not_terms(text: str) -> None:
    assert parse_term_months(text) is None  # 1.3 years is not a whole number of months


def test_fractional_years_that_make_whole_months() -> None:
    assert parse_term_months("2.5 years") == 30


# Halves and compound durations, as people say them. Each was read wrongly or not at all
# before: "3 years and 6 months" was 36, "三年半" 36, "four years and a half" 48.
@pytest.mark.parametrize(
    ("text", "months"),
    [
        ("4 and a half years", 54),
        ("four and a half years", 54),
        ("over two and a half years", 30),
        ("a year and a half", 18),
        ("one and a half years please", 18),
        ("four years and a half", 54),
        ("half a year", 6),
        ("3 years and 6 months", 42),
        ("2 years, 6 months", 30),
        ("2 years 3 months", 27),
        ("5 yrs & 3 mos", 63),
        ("三年半", 42),
        ("两年零六个月", 30),
        ("一年又三个月", 15),
        ("半年", 6),
        ("3年6个月", 42),
        ("3 years or 36 months", 36),  # alternatives, not a sum
        ("for 3 years, 2 loans", 36),
    ],
)
def test_halves_and_compound_terms(text: str, months: int) -> None:
    assert parse_term_months(text) == months


@pytest.mark.parametrize(
    ("field", "text", "value"),
    [
        ("years_in_business", "4 and a half years", 4),  # whole years completed
        ("years_in_business", "four years", 4),
        ("years_in_business", "a year and a half", 1),
        ("years_in_business", "18 months", 1),
        ("years_in_business", "since 2019, so about 6 years", 6),
        ("years_in_business", "五年", 5),
        ("years_in_business", "twelve", 12),
        ("vehicle_mileage", "about 45k", 45000),
        ("vehicle_mileage", "45,000 miles", 45000),
        ("vehicle_mileage", "62 thousand", 62000),
        ("vehicle_mileage", "3万", 30000),
        ("vehicle_mileage", "twelve", 12),
        ("vehicle_year", "it is a 2019 Camry", 2019),
    ],
)
def test_whole_number_answers(field: str, text: str, value: int) -> None:
    assert parse_count(field, text) == value


@pytest.mark.parametrize("text", ["a few", "not sure", "", "a couple"])
def test_no_whole_number(text: str) -> None:
    assert parse_whole_number(text) is None


@pytest.mark.parametrize(
    ("text", "amount", "period"),
    [
        ("I make $85k a year", "85000.00", IncomePeriod.annual),
        ("6,500 per month", "6500.00", IncomePeriod.monthly),
        ("my salary is 120000", "120000.00", IncomePeriod.annual),
        ("about 4800", "4800.00", IncomePeriod.monthly),
        ("月薪2万", "20000.00", IncomePeriod.monthly),
    ],
)
def test_income(text: str, amount: str, period: IncomePeriod) -> None:
    income = parse_income(text)
    assert income is not None
    assert (income.amount, income.period) == (Decimal(amount), period)


def test_annual_income_in_months() -> None:
    income = parse_income("$90,000 a year")
    assert income is not None
    assert income.monthly == Decimal("7500.00")


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("yes", True),
        ("Yes, submit it", True),
        ("sure go ahead", True),
        ("OK", True),
        ("是的", True),
        ("no", False),
        ("No thanks", False),
        ("don't submit yet", False),
        ("cancel", False),
        ("不要", False),
        ("maybe later?", None),
        ("what does APR mean", None),
        ("nothing", None),
    ],
)
def test_yes_no(text: str, answer: bool | None) -> None:
    assert parse_yes_no(text) is answer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1990-03-15", date(1990, 3, 15)),
        ("born 03/15/1990", date(1990, 3, 15)),
        ("March 15, 1990", date(1990, 3, 15)),
        ("15th Mar 1990", date(1990, 3, 15)),
        ("1990年3月15日", date(1990, 3, 15)),
        ("02/30/1990", None),
        ("next week", None),
    ],
)
def test_dates(text: str, expected: date | None) -> None:
    assert parse_date(text) == expected


def test_contact_details() -> None:
    assert (
        parse_email("reach me at Jane.Doe+loans@Example.co.uk thanks")
        == "jane.doe+loans@example.co.uk"
    )
    assert parse_email("jane at example dot com") is None
    assert parse_phone("call (415) 555-0134") == "+14155550134"
    assert parse_phone("+1 415.555.0134") == "+14155550134"
    assert parse_phone("12345") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("123-45-6789", "123-45-6789"),
        ("my ssn is 123 45 6789", "123-45-6789"),
        ("123456789", "123-45-6789"),
        ("000-12-3456", None),
        ("666-12-3456", None),
        ("912-12-3456", None),
        ("123-00-4567", None),
    ],
)
def test_ssn(text: str, expected: str | None) -> None:
    assert parse_ssn(text) == expected


@pytest.mark.parametrize(
    ("text", "product"),
    [
        ("I want a car loan", ProductType.auto),
        ("need a mortgage for a house", ProductType.mortgage),
        ("consolidate my credit cards", ProductType.debt_consolidation),
        ("money for my business", ProductType.business),
        ("a personal loan for a wedding", ProductType.personal),
        ("我想买车", ProductType.auto),
        ("房贷", ProductType.mortgage),
        ("hello there", None),
    ],
)
def test_product_types(text: str, product: ProductType | None) -> None:
    assert parse_product_type(text) is product


def test_menu_choices() -> None:
    options = ["Personal", "Auto", "Mortgage"]
    assert parse_menu_choice("2", options) == 1
    assert parse_menu_choice("option 3", options) == 2
    assert parse_menu_choice("the first one", options) == 0
    assert parse_menu_choice("the last", options) == 2
    assert parse_menu_choice("mortgage please", options) == 2
    assert parse_menu_choice("7", options) is None
    assert parse_menu_choice("something else", options) is None


TODAY = date(2026, 11, 28)  # a Saturday


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        (
            "how much commission did I earn in October and why",
            date(2026, 10, 1),
            date(2026, 10, 31),
        ),
        ("in November", date(2026, 11, 1), date(2026, 11, 30)),
        ("December", date(2025, 12, 1), date(2025, 12, 31)),  # the latest December, not ahead
        ("for Feb 2024", date(2024, 2, 1), date(2024, 2, 29)),
        ("in May", date(2026, 5, 1), date(2026, 5, 31)),
        ("March 2026", date(2026, 3, 1), date(2026, 3, 31)),
        ("last month", date(2026, 10, 1), date(2026, 10, 31)),
        ("this month", date(2026, 11, 1), date(2026, 11, 30)),
        ("this week", date(2026, 11, 23), date(2026, 11, 29)),
        ("last week", date(2026, 11, 16), date(2026, 11, 22)),
        ("last quarter", date(2026, 7, 1), date(2026, 9, 30)),
        ("this year", date(2026, 1, 1), date(2026, 12, 31)),
        ("last year", date(2025, 1, 1), date(2025, 12, 31)),
    ],
)
def test_periods(text: str, start: date, end: date) -> None:
    assert parse_period(text, TODAY) == Period(start, end)


def test_last_month_across_a_new_year() -> None:
    assert parse_period("last month", date(2027, 1, 5)) == Period(
        date(2026, 12, 1), date(2026, 12, 31)
    )


@pytest.mark.parametrize("text", ["may I ask something", "march on", "hello", "60 months", ""])
def test_not_periods(text: str) -> None:
    assert parse_period(text, TODAY) is None


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)))
def test_a_named_month_is_never_in_the_future(today: date) -> None:
    for name in ("January", "June", "October", "December"):
        period = parse_period(f"in {name}", today)
        assert period is not None
        assert period.start <= today
        assert period.start.day == 1
        assert (period.end - period.start).days in (27, 28, 29, 30)


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("which of my clients have offers expiring this week", 7),
        ("offers expiring in the next 10 days", 10),
        ("expiring within two weeks", 14),
        ("expiring today", 1),
        ("expiring tomorrow", 2),
        ("expiring this month", 30),
        ("which offers expire soon", None),
    ],
)
def test_within_days(text: str, days: int | None) -> None:
    assert parse_within_days(text) == days


def test_every_product_word_maps_to_a_lending_product_type() -> None:
    assert set(LENDING_PRODUCT_TYPES) == set(ProductType)


# Replies to "What is your full legal name?" that are not names ("go ahead", "idk lol",
# "Mr Smith", "等一下") and names made of everyday words ("Will Grant", "Jane Good").
_NAME_ANSWERS = [
    json.loads(line)
    for line in (Path(__file__).parent / "data" / "name_answers.jsonl")
    .read_text(encoding="utf-8")
    .splitlines()
    if line
]


def test_a_reply_is_never_taken_as_a_name_and_names_of_everyday_words_are() -> None:
    assert sum(not row["name"] for row in _NAME_ANSWERS) >= 30
    assert sum(row["name"] for row in _NAME_ANSWERS) >= 12
    wrong = [row for row in _NAME_ANSWERS if (name_answer(row["text"]) is not None) != row["name"]]
    assert wrong == []
