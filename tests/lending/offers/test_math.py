"""Loan math against the published cases, as properties, and on the input it must refuse."""

from __future__ import annotations

import calendar
import json
import re
from collections.abc import Callable
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, localcontext
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, example, given, reject, settings
from hypothesis import strategies as st

from lending.offers.math import (
    AmortizationSchedule,
    CashFlow,
    DayCount,
    LoanMathError,
    RoundingMode,
    UnitPeriod,
    amortization_schedule,
    annual_percentage_rate,
    apr_for_level_loan,
    apr_within_tolerance,
    level_payment,
    schedule_apr,
)
from lending.offers.math_io import run_apr, run_schedule

# The published cases live in the repository (data/README.md says where they come from), so a
# fresh clone runs them. Read while collecting, so a missing file fails the run instead of
# skipping what it checks.
CASES_PATH = Path(__file__).resolve().parent / "data" / "loan_math_cases.json"
CASES: dict[str, Any] = json.loads(CASES_PATH.read_text(encoding="utf-8"))
APR_CASES = [pytest.param(case, id=case["name"]) for case in CASES["apr"]]
SCHEDULE_CASES = [pytest.param(case, id=case["name"]) for case in CASES["schedule"]]
MONEY_TEXT = re.compile(r"^\d+\.\d{2}$")
PROPERTY_SETTINGS = settings(max_examples=60, deadline=None)
REFUSAL = re.compile(r"a monthly payment of \S+ (never repays|repays \S+ before month) .*")


def _flows(items: list[dict[str, str]]) -> list[CashFlow]:
    return [(Decimal(item["amount"]), date.fromisoformat(item["date"])) for item in items]


def _schedule(given: dict[str, Any]) -> AmortizationSchedule:
    return amortization_schedule(
        Decimal(given["principal"]),
        Decimal(given["annual_rate"]),
        given["term_months"],
        RoundingMode(given["rounding"]),
    )


def _assert_balances_to_zero(schedule: AmortizationSchedule, principal: Decimal) -> None:
    assert sum(row.principal for row in schedule.rows) == principal
    assert str(schedule.rows[-1].balance) == "0.00"
    assert schedule.total_of_payments == principal + schedule.total_interest
    balance = principal
    for row in schedule.rows:
        assert row.interest + row.principal == row.payment
        balance -= row.principal
        assert row.balance == balance
    assert all(row.payment == schedule.payment for row in schedule.rows[:-1])


def _schedule_or_refusal(
    principal: Decimal, rate: Decimal, n_months: int, rounding: RoundingMode
) -> AmortizationSchedule | str:
    try:
        return amortization_schedule(principal, rate, n_months, rounding)
    except LoanMathError as error:
        return str(error)


@pytest.mark.parametrize("case", APR_CASES)
def test_published_apr(case: dict[str, Any]) -> None:
    given, expected = case["input"], Decimal(case["expected_apr"])

    result = annual_percentage_rate(
        _flows(given["advances"]), _flows(given["payments"]), given.get("unit_period")
    )

    assert result.apr == expected
    assert apr_within_tolerance(expected, result.apr_exact, result.regular)
    # Letting the unit-period be inferred must land on the same answer.
    inferred = annual_percentage_rate(_flows(given["advances"]), _flows(given["payments"]))
    assert inferred.apr_exact == result.apr_exact


@pytest.mark.parametrize("case", APR_CASES)
def test_published_apr_through_json(case: dict[str, Any]) -> None:
    expected = Decimal(case["expected_apr"])

    result = run_apr(json.dumps(case["input"]))

    assert set(result) == {"apr", "apr_exact", "unit_period", "regular"}
    assert result["apr"] == case["expected_apr"]
    assert re.fullmatch(r"\d+\.\d{10}", result["apr_exact"])
    assert apr_within_tolerance(expected, Decimal(result["apr_exact"]), result["regular"])


@pytest.mark.parametrize("case", SCHEDULE_CASES)
def test_published_schedule(case: dict[str, Any]) -> None:
    expected = case["expected"]

    schedule = _schedule(case["input"])

    assert schedule.payment == Decimal(expected["payment"])
    if "first_row" in expected:
        first = schedule.rows[0]
        assert first.number == expected["first_row"]["number"]
        assert first.interest == Decimal(expected["first_row"]["interest"])
        assert first.principal == Decimal(expected["first_row"]["principal"])
        assert first.balance == Decimal(expected["first_row"]["balance"])
    for field in ("interest", "principal", "balance"):
        if field in expected:
            assert [str(getattr(row, field)) for row in schedule.rows] == expected[field]
    _assert_balances_to_zero(schedule, Decimal(case["input"]["principal"]))


@pytest.mark.parametrize("case", SCHEDULE_CASES)
def test_published_schedule_through_json(case: dict[str, Any]) -> None:
    expected = case["expected"]

    result = run_schedule(json.dumps(case["input"]))

    assert result["payment"] == expected["payment"]
    rows = result["schedule"]
    assert len(rows) == case["input"]["term_months"]
    if "first_row" in expected:
        assert rows[0] == {"payment": expected["payment"], **expected["first_row"]}
    for field in ("interest", "principal", "balance"):
        if field in expected:
            assert [row[field] for row in rows] == expected[field]
    assert rows[-1]["balance"] == "0.00"
    money = [result["payment"], result["total_interest"], result["total_of_payments"]]
    money += [row[field] for row in rows for field in ("payment", "interest", "principal")]
    assert all(MONEY_TEXT.match(amount) for amount in money)


def test_month_one_half_cent_is_decided_by_the_rounding_mode() -> None:
    # 162,000 × 3.875% / 12 is exactly 523.125 (the CFPB H-25(B) sample).
    def first_interest(rounding: RoundingMode) -> Decimal:
        schedule = amortization_schedule(Decimal("162000.00"), Decimal("3.875"), 360, rounding)
        return schedule.rows[0].interest

    assert first_interest(RoundingMode.half_up) == Decimal("523.13")
    assert first_interest(RoundingMode.half_even) == Decimal("523.12")
    assert first_interest(RoundingMode.up) == Decimal("523.13")


def test_level_payment_rounds_with_the_named_mode() -> None:
    assert level_payment(Decimal("1000.00"), Decimal(0), 3, RoundingMode.half_up) == Decimal(
        "333.33"
    )
    assert level_payment(Decimal("1000.00"), Decimal(0), 3, RoundingMode.up) == Decimal("333.34")
    assert level_payment(Decimal("1200.00"), Decimal(0), 12) == Decimal("100.00")


def test_json_numbers_read_as_the_same_amounts_as_strings() -> None:
    as_numbers = '{"principal": 162000.00, "annual_rate": 3.875, "term_months": 360}'
    as_strings = '{"principal": "162000.00", "annual_rate": "3.875", "term_months": 360}'

    assert run_schedule(as_numbers) == run_schedule(as_strings)


def test_actual_365_charges_each_months_days() -> None:
    schedule = amortization_schedule(
        Decimal("36500.00"),
        Decimal("10"),
        3,
        day_count=DayCount.actual_365,
        start_date=date(2023, 1, 15),
    )

    # 31, 28 and 31 days of 10% a year on what is owed; 30/360 would charge 304.17 in month 1.
    assert schedule.rows[0].interest == Decimal("310.00")
    assert schedule.rows[1].interest == Decimal(schedule.rows[0].balance * 28 / 3650).quantize(
        Decimal("0.01")
    )
    _assert_balances_to_zero(schedule, Decimal("36500.00"))


# Unit-periods and odd days ----------------------------------------------------------------------


def test_single_payment_of_whole_months_is_one_unit_period() -> None:
    # Appendix J (c)(5)(ii): six whole months make 2 unit-periods a year.
    result = annual_percentage_rate(
        [(Decimal("1000.00"), date(1978, 7, 15))], [(Decimal("1044.00"), date(1979, 1, 15))]
    )

    assert result.unit_period is UnitPeriod.term
    assert result.unit_periods_per_year == 2
    assert result.apr == Decimal("8.80")


def test_single_payment_after_more_than_a_year_uses_years_and_odd_months() -> None:
    # 18 months is one year plus half a year of odd time: 1000 × 1.05 × 1.10 = 1155.
    result = annual_percentage_rate(
        [(Decimal("1000.00"), date(2020, 1, 1))], [(Decimal("1155.00"), date(2021, 7, 1))]
    )

    assert result.unit_period is UnitPeriod.year
    assert result.apr_exact == Decimal("10.0000000000")


def test_weekly_payments_infer_a_week() -> None:
    # At 1% a week, 505.00 after one week and 510.05 after two are each worth 500.00 today.
    result = annual_percentage_rate(
        [(Decimal("1000.00"), date(2024, 1, 1))],
        [(Decimal("505.00"), date(2024, 1, 8)), (Decimal("510.05"), date(2024, 1, 15))],
    )

    assert result.unit_period is UnitPeriod.week
    assert result.apr_exact == Decimal("52.0000000000")
    assert result.regular


def test_semimonthly_payments_infer_a_semimonth() -> None:
    start = date(2024, 1, 1)
    days = [date(2024, month, day) for month in range(1, 7) for day in (1, 16)][1:]

    result = annual_percentage_rate(
        [(Decimal("1000.00"), start)], [(Decimal("92.00"), day) for day in days]
    )

    assert result.unit_period is UnitPeriod.semimonth
    assert result.unit_periods_per_year == 24
    assert result.regular


def test_multiple_advances_are_irregular() -> None:
    # At 10% a month: 1000 × 1.1² + 1000 × 1.1 = 2310 two months after the first advance.
    result = annual_percentage_rate(
        [(Decimal("1000.00"), date(2024, 1, 15)), (Decimal("1000.00"), date(2024, 2, 15))],
        [(Decimal("2310.00"), date(2024, 3, 15))],
    )

    assert result.unit_period is UnitPeriod.month
    assert result.apr_exact == Decimal("120.0000000000")
    assert not result.regular


def test_apr_tolerance_is_an_eighth_regular_and_a_quarter_irregular() -> None:
    exact = Decimal("9.69")

    assert apr_within_tolerance(Decimal("9.815"), exact, regular=True)
    assert not apr_within_tolerance(Decimal("9.816"), exact, regular=True)
    assert apr_within_tolerance(Decimal("9.44"), exact, regular=False)
    assert not apr_within_tolerance(Decimal("9.43"), exact, regular=False)


def test_prepaid_fees_raise_the_apr_above_the_note_rate() -> None:
    result = apr_for_level_loan(Decimal("400000.00"), Decimal("6.25"), 360, Decimal("4000.00"))

    assert result.apr == Decimal("6.35")
    # Checked against the Appendix J equation evaluated directly, one power per payment.
    monthly = result.apr_exact / 1200
    payments = amortization_schedule(Decimal("400000.00"), Decimal("6.25"), 360).rows
    present_value = sum(row.payment / (1 + monthly) ** row.number for row in payments)
    assert abs(present_value - Decimal("396000.00")) < Decimal("0.0001")


# Properties -------------------------------------------------------------------------------------

roundings = st.sampled_from(RoundingMode)


# Loans of at least 10,000 at up to 15% for up to 30 years: however the cents round, the rounding
# error compounded over the term stays below one payment, so none of these may be refused.
amounts = st.decimals(min_value=10_000, max_value=5_000_000, places=2)
note_rates = st.decimals(min_value=0, max_value=15, places=3)
terms = st.integers(min_value=1, max_value=360)


@PROPERTY_SETTINGS
@given(principal=amounts, rate=note_rates, n_months=terms, rounding=roundings)
def test_schedules_repay_exactly_the_principal(
    principal: Decimal, rate: Decimal, n_months: int, rounding: RoundingMode
) -> None:
    schedule = amortization_schedule(principal, rate, n_months, rounding)

    assert len(schedule.rows) == n_months
    _assert_balances_to_zero(schedule, principal)


@PROPERTY_SETTINGS
@given(
    principal=st.decimals(min_value=Decimal("0.01"), max_value=10_000_000, places=2),
    rate=st.decimals(min_value=0, max_value=100, places=4),
    n_months=st.integers(min_value=1, max_value=480),
    rounding=roundings,
)
def test_any_schedule_repays_exactly_or_is_refused_in_one_line(
    principal: Decimal, rate: Decimal, n_months: int, rounding: RoundingMode
) -> None:
    outcome = _schedule_or_refusal(principal, rate, n_months, rounding)

    if isinstance(outcome, str):
        # Only a small loan whose rounded payment, compounded over a long term at a high rate,
        # falls short of the interest or overshoots the balance before the last month.
        assert REFUSAL.fullmatch(outcome)
    else:
        _assert_balances_to_zero(outcome, principal)


@PROPERTY_SETTINGS
@given(principal=amounts, rate=note_rates, n_months=terms, rounding=roundings)
def test_apr_without_fees_is_the_note_rate(
    principal: Decimal, rate: Decimal, n_months: int, rounding: RoundingMode
) -> None:
    result = apr_for_level_loan(principal, rate, n_months, Decimal(0), rounding)

    assert abs(result.apr_exact - rate) <= Decimal("0.01")


@PROPERTY_SETTINGS
@given(
    principal=amounts,
    rate=note_rates,
    n_months=terms,
    fee_shares=st.tuples(
        st.decimals(min_value=0, max_value=Decimal("0.1"), places=4),
        st.decimals(min_value=0, max_value=Decimal("0.1"), places=4),
    ),
)
def test_apr_rises_with_prepaid_fees(
    principal: Decimal, rate: Decimal, n_months: int, fee_shares: tuple[Decimal, Decimal]
) -> None:
    low, high = sorted((principal * share).quantize(Decimal("0.01")) for share in fee_shares)
    assume(high - low >= 1)

    cheaper = apr_for_level_loan(principal, rate, n_months, low)
    dearer = apr_for_level_loan(principal, rate, n_months, high)

    assert dearer.apr_exact > cheaper.apr_exact


@pytest.mark.parametrize("day_count", list(DayCount))
def test_the_apr_of_a_schedule_in_hand_is_the_apr_of_the_level_loan(day_count: DayCount) -> None:
    # Pricing and what-ifs build the schedule once and take its APR (schedule_apr).
    start = date(2026, 1, 31)
    schedule = amortization_schedule(
        Decimal("25000.00"), Decimal("7.5"), 60, day_count=day_count, start_date=start
    )

    in_hand = schedule_apr(schedule, Decimal("25000.00"), Decimal("499.00"), start)

    assert in_hand == apr_for_level_loan(
        Decimal("25000.00"),
        Decimal("7.5"),
        60,
        Decimal("499.00"),
        start_date=start,
        day_count=day_count,
    )
    assert in_hand.apr_exact > Decimal("7.5")


def _months_after(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


@PROPERTY_SETTINGS
@given(
    due_date=st.dates(min_value=date(1990, 1, 1), max_value=date(2040, 12, 31)),
    odd_days=st.integers(min_value=0, max_value=30),
    payment=st.decimals(min_value=10, max_value=50_000, places=2),
    n_payments=st.integers(min_value=2, max_value=120),
    financed_share=st.decimals(min_value=Decimal("0.5"), max_value=1, places=3),
)
# A schedule due on the 28th reaches February 28 of a common year: still the 28th, not a month end.
@example(
    due_date=date(2000, 1, 28),
    odd_days=27,
    payment=Decimal("10.00"),
    n_payments=13,
    financed_share=Decimal("0.5"),
)
# Due on the 29th from a leap-year February: February 28 of the next year still counts back to
# the 29th (the advance on the 28th is one odd day before it, not a whole month).
@example(
    due_date=date(2000, 1, 29),
    odd_days=1,
    payment=Decimal("10.00"),
    n_payments=13,
    financed_share=Decimal("0.5"),
)
# Due on the 31st: the 30th and February 28 count back to the 31st.
@example(
    due_date=date(2023, 1, 31),
    odd_days=12,
    payment=Decimal("100.00"),
    n_payments=14,
    financed_share=Decimal("0.9"),
)
def test_solved_rate_balances_the_appendix_j_equation(
    due_date: date, odd_days: int, payment: Decimal, n_payments: int, financed_share: Decimal
) -> None:
    # Payments due k whole months after a date that is odd days after the advance: t = k and
    # f = odd days / 30, whatever day of the month they are due on.
    advance_day = due_date - timedelta(days=odd_days)
    assume(advance_day > _months_after(due_date, -1))
    payment_days = [_months_after(due_date, k) for k in range(1, n_payments + 1)]
    financed = (payment * n_payments * financed_share).quantize(Decimal("0.01"))

    result = annual_percentage_rate(
        [(financed, advance_day)], [(payment, day) for day in payment_days]
    )

    assert result.unit_period is UnitPeriod.month
    assert result.regular
    rate = result.apr_exact / 1200
    odd_growth = 1 + Decimal(odd_days) / 30 * rate
    present_value = sum(payment / (odd_growth * (1 + rate) ** k) for k in range(1, n_payments + 1))
    assert abs(present_value - financed) < Decimal("0.001")


# The solver against a slow reference --------------------------------------------------------

# The reference's own precision and bracket: far below the 1e-10 percent that apr_exact keeps
# (a monthly rate's 1e-10 percent a year is 8e-14 a month).
REFERENCE_CONTEXT = Context(prec=60, rounding=ROUND_HALF_EVEN)
REFERENCE_WIDTH = Decimal("1e-24")
TimedFlow = tuple[Decimal, int, Decimal]


def _reference_apr_exact(flows: list[TimedFlow], per_year: int) -> Decimal:
    """apr_exact by plain bisection on the Appendix J equation, each flow discounted afresh.

    `flows` are (amount, t, f) with advances negative; the value must have one root.
    """
    with localcontext(REFERENCE_CONTEXT):

        def value(rate: Decimal) -> Decimal:
            return sum(
                (
                    amount / ((1 + fraction * rate) * (1 + rate) ** whole)
                    for amount, whole, fraction in flows
                ),
                Decimal(0),
            )

        low, high = Decimal(0), Decimal(1)
        while value(high) > 0:
            low, high = high, high * 2
        while high - low > REFERENCE_WIDTH:
            middle = (low + high) / 2
            if value(middle) > 0:
                low = middle
            else:
                high = middle
        rate = (low + high) / 2
        return (rate * per_year * 100).quantize(Decimal("1e-10"), rounding=ROUND_HALF_UP)


@settings(max_examples=80, deadline=None)
@given(
    principal=st.decimals(min_value=1_000, max_value=5_000_000, places=2),
    rate=st.decimals(min_value=0, max_value=36, places=3),
    n_months=st.integers(min_value=1, max_value=480),
    fee_share=st.decimals(min_value=0, max_value=Decimal("0.1"), places=4),
    rounding=roundings,
    start=st.one_of(st.none(), st.dates(min_value=date(1990, 1, 1), max_value=date(2040, 12, 31))),
    day_count=st.sampled_from(DayCount),
)
# The compute_payment what-if the CPU budget was measured on, and a 30-year mortgage.
@example(
    Decimal("25000.00"),
    Decimal("7.5"),
    60,
    Decimal(0),
    RoundingMode.half_up,
    None,
    DayCount.thirty_360,
)
@example(
    Decimal("400000.00"),
    Decimal("6.25"),
    360,
    Decimal("0.01"),
    RoundingMode.half_up,
    date(2025, 1, 31),
    DayCount.thirty_360,
)
def test_level_loan_apr_matches_a_bisection_reference(
    principal: Decimal,
    rate: Decimal,
    n_months: int,
    fee_share: Decimal,
    rounding: RoundingMode,
    start: date | None,
    day_count: DayCount,
) -> None:
    if start is None:
        day_count = DayCount.thirty_360  # actual/365 needs the dates
    fees = (principal * fee_share).quantize(Decimal("0.01"))
    try:
        schedule = amortization_schedule(
            principal, rate, n_months, rounding, day_count=day_count, start_date=start
        )
    except LoanMathError:
        reject()  # a long loan at a high rate whose cents do not work out

    result = schedule_apr(schedule, principal, fees, start)

    # Whatever day the loan starts on, payment k falls k whole months after it.
    flows = [(-(principal - fees), 0, Decimal(0))]
    flows += [(row.payment, row.number, Decimal(0)) for row in schedule.rows]
    assert result.apr_exact == _reference_apr_exact(flows, 12)
    assert result.apr == result.apr_exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@st.composite
def _irregular_loans(
    draw: st.DrawFn,
) -> tuple[list[CashFlow], list[CashFlow], UnitPeriod, list[TimedFlow]]:
    """Loans with an odd first period, irregular payments and draws, with each flow's (t, f)."""
    unit = draw(st.sampled_from([UnitPeriod.month, UnitPeriod.week, UnitPeriod.biweek]))
    advance_day = draw(st.dates(min_value=date(1990, 1, 1), max_value=date(2040, 12, 31)))
    n_payments = draw(st.integers(min_value=1, max_value=480 if unit is UnitPeriod.month else 260))
    # Draws among the payments may give the value several roots; without odd days, Norstrom's
    # condition below keeps only loans with one.
    draws_among_payments = draw(st.booleans())
    odd_days = (
        0
        if draws_among_payments
        else draw(st.integers(min_value=0, max_value=29 if unit is UnitPeriod.month else 13))
    )
    if unit is UnitPeriod.month:
        # Due on the same day of each month, odd days after the advance (see the test above).
        assume(advance_day.day <= 27)
        due_date = advance_day + timedelta(days=odd_days)
        assume(due_date < _months_after(advance_day, 1))
        # A lone payment on a month's last day cannot show it was due on the 29th to 31st.
        assume(n_payments > 1 or due_date.day <= 28)
        days = [_months_after(due_date, k) for k in range(1, n_payments + 1)]
        times = [(k, Decimal(odd_days) / 30) for k in range(1, n_payments + 1)]
        draw_days = [_months_after(advance_day, j) for j in range(1, 25)]
    else:
        period = 7 if unit is UnitPeriod.week else 14
        days = [
            advance_day + timedelta(days=odd_days + period * k) for k in range(1, n_payments + 1)
        ]
        times = [
            (odd_days // period + k, Decimal(odd_days % period) / period)
            for k in range(1, n_payments + 1)
        ]
        draw_days = [advance_day + timedelta(days=period * j) for j in range(1, 25)]
    level = draw(st.decimals(min_value=10, max_value=50_000, places=2))
    amounts = [level] * n_payments
    for index, amount in draw(
        st.lists(
            st.tuples(
                st.integers(min_value=0, max_value=n_payments - 1),
                st.decimals(min_value=1, max_value=100_000, places=2),
            ),
            max_size=5,
        )
    ):
        amounts[index] = amount
    financed = (sum(amounts) * draw(st.decimals(min_value="0.3", max_value=1, places=3))).quantize(
        Decimal("0.01")
    )
    # Draws a whole number of unit-periods after the advance: t = j, f = 0.
    last_draw = 24 if draws_among_payments else times[0][0]
    draw_periods = draw(
        st.lists(st.integers(min_value=1, max_value=last_draw), max_size=3, unique=True)
    )
    share = (financed / (len(draw_periods) + 1)).quantize(Decimal("0.01"))
    assume(share > 0)
    advances = [(financed - share * len(draw_periods), advance_day)]
    advances += [(share, draw_days[j - 1]) for j in draw_periods]
    flows = [(-advances[0][0], 0, Decimal(0))] + [(-share, j, Decimal(0)) for j in draw_periods]
    flows += [(amount, t, f) for amount, (t, f) in zip(amounts, times, strict=True)]
    if draws_among_payments:
        assume(_running_total_changes_sign_once(flows))
    return advances, list(zip(amounts, days, strict=True)), unit, flows


def _running_total_changes_sign_once(flows: list[TimedFlow]) -> bool:
    net: dict[int, Decimal] = {}
    for amount, whole, _ in flows:
        net[whole] = net.get(whole, Decimal(0)) + amount
    running, totals = Decimal(0), []
    for whole in sorted(net):
        running += net[whole]
        totals.append(running)
    signs = [total > 0 for total in totals if total != 0]
    changes = sum(1 for before, after in zip(signs, signs[1:], strict=False) if before != after)
    # Repaying exactly what was advanced would make a zero rate a second root.
    return changes == 1 and totals[-1] > 0


@settings(max_examples=80, deadline=None)
@given(loan=_irregular_loans())
def test_irregular_apr_matches_a_bisection_reference(
    loan: tuple[list[CashFlow], list[CashFlow], UnitPeriod, list[TimedFlow]],
) -> None:
    advances, payments, unit, flows = loan

    result = annual_percentage_rate(advances, payments, unit)

    assert result.apr_exact == _reference_apr_exact(flows, int(result.unit_periods_per_year))


# Refusals ---------------------------------------------------------------------------------------

D = Decimal
ADVANCE = [(D("1000.00"), date(1978, 1, 10))]
PAYMENTS = [(D("600.00"), date(1978, 2, 10)), (D("600.00"), date(1978, 3, 10))]

REFUSALS: list[tuple[Callable[[], object], str]] = [
    (lambda: level_payment(D(0), D(5), 12), "principal: must be greater than 0"),
    (lambda: amortization_schedule(D("-5.00"), D(5), 12), "principal: must be greater than 0"),
    (
        lambda: amortization_schedule(D("100.005"), D(5), 12),
        "principal: must have at most 2 decimal places",
    ),
    (
        lambda: amortization_schedule(D("100.00"), D(-1), 12),
        "annual_rate_percent: must not be negative",
    ),
    (lambda: amortization_schedule(D("100.00"), D(5), 0), "n_months: must be at least 1"),
    (
        lambda: amortization_schedule(D("1.00"), D(1000), 360),
        "a monthly payment of 0.83 never repays 1.00: it does not cover the month-1 interest "
        "of 0.83",
    ),
    (
        lambda: amortization_schedule(D("100.00"), D(0), 480, RoundingMode.up),
        "a monthly payment of 0.21 repays 100.00 before month 480; shorten the term",
    ),
    (
        lambda: amortization_schedule(D("100.00"), D(5), 12, day_count=DayCount.actual_365),
        "start_date: required for the actual/365 day count",
    ),
    (lambda: annual_percentage_rate([], PAYMENTS), "advances: at least one is required"),
    (lambda: annual_percentage_rate(ADVANCE, []), "payments: at least one is required"),
    (
        lambda: annual_percentage_rate([(D("-1000.00"), date(1978, 1, 10))], PAYMENTS),
        "advances[0].amount: must be greater than 0",
    ),
    (
        lambda: annual_percentage_rate(ADVANCE, [PAYMENTS[0], (D(0), date(1978, 3, 10))]),
        "payments[1].amount: must be greater than 0",
    ),
    (
        lambda: annual_percentage_rate(ADVANCE, [(D("1100.00"), date(1978, 1, 1))]),
        "payments[0].date: 1978-01-01 is before the first advance on 1978-01-10",
    ),
    (
        lambda: annual_percentage_rate(ADVANCE, [(D("900.00"), date(1978, 2, 10))]),
        "payments total 900.00, less than the amount financed 1000.00",
    ),
    (
        lambda: annual_percentage_rate(ADVANCE, PAYMENTS, "fortnight"),
        "unit_period: 'fortnight' is not one of week, biweek, semimonth, four_week, month, "
        "bimonth, quarter, semiyear, year, term",
    ),
    (
        lambda: annual_percentage_rate(ADVANCE, PAYMENTS, UnitPeriod.term),
        "unit_period: term applies only to a single advance repaid by a single payment",
    ),
    (
        lambda: apr_for_level_loan(D("1000.00"), D(5), 12, D("1000.00")),
        "prepaid_finance_charges: must be less than the principal",
    ),
]


@pytest.mark.parametrize(("compute", "message"), REFUSALS)
def test_bad_input_is_refused_in_one_line(compute: Callable[[], object], message: str) -> None:
    with pytest.raises(LoanMathError) as refused:
        compute()

    assert str(refused.value) == message


def _apr_json(**changes: object) -> str:
    given: dict[str, object] = {
        "advances": [{"amount": "1000.00", "date": "1978-01-10"}],
        "payments": [{"amount": "260.00", "date": f"1978-0{month}-10"} for month in range(2, 6)],
    }
    return json.dumps(given | changes)


SCHEDULE_JSON = '{"principal": "1000.00", "annual_rate": "5", "term_months": 12}'

JSON_REFUSALS: list[tuple[Callable[[str], object], str, str]] = [
    (
        run_apr,
        "{",
        "invalid JSON: Expecting property name enclosed in double quotes at line 1 column 2",
    ),
    (
        run_apr,
        '{"advances": [{"amount": NaN, "date": "1978-01-10"}]}',
        "invalid JSON: NaN is not an amount",
    ),
    (run_apr, json.dumps({"advances": []}), "advances: must not be empty (and 1 more problem)"),
    (
        run_apr,
        _apr_json(
            payments=[{"amount": "260.00", "date": "1978-02-10"}] * 3
            + [{"amount": "-260.00", "date": "1978-05-10"}]
        ),
        "payments[3].amount: must be greater than 0",
    ),
    (
        run_apr,
        _apr_json(payments=[{"amount": "1100.001", "date": "1978-02-10"}]),
        "payments[0].amount: must have at most 2 decimal places",
    ),
    (
        run_apr,
        _apr_json(advances=[{"amount": "1000.00", "date": 19780110}]),
        "advances[0].date: must be a date written YYYY-MM-DD",
    ),
    (
        run_apr,
        _apr_json(payments=[{"amount": "1100.00", "date": "1977-12-10"}]),
        "payments[0].date: 1977-12-10 is before the first advance on 1978-01-10",
    ),
    (
        run_apr,
        _apr_json(unit_period="fortnight"),
        "unit_period: must be one of 'week', 'biweek', 'semimonth', 'four_week', 'month', "
        "'bimonth', 'quarter', 'semiyear', 'year' or 'term'",
    ),
    (run_schedule, "[]", "input: must be a JSON object"),
    (
        run_schedule,
        '{"principal": "1000.00", "rate": "5", "term_months": 12}',
        "annual_rate: is required (and 1 more problem)",
    ),
    (
        run_schedule,
        '{"principal": "1000.00", "annual_rate": "5", "term_months": 12, "rounding": "down"}',
        "rounding: must be one of 'half_up', 'half_even' or 'up'",
    ),
    (
        run_schedule,
        '{"principal": "1.00", "annual_rate": "1000", "term_months": 360}',
        "a monthly payment of 0.83 never repays 1.00: it does not cover the month-1 interest "
        "of 0.83",
    ),
]


@pytest.mark.parametrize(("run", "text", "message"), JSON_REFUSALS)
def test_bad_json_is_refused_in_one_line(
    run: Callable[[str], object], text: str, message: str
) -> None:
    with pytest.raises(LoanMathError) as refused:
        run(text)

    assert str(refused.value) == message


def test_schedule_json_accepts_a_valid_loan() -> None:
    assert run_schedule(SCHEDULE_JSON)["payment"] == "85.61"
