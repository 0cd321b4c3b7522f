"""Pricing an offer: fees, the level payment, Reg Z disclosure figures and the Appendix J APR."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from lending.applications.ratios import Ratio
from lending.lenders.catalog import FeeTerms
from lending.models.base import new_id
from lending.models.lenders import CreditBand
from lending.offers.math import (
    CENT,
    DayCount,
    RoundingMode,
    amortization_schedule,
    schedule_apr,
)

ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class FeeLine:
    """A fee in currency for one loan; `finance_charge` fees are prepaid at closing."""

    code: str
    name: str
    amount: Decimal
    finance_charge: bool

    def as_json(self) -> dict[str, object]:
        return {
            "code": self.code,
            "name": self.name,
            "amount": str(self.amount),
            "finance_charge": self.finance_charge,
        }


@dataclass(frozen=True, slots=True)
class PricedOffer:
    """An offer's terms and its Truth in Lending figures.

    finance_charge = total interest + prepaid finance charges; amount_financed = amount −
    prepaid finance charges; total_of_payments = the sum of every scheduled payment;
    points_and_fees = the prepaid finance charges (origination fees and points, the figure the
    anti-steering set compares); total_cost = total interest + every fee.
    """

    id: uuid.UUID
    lender_id: uuid.UUID
    lender_name: str
    product_id: uuid.UUID | None
    product_name: str
    amount: Decimal
    term_months: int
    note_rate: Decimal
    apr: Decimal
    apr_exact: Decimal
    monthly_payment: Decimal
    total_of_payments: Decimal
    total_interest: Decimal
    finance_charge: Decimal
    amount_financed: Decimal
    prepaid_finance_charges: Decimal
    other_fees: Decimal
    points_and_fees: Decimal
    total_cost: Decimal
    fees: tuple[FeeLine, ...]
    risky_features: tuple[str, ...]
    rounding: RoundingMode
    day_count: DayCount
    expires_at: datetime
    dti: Ratio | None = None
    # The catalog version of the product's terms that priced it.
    product_version_id: uuid.UUID | None = None


def fee_lines(
    fees: Sequence[FeeTerms], *, amount: Decimal, band: CreditBand, rounding: RoundingMode
) -> tuple[FeeLine, ...]:
    """Each fee in currency: a percent fee is amount × percent / 100, rounded to the cent with
    the product's rounding mode; a band without an entry pays nothing for that fee."""
    lines: list[FeeLine] = []
    for fee in fees:
        value = fee.rate_or_amount(band)
        if value is None or value == 0:
            continue
        if fee.kind == "percent":
            money = (amount * value / 100).quantize(CENT, rounding=rounding.decimal_rounding)
        else:
            money = value.quantize(CENT)
        lines.append(FeeLine(fee.code, fee.name, money, fee.finance_charge))
    return tuple(lines)


def price_offer(
    *,
    lender_id: uuid.UUID,
    lender_name: str,
    product_id: uuid.UUID | None,
    product_name: str,
    amount: Decimal,
    product_version_id: uuid.UUID | None = None,
    term_months: int,
    note_rate: Decimal,
    fees: tuple[FeeLine, ...],
    rounding: RoundingMode,
    day_count: DayCount,
    now: datetime,
    validity_days: int,
    risky_features: tuple[str, ...] = (),
    dti: Ratio | None = None,
    offer_id: uuid.UUID | None = None,
) -> PricedOffer:
    """Price one offer.

    The APR is Appendix J's actuarial APR of the schedule's payments against the amount
    financed. With 30/360 interest the first payment is taken one month after closing (no odd
    days), so a prequalified APR does not depend on the day it is quoted; with actual/365 the
    schedule needs real dates and starts on the quote date.

    Raises:
        LoanMathError: If the terms cannot be priced (fees not below the amount, and so on).
    """
    prepaid = sum((fee.amount for fee in fees if fee.finance_charge), ZERO)
    other = sum((fee.amount for fee in fees if not fee.finance_charge), ZERO)
    start = now.date() if day_count is DayCount.actual_365 else None
    schedule = amortization_schedule(
        amount, note_rate, term_months, rounding, day_count=day_count, start_date=start
    )
    apr = schedule_apr(schedule, amount, prepaid, start)
    return PricedOffer(
        id=offer_id or new_id(),
        lender_id=lender_id,
        lender_name=lender_name,
        product_id=product_id,
        product_name=product_name,
        amount=amount,
        term_months=term_months,
        note_rate=note_rate,
        apr=apr.apr,
        apr_exact=apr.apr_exact,
        monthly_payment=schedule.payment,
        total_of_payments=schedule.total_of_payments,
        total_interest=schedule.total_interest,
        finance_charge=schedule.total_interest + prepaid,
        amount_financed=amount - prepaid,
        prepaid_finance_charges=prepaid,
        other_fees=other,
        points_and_fees=prepaid,
        total_cost=schedule.total_interest + prepaid + other,
        fees=fees,
        risky_features=risky_features,
        rounding=rounding,
        day_count=day_count,
        expires_at=now + timedelta(days=validity_days),
        dti=dti,
        product_version_id=product_version_id,
    )
