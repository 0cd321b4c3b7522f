"""Loan math in Decimal: level payments, amortization schedules and the Regulation Z APR."""

from __future__ import annotations

import calendar
import functools
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import (
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from enum import StrEnum

CENT = Decimal("0.01")
ZERO_MONEY = Decimal("0.00")

# Sanity bounds, so absurd input gets a sentence instead of a decimal overflow or a
# hundred-thousand-row schedule.
MAX_AMOUNT = Decimal("1000000000000")
MAX_ANNUAL_RATE_PERCENT = Decimal(1000)
MAX_TERM_MONTHS = 1200

# 34 digits (decimal128) keeps 360 compounded periods exact far past the cent, and each extra
# digit makes the APR solver slower; the context is fixed so callers' contexts cannot leak in.
_CONTEXT = Context(
    prec=34, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow]
)
# The solver stops when a Newton step moves the unit-period rate by less than this.
_RATE_TOLERANCE = Decimal("1e-12")
_MAX_ITERATIONS = 200
# The float seed's Newton iterations stop at a step this small (relative to the rate above a
# rate of 1): a few hundred units in a float's last place, still far inside _RATE_TOLERANCE.
_FLOAT_TOLERANCE = 1e-13
_MAX_FLOAT_ITERATIONS = 60
_FLOWS_PER_RUN_FOR_SEED = 4
# Below this the float sums lose too many digits to cancellation; the Decimal solve then starts
# from zero as it always did (1e-12 a unit-period is under 1e-7 percent a year).
_MIN_FLOAT_RATE = 1e-12
# A unit-period rate above this (10,000,000% a period) means the cash flows have no APR.
_MAX_UNIT_RATE = Decimal(100000)
_MAX_FLOAT_RATE = float(_MAX_UNIT_RATE)
_APR_EXACT_PLACES = Decimal("1e-10")
_REGULAR_TOLERANCE = Decimal("0.125")
_IRREGULAR_TOLERANCE = Decimal("0.25")
# Without a closing date the level-loan APR still needs dates; any day-of-month up to the 28th
# makes every payment fall exactly a whole number of months after it.
_NOMINAL_START = date(2001, 1, 1)
_NO_ODD_DAYS = Decimal(0)


class LoanMathError(ValueError):
    """Input the loan math refuses, with a one-line message a borrower or broker can act on."""


class RoundingMode(StrEnum):
    """How a product rounds interest and payments to the cent."""

    half_up = "half_up"
    half_even = "half_even"
    up = "up"

    @property
    def decimal_rounding(self) -> str:
        """The `decimal` module's constant for this mode."""
        return _DECIMAL_ROUNDING[self]


_DECIMAL_ROUNDING = {
    RoundingMode.half_up: ROUND_HALF_UP,
    RoundingMode.half_even: ROUND_HALF_EVEN,
    RoundingMode.up: ROUND_UP,
}


class DayCount(StrEnum):
    """How a product counts the days of a month's interest."""

    thirty_360 = "thirty_360"
    actual_365 = "actual_365"


class UnitPeriod(StrEnum):
    """Regulation Z Appendix J unit-periods; `term` is the single-advance, single-payment case."""

    week = "week"
    biweek = "biweek"
    semimonth = "semimonth"
    four_week = "four_week"
    month = "month"
    bimonth = "bimonth"
    quarter = "quarter"
    semiyear = "semiyear"
    year = "year"
    term = "term"


_PERIODS_PER_YEAR = {
    UnitPeriod.week: 52,
    UnitPeriod.biweek: 26,
    UnitPeriod.semimonth: 24,
    UnitPeriod.four_week: 13,
    UnitPeriod.month: 12,
    UnitPeriod.bimonth: 6,
    UnitPeriod.quarter: 4,
    UnitPeriod.semiyear: 2,
    UnitPeriod.year: 1,
}
_DAYS_PER_WEEKLY_PERIOD = {UnitPeriod.week: 7, UnitPeriod.biweek: 14, UnitPeriod.four_week: 28}
_MONTHS_PER_PERIOD = {
    UnitPeriod.month: 1,
    UnitPeriod.bimonth: 2,
    UnitPeriod.quarter: 3,
    UnitPeriod.semiyear: 6,
}
_PERIOD_OF_MONTHS = {months: unit for unit, months in _MONTHS_PER_PERIOD.items()} | {
    12: UnitPeriod.year
}
_PERIOD_OF_DAYS = {days: unit for unit, days in _DAYS_PER_WEEKLY_PERIOD.items()}


@dataclass(frozen=True, slots=True)
class ScheduleRow:
    """One month of an amortization schedule; `balance` is what is owed after the payment."""

    number: int
    payment: Decimal
    interest: Decimal
    principal: Decimal
    balance: Decimal


@dataclass(frozen=True, slots=True)
class AmortizationSchedule:
    """A level-payment loan month by month; the last row absorbs the rounding residual."""

    payment: Decimal
    rows: tuple[ScheduleRow, ...]
    total_interest: Decimal
    total_of_payments: Decimal


@dataclass(frozen=True, slots=True)
class AprResult:
    """An APR by the Appendix J actuarial method.

    Attributes:
        apr_exact: The annual percentage rate in percent, to 10 decimal places.
        apr: `apr_exact` rounded half-up to 2 places, the figure to disclose.
        unit_period: The unit-period the rate was computed over.
        unit_periods_per_year: 12 for a month; 365 / days (or 12 / months) for a `term`.
        regular: Whether Regulation Z calls the transaction regular, so its disclosed APR may
            be off by 1/8 point rather than 1/4.
    """

    apr_exact: Decimal
    apr: Decimal
    unit_period: UnitPeriod
    unit_periods_per_year: Decimal
    regular: bool


CashFlow = tuple[Decimal, date]


def level_payment(
    principal: Decimal,
    annual_rate_percent: Decimal,
    n_months: int,
    rounding: RoundingMode = RoundingMode.half_up,
) -> Decimal:
    """The level monthly payment P·r / (1 − (1 + r)^−n), with r = annual rate / 12 / 100.

    Args:
        principal: The amount lent, in currency units with at most 2 decimals.
        annual_rate_percent: The note rate in percent a year, e.g. `Decimal("6.25")`.
        n_months: The number of monthly payments.
        rounding: How the payment is rounded to the cent.

    Returns:
        The payment rounded to the cent; principal / n when the rate is zero.

    Raises:
        LoanMathError: If an argument is out of range.
    """
    _check_loan_terms(principal, annual_rate_percent, n_months)
    with localcontext(_CONTEXT):
        return _level_payment(principal, annual_rate_percent, n_months, rounding)


def amortization_schedule(
    principal: Decimal,
    annual_rate_percent: Decimal,
    n_months: int,
    rounding: RoundingMode = RoundingMode.half_up,
    *,
    day_count: DayCount = DayCount.thirty_360,
    start_date: date | None = None,
) -> AmortizationSchedule:
    """Amortize a level-payment loan month by month.

    Each month's interest is the balance times the periodic rate, rounded with `rounding`; the
    payment is `level_payment`, except the last, which pays off whatever remains so the balance
    ends at exactly 0.00.

    Args:
        principal: The amount lent, with at most 2 decimals.
        annual_rate_percent: The note rate in percent a year.
        n_months: The number of monthly payments.
        rounding: How interest and the payment are rounded to the cent.
        day_count: `thirty_360` charges a twelfth of the annual rate each month; `actual_365`
            charges the annual rate times the month's actual days / 365.
        start_date: The loan's start; payments fall on the same day of each following month.
            Required for `actual_365`.

    Returns:
        The payment, the rows and their totals.

    Raises:
        LoanMathError: If an argument is out of range, or the rounded payment cannot repay the
            loan in exactly `n_months` payments.
    """
    _check_loan_terms(principal, annual_rate_percent, n_months)
    if day_count is DayCount.actual_365 and start_date is None:
        raise LoanMathError("start_date: required for the actual/365 day count")
    mode = rounding.decimal_rounding
    # The start a month's actual days are counted from; None for 30/360.
    actual_from = start_date if day_count is DayCount.actual_365 else None
    rows: list[ScheduleRow] = []
    with localcontext(_CONTEXT):
        payment = _level_payment(principal, annual_rate_percent, n_months, rounding)
        balance = principal.quantize(CENT)
        for number in range(1, n_months + 1):
            # Multiplying before dividing keeps an exact half cent exact (162,000 at 3.875% is
            # 523.125), so the product's rounding mode, not the precision, decides the cent.
            if actual_from is not None:
                days = (
                    _add_months(actual_from, number) - _add_months(actual_from, number - 1)
                ).days
                accrued = balance * annual_rate_percent * days / 36500
            else:
                accrued = balance * annual_rate_percent / 1200
            interest = accrued.quantize(CENT, rounding=mode)
            if number == n_months:
                rows.append(ScheduleRow(number, balance + interest, interest, balance, ZERO_MONEY))
                break
            repaid = payment - interest
            if repaid <= 0:
                raise LoanMathError(
                    f"a monthly payment of {payment} never repays {principal}: it does not cover "
                    f"the month-{number} interest of {interest}"
                )
            balance -= repaid
            if balance <= 0:
                raise LoanMathError(
                    f"a monthly payment of {payment} repays {principal} before month {n_months}; "
                    "shorten the term"
                )
            rows.append(ScheduleRow(number, payment, interest, repaid, balance))
        total_interest = sum((row.interest for row in rows), ZERO_MONEY)
        total_of_payments = sum((row.payment for row in rows), ZERO_MONEY)
    return AmortizationSchedule(payment, tuple(rows), total_interest, total_of_payments)


def annual_percentage_rate(
    advances: Sequence[CashFlow],
    payments: Sequence[CashFlow],
    unit_period: UnitPeriod | str | None = None,
) -> AprResult:
    """The APR by the actuarial method of Regulation Z Appendix J.

    Solves Σ A_j / ((1 + f_j·i)(1 + i)^t_j) = Σ P_k / ((1 + f_k·i)(1 + i)^t_k) for the
    unit-period rate i, where t is the whole unit-periods and f the fraction of one from the
    first advance to each cash flow; APR = i × unit-periods per year.

    Time is counted back from each cash flow's date in whole unit-periods; the odd days left
    over are divided by 30 for a month (a multi-month or semimonthly period counts 30 days per
    month and divides by 30 × months or by 15), by the period's days for weekly periods, and by
    365 (or by 12 for whole months) for a year. A payment on a month's last day counts back on
    the day-of-month the payments are due on (February 28 in a schedule due on the 30th counts
    back to January 30), every other payment on its own day.

    Args:
        advances: (amount, date) of each advance; one for an ordinary loan.
        payments: (amount, date) of each payment, none before the first advance.
        unit_period: The unit-period; when omitted, the most common interval between payments
            (the shorter on a tie), or for a single advance repaid by a single payment the term
            itself (a year when the term is longer than a year).

    Returns:
        The exact and the disclosable APR, with the unit-period used and whether the
        transaction is regular.

    Raises:
        LoanMathError: If the cash flows are empty, not positive, out of order, repay less than
            was advanced, or the unit-period is unknown.
    """
    _check_cash_flows(advances, "advances")
    _check_cash_flows(payments, "payments")
    start = min(day for _, day in advances)
    for index, (_, day) in enumerate(payments):
        if day < start:
            raise LoanMathError(
                f"payments[{index}].date: {day.isoformat()} is before the first advance on "
                f"{start.isoformat()}"
            )
    with localcontext(_CONTEXT):
        advanced = sum((amount for amount, _ in advances), Decimal(0))
        repaid = sum((amount for amount, _ in payments), Decimal(0))
        if repaid < advanced:
            raise LoanMathError(
                f"payments total {repaid}, less than the amount financed {advanced}"
            )
        # The day-of-month payments fall due on, for the months too short to hold it; a lone
        # payment on a month's last day may stand for the advance's day (January 30 to February 28
        # is a whole month).
        due_day = max(day.day for _, day in payments)
        if len(payments) == 1:
            due_day = max(due_day, start.day)
        unit = _resolve_unit_period(unit_period, advances, payments, due_day)
        per_year = _periods_per_year(unit, start, payments, due_day)
        payment_times = [_unit_periods(start, day, unit, due_day) for _, day in payments]
        flows = sorted(
            [(amount, *time) for (amount, _), time in zip(payments, payment_times, strict=True)]
            + [(-amount, *_unit_periods(start, day, unit, due_day)) for amount, day in advances],
            key=lambda flow: flow[1],
        )
        rate = _solve_unit_rate(flows)
        apr_exact = (rate * per_year * 100).quantize(_APR_EXACT_PLACES, rounding=ROUND_HALF_UP)
    return AprResult(
        apr_exact=apr_exact,
        apr=apr_exact.quantize(CENT, rounding=ROUND_HALF_UP),
        unit_period=unit,
        unit_periods_per_year=per_year,
        regular=_is_regular(advances, payments, payment_times),
    )


def apr_within_tolerance(disclosed: Decimal, exact: Decimal, regular: bool) -> bool:
    """Whether a disclosed APR is accurate under Regulation Z § 1026.22(a)(2)-(3).

    Args:
        disclosed: The APR shown to the borrower, in percent.
        exact: The APR computed by the actuarial method, in percent.
        regular: Whether the transaction is regular (1/8 point) or irregular (1/4 point).

    Returns:
        True when the disclosed APR is within the tolerance of the exact one.
    """
    tolerance = _REGULAR_TOLERANCE if regular else _IRREGULAR_TOLERANCE
    return abs(disclosed - exact) <= tolerance


def apr_for_level_loan(
    principal: Decimal,
    annual_rate_percent: Decimal,
    n_months: int,
    prepaid_finance_charges: Decimal,
    rounding: RoundingMode = RoundingMode.half_up,
    start_date: date | None = None,
    *,
    day_count: DayCount = DayCount.thirty_360,
) -> AprResult:
    """The APR of a level-payment loan whose prepaid finance charges reduce the amount financed.

    Args:
        principal: The note amount, with at most 2 decimals.
        annual_rate_percent: The note rate in percent a year.
        n_months: The number of monthly payments.
        prepaid_finance_charges: Fees in the finance charge paid at closing (points,
            origination); zero gives an APR equal to the note rate up to rounding.
        rounding: How interest and the payment are rounded to the cent.
        start_date: The closing date; payments fall on the same day of each following month.
        day_count: The product's day count (see `amortization_schedule`).

    Returns:
        The APR of the schedule's payments against principal − prepaid finance charges.

    Raises:
        LoanMathError: If an argument is out of range or the fees are not less than the
            principal.
    """
    schedule = amortization_schedule(
        principal,
        annual_rate_percent,
        n_months,
        rounding,
        day_count=day_count,
        start_date=start_date,
    )
    return schedule_apr(schedule, principal, prepaid_finance_charges, start_date)


def schedule_apr(
    schedule: AmortizationSchedule,
    principal: Decimal,
    prepaid_finance_charges: Decimal,
    start_date: date | None = None,
) -> AprResult:
    """The APR of an amortization schedule's payments against principal − prepaid finance
    charges: `apr_for_level_loan` for a caller that already has the schedule (built with the
    same principal and `start_date`).

    Raises:
        LoanMathError: If the fees are out of range or not less than the principal.
    """
    _check_amount(prepaid_finance_charges, "prepaid_finance_charges", allow_zero=True)
    if prepaid_finance_charges >= principal:
        raise LoanMathError("prepaid_finance_charges: must be less than the principal")
    start = start_date or _NOMINAL_START
    due_dates = _monthly_due_dates(start, len(schedule.rows))
    payments = [(row.payment, due_dates[row.number - 1]) for row in schedule.rows]
    return annual_percentage_rate(
        [(principal - prepaid_finance_charges, start)], payments, UnitPeriod.month
    )


@functools.lru_cache(maxsize=64)
def _monthly_due_dates(start: date, n_months: int) -> tuple[date, ...]:
    """The dates 1 … n months after `start`; what-ifs without a date all share one start."""
    return tuple(_add_months(start, number) for number in range(1, n_months + 1))


def _level_payment(
    principal: Decimal, annual_rate_percent: Decimal, n_months: int, rounding: RoundingMode
) -> Decimal:
    if annual_rate_percent == 0:
        exact = principal / n_months
    else:
        rate = annual_rate_percent / 1200
        exact = principal * rate / (1 - (1 + rate) ** -n_months)
    return exact.quantize(CENT, rounding=rounding.decimal_rounding)


def _check_loan_terms(principal: Decimal, annual_rate_percent: Decimal, n_months: int) -> None:
    _check_amount(principal, "principal")
    if not annual_rate_percent.is_finite():
        raise LoanMathError("annual_rate_percent: must be a number")
    if annual_rate_percent < 0:
        raise LoanMathError("annual_rate_percent: must not be negative")
    if annual_rate_percent > MAX_ANNUAL_RATE_PERCENT:
        raise LoanMathError(f"annual_rate_percent: must be at most {MAX_ANNUAL_RATE_PERCENT}")
    if n_months < 1:
        raise LoanMathError("n_months: must be at least 1")
    if n_months > MAX_TERM_MONTHS:
        raise LoanMathError(f"n_months: must be at most {MAX_TERM_MONTHS}")


def _check_amount(amount: Decimal, field: str, *, allow_zero: bool = False) -> None:
    if problem := _amount_problem(amount, allow_zero=allow_zero):
        raise LoanMathError(f"{field}: {problem}")


def _amount_problem(amount: Decimal, *, allow_zero: bool = False) -> str | None:
    """What is wrong with an amount, or None when it is fine."""
    if not amount.is_finite():
        return "must be a number"
    if amount < 0 or (amount == 0 and not allow_zero):
        return f"must be {'at least' if allow_zero else 'greater than'} 0"
    if amount >= MAX_AMOUNT:
        return f"must be less than {MAX_AMOUNT}"
    if amount != amount.quantize(CENT):
        return "must have at most 2 decimal places"
    return None


def _check_cash_flows(flows: Sequence[CashFlow], field: str) -> None:
    if not flows:
        raise LoanMathError(f"{field}: at least one is required")
    for index, (amount, _) in enumerate(flows):
        # The field's name is formatted only for a refusal: this runs for every payment.
        if problem := _amount_problem(amount):
            raise LoanMathError(f"{field}[{index}].amount: {problem}")


def _days_in_month(year: int, month: int) -> int:
    # calendar.monthrange also works out a weekday; this runs for every payment of every solve.
    if month == 2 and calendar.isleap(year):
        return 29
    return _MONTH_DAYS[month]


_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _add_months(day: date, months: int, day_of_month: int | None = None) -> date:
    """`day` moved by whole months, on `day_of_month` (default its own) clamped to the month."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    last = _days_in_month(year, month + 1)
    return date(year, month + 1, min(day_of_month or day.day, last))


def _is_month_end(day: date) -> bool:
    return day.day == _days_in_month(day.year, day.month)


def _months_back(later: date, months: int, due_day: int) -> date:
    """`later` moved back whole months, keeping the day-of-month payments are due on.

    A month's last day stands for the due day when that day does not fit the month (February
    28 in a schedule due on the 30th or the 31st); otherwise `later` keeps its own day, so a
    schedule due on the 28th stays on the 28th.
    """
    day_of_month = max(due_day, later.day) if _is_month_end(later) else later.day
    return _add_months(later, -months, day_of_month)


def _whole_months_and_days(earlier: date, later: date, due_day: int) -> tuple[int, int]:
    """Whole months counted back from `later` towards `earlier`, and the days left over."""
    months = max((later.year - earlier.year) * 12 + later.month - earlier.month, 0)
    # Same day of the month: whole months, no odd days (no month ends before the 28th).
    if later.day == earlier.day and (later.day < 28 or not _is_month_end(later)):
        return months, 0
    back = _months_back(later, months, due_day)
    while months > 0 and back < earlier:
        months -= 1
        back = _months_back(later, months, due_day)
    return months, (back - earlier).days


def _unit_periods(start: date, day: date, unit: UnitPeriod, due_day: int) -> tuple[int, Decimal]:
    """Whole unit-periods t and the fraction f of one from `start` to `day` (Appendix J (b)(5))."""
    if day == start:
        return 0, _NO_ODD_DAYS
    if unit is UnitPeriod.month:  # by far the most common unit-period, so tested first
        months, odd_days = _whole_months_and_days(start, day, due_day)
        return months, Decimal(odd_days) / 30 if odd_days else _NO_ODD_DAYS
    if unit is UnitPeriod.term:
        return 1, _NO_ODD_DAYS
    if unit in _DAYS_PER_WEEKLY_PERIOD:
        period_days = _DAYS_PER_WEEKLY_PERIOD[unit]
        whole, odd_days = divmod((day - start).days, period_days)
        return whole, Decimal(odd_days) / period_days
    months, odd_days = _whole_months_and_days(start, day, due_day)
    if unit is UnitPeriod.year:
        years = months // 12
        if odd_days == 0:
            return years, Decimal(months - years * 12) / 12
        return years, Decimal((_months_back(day, years * 12, due_day) - start).days) / 365
    # Semimonthly and multi-month periods count 30 days to every whole month.
    period_days = 15 if unit is UnitPeriod.semimonth else 30 * _MONTHS_PER_PERIOD[unit]
    whole, remaining = divmod(30 * months + odd_days, period_days)
    return whole, Decimal(remaining) / period_days


def _resolve_unit_period(
    requested: UnitPeriod | str | None,
    advances: Sequence[CashFlow],
    payments: Sequence[CashFlow],
    due_day: int,
) -> UnitPeriod:
    single = len(advances) == 1 and len(payments) == 1
    if requested is not None:
        try:
            unit = UnitPeriod(requested)
        except ValueError:
            known = ", ".join(unit.value for unit in UnitPeriod)
            raise LoanMathError(f"unit_period: {requested!r} is not one of {known}") from None
        if unit is UnitPeriod.term and not single:
            raise LoanMathError(
                "unit_period: term applies only to a single advance repaid by a single payment"
            )
    elif single:
        unit = UnitPeriod.term
    else:
        unit = _common_period(advances, payments, due_day)
    if unit is UnitPeriod.term:
        advance_day, payment_day = advances[0][1], payments[0][1]
        if payment_day == advance_day:
            raise LoanMathError("payments[0].date: a single payment must fall after the advance")
        # Appendix J (b)(3)(iv): the term is the unit-period, but never more than a year.
        if payment_day > _add_months(advance_day, 12):
            return UnitPeriod.year
    return unit


def _common_period(
    advances: Sequence[CashFlow], payments: Sequence[CashFlow], due_day: int
) -> UnitPeriod:
    """The interval between payments that occurs most often (Appendix J (b)(3))."""
    intervals = _intervals({day for _, day in payments})
    if not intervals:
        # One payment after several advances: the intervals between the advances decide.
        intervals = _intervals({day for _, day in (*advances, *payments)})
    if not intervals:
        raise LoanMathError("unit_period: cannot be inferred when every cash flow is on one date")
    counts = Counter(
        unit for a, b in intervals if (unit := _interval_period(a, b, due_day)) is not None
    )
    if counts:
        # On a tie the shorter period wins (Appendix J (b)(3)(ii)).
        return max(counts, key=lambda unit: (counts[unit], _PERIODS_PER_YEAR[unit]))
    # No standard interval at all: the average, rounded to the nearest standard period.
    average_days = Decimal(sum((b - a).days for a, b in intervals)) / len(intervals)
    return min(
        _PERIODS_PER_YEAR,
        key=lambda unit: (
            abs(Decimal(365) / _PERIODS_PER_YEAR[unit] - average_days),
            -_PERIODS_PER_YEAR[unit],
        ),
    )


def _intervals(days: set[date]) -> list[tuple[date, date]]:
    ordered = sorted(days)
    return list(zip(ordered, ordered[1:], strict=False))


def _interval_period(earlier: date, later: date, due_day: int) -> UnitPeriod | None:
    months, odd_days = _whole_months_and_days(earlier, later, due_day)
    if odd_days == 0 and months in _PERIOD_OF_MONTHS:
        return _PERIOD_OF_MONTHS[months]
    days = (later - earlier).days
    if days in _PERIOD_OF_DAYS:
        return _PERIOD_OF_DAYS[days]
    # Semimonthly dates (the 1st and 16th, the 15th and the month's end) sit 13 to 16 days apart.
    if 13 <= days <= 16:
        return UnitPeriod.semimonth
    return None


def _periods_per_year(
    unit: UnitPeriod, start: date, payments: Sequence[CashFlow], due_day: int
) -> Decimal:
    if unit is not UnitPeriod.term:
        return Decimal(_PERIODS_PER_YEAR[unit])
    payment_day = payments[0][1]
    months, odd_days = _whole_months_and_days(start, payment_day, due_day)
    # Appendix J (b)(5)(vii)-(viii): 12 / months for a term of whole months, else 365 / days.
    if odd_days == 0:
        return Decimal(12) / months
    return Decimal(365) / (payment_day - start).days


def _is_regular(
    advances: Sequence[CashFlow],
    payments: Sequence[CashFlow],
    payment_times: Sequence[tuple[int, Decimal]],
) -> bool:
    """Whether § 1026.22(a)(3) calls the transaction regular rather than irregular.

    Regular means one advance, and payments one unit-period apart in equal amounts, except that
    the first period and the first and last payments may differ.
    """
    if len(advances) != 1:
        return False
    ordered = sorted(zip(payments, payment_times, strict=True), key=lambda pair: pair[0][1])
    times = [time for _, time in ordered]
    equal_periods = all(
        later[0] - earlier[0] == 1 and later[1] == earlier[1]
        for earlier, later in zip(times, times[1:], strict=False)
    )
    middle_amounts = {amount for (amount, _), _ in ordered[1:-1]}
    return equal_periods and len(middle_amounts) <= 1


def _discounted(
    flows: Sequence[tuple[Decimal, int, Decimal]], rate: Decimal
) -> tuple[Decimal, Decimal]:
    """Σ amount / ((1 + f·i)(1 + i)^t) at i = `rate`, and its derivative in i.

    `flows` are sorted by t, so (1 + i)^−t is built by multiplying up from the last one rather
    than raised afresh for every payment.
    """
    discount = 1 / (1 + rate)
    power = Decimal(1)
    periods = 0
    value = Decimal(0)
    by_periods = Decimal(0)
    by_odd_days = Decimal(0)
    for amount, whole, fraction in flows:
        if whole != periods:
            power *= discount if whole - periods == 1 else discount ** (whole - periods)
            periods = whole
        term = amount * power
        if fraction:
            odd_growth = 1 + fraction * rate
            term /= odd_growth
            by_odd_days += term * fraction / odd_growth
        value += term
        by_periods += term * whole
    return value, -(by_periods * discount + by_odd_days)


def _solve_unit_rate(flows: Sequence[tuple[Decimal, int, Decimal]]) -> Decimal:
    """The unit-period rate at which the payments' and advances' present values are equal.

    Newton's method, kept inside a bracket [low, high] where the net present value changes
    sign; a step that leaves the bracket (or a flat derivative) is replaced by bisection, or by
    widening the bracket while no rate with a negative value has been seen.

    Each Decimal evaluation costs a pass over every cash flow, and from a zero rate Newton
    needs four to seven of them; where the root is unique and the flows fold into a few runs of
    equal payments it starts instead from the root found in binary floats (`_float_seed`),
    which is usually within 1e-17 of the Decimal one, so one Decimal evaluation and one Newton
    step finish the solve. The Decimal steps stay the
    authority: the float only chooses where they begin.
    """
    runs = _runs(flows)
    # At a zero rate nothing is discounted: the value is the amounts' sum (exact in cents).
    value = sum((amount * count for amount, _, count, _ in runs), Decimal(0))
    if value == 0:
        return Decimal(0)
    low, high = Decimal(0), None
    # A float pass costs a few µs a run: worth it while the runs are far fewer than the flows
    # (a level loan's are two or three), not for payments that all differ.
    seed = _float_seed(runs) if len(runs) * _FLOWS_PER_RUN_FOR_SEED <= len(flows) else None
    if seed is None:
        # From a zero rate the first Newton step needs no powers.
        rate = Decimal(0)
        slope = -sum((amount * (whole + fraction) for amount, whole, fraction in flows), Decimal(0))
    else:
        rate = Decimal(repr(seed))
        value, slope = _discounted(flows, rate)
        if value == 0:
            return rate
        if value > 0:
            low = rate
        else:
            high = rate
    for _ in range(_MAX_ITERATIONS):
        candidate = rate - value / slope if slope < 0 else None
        if candidate is not None and abs(candidate - rate) <= _RATE_TOLERANCE:
            # Newton converges quadratically: once a step is this small, the next is ~0.
            return candidate
        if candidate is None or candidate <= low or (high is not None and candidate >= high):
            candidate = (low + high) / 2 if high is not None else max(low * 4, Decimal("0.01"))
        if candidate > _MAX_UNIT_RATE:
            break
        rate = candidate
        value, slope = _discounted(flows, rate)
        if value == 0:
            return rate
        if value > 0:
            low = rate
        else:
            high = rate
        if high is not None and high - low <= _RATE_TOLERANCE:
            return (low + high) / 2
    raise LoanMathError("no annual percentage rate makes these payments repay the advances")


# A run of flows: one amount paid at `count` consecutive whole unit-periods from `first`, all with
# the same odd-days fraction (a level loan's payments are one or two runs).
_Run = tuple[Decimal, int, int, Decimal]


def _float_seed(runs: Sequence[_Run]) -> float | None:
    """Where the Decimal solve should start: the root found in binary floats, or None to start
    from zero (the value may have several roots, or the float iterations went astray).

    Over runs of equal payments each run's present value is a geometric series summed in
    closed form, so a float Newton iteration costs a few operations per run instead of a
    Decimal pass over every flow. The float root is within a few units in
    the last place of the true rate, well inside the Decimal solver's tolerance. No amount ever
    leaves the solver as a float: the Decimal Newton steps decide the rate.
    """
    if not _has_one_root(runs):
        return None
    terms = [
        (float(amount), first, count, float(fraction)) for amount, first, count, fraction in runs
    ]
    # From a zero rate Newton's first step needs no powers: Σ a / Σ a·(t + f).
    value = sum(amount * count for amount, _, count, _ in terms)
    slope = -sum(
        amount * count * (first + (count - 1) / 2 + fraction)
        for amount, first, count, fraction in terms
    )
    rate = 0.0
    for _ in range(_MAX_FLOAT_ITERATIONS):
        if not slope < 0:  # also catches a NaN
            return None
        step = value / slope
        rate -= step
        if not _MIN_FLOAT_RATE < rate <= _MAX_FLOAT_RATE:
            return None
        if abs(step) <= _FLOAT_TOLERANCE * max(rate, 1.0):
            return rate
        value, slope = _float_discounted(terms, rate)
    return None


def _runs(flows: Sequence[tuple[Decimal, int, Decimal]]) -> list[_Run]:
    """The flows, in order, as runs of one amount over consecutive whole unit-periods."""
    runs: list[_Run] = []
    amount, first, fraction = flows[0]
    count = 1
    for next_amount, whole, next_fraction in flows[1:]:
        if whole == first + count and next_amount == amount and next_fraction == fraction:
            count += 1
        else:
            runs.append((amount, first, count, fraction))
            amount, first, count, fraction = next_amount, whole, 1, next_fraction
    runs.append((amount, first, count, fraction))
    return runs


def _has_one_root(runs: Sequence[_Run]) -> bool:
    """Whether every advance comes no later than every payment, so the value has one root.

    The value times the last advance's discount factor then falls as the rate rises: each
    later flow is discounted faster than each earlier one (an odd-days fraction is at most one
    unit-period), so only one rate zeroes it and Newton's method ends on that rate from any
    start. With a payment between advances there may be several; the solve then keeps its
    zero start, so it keeps finding the rate it always found.
    """
    last_advance = max((first + count - 1, frac) for amt, first, count, frac in runs if amt < 0)
    first_payment = min((first, frac) for amt, first, _, frac in runs if amt > 0)
    return last_advance <= first_payment


def _float_discounted(
    terms: Sequence[tuple[float, int, int, float]], rate: float
) -> tuple[float, float]:
    """`_discounted` in floats over runs, each run's sums over its periods in closed form.

    For t = first … first + n − 1 and v = 1 / (1 + i): Σ v^t = v^first·(1 − v^n)·(1 + i) / i
    and Σ t·v^t = first·Σ v^t + v^first·((1 − v^n) / i − n·v^n)·(1 + i) / i, with 1 − v^n
    from expm1 so a small rate loses no digits to cancellation.
    """
    log_growth = math.log1p(rate)
    growth_over_rate = (1 + rate) / rate
    value = slope = 0.0
    for amount, first, count, fraction in terms:
        head = math.exp(-first * log_growth)
        paid_off = -math.expm1(-count * log_growth)
        powers = head * paid_off * growth_over_rate
        weighted = first * powers + head * (paid_off / rate - count * (1 - paid_off)) * (
            growth_over_rate
        )
        odd_growth = 1 + fraction * rate
        value += amount * powers / odd_growth
        slope -= amount * (weighted / (1 + rate) + fraction * powers / odd_growth) / odd_growth
    return value, slope
