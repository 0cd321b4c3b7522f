"""Debt-to-income and loan-to-value ratios by their standard definitions, with the inputs used."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from pydantic import BaseModel, Field

CENT = Decimal("0.01")
# Ratios are disclosed in percent to 2 places, rounded half-up; eligibility compares the exact
# ratio (numerator and denominator), so a 43.004% DTI does not pass a 43% limit by rounding.
RATIO_PLACES = Decimal("0.01")
RATIO_ROUNDING = ROUND_HALF_UP
# Gross monthly income is annual income / 12, rounded half-up to the cent.
INCOME_ROUNDING = ROUND_HALF_UP

DTI_DEFINITION = (
    "Debt-to-income: monthly debt payments, including housing and the new loan's payment, "
    "divided by gross monthly income (annual income / 12)."
)
DTI_MORTGAGE_DEFINITION = (
    "Debt-to-income: monthly debt payments plus the new mortgage payment (which replaces the "
    "current housing payment), divided by gross monthly income (annual income / 12). Taxes, "
    "insurance and association dues are not included in this estimate."
)
FRONT_END_DEFINITION = (
    "Front-end (housing) ratio: the new mortgage payment divided by gross monthly income."
)
LTV_DEFINITION = "Loan-to-value: loan amount divided by the lesser of purchase price and value."
CLTV_DEFINITION = (
    "Combined loan-to-value: existing liens plus the loan amount, divided by the lesser of "
    "purchase price and value."
)


class Ratio(BaseModel):
    """A ratio with what went into it, for the borrower and the broker to check."""

    name: Literal["dti", "front_end_dti", "ltv", "cltv"]
    percent: Decimal = Field(description="The ratio in percent, 2 places, rounded half-up.")
    numerator: Decimal
    denominator: Decimal
    inputs: dict[str, Decimal]
    definition: str

    def exceeds(self, limit_percent: Decimal) -> bool:
        """Whether the exact ratio is above `limit_percent` (not its rounded display)."""
        return self.numerator * 100 > limit_percent * self.denominator


def gross_monthly_income(annual_income: Decimal) -> Decimal:
    return (annual_income / 12).quantize(CENT, rounding=INCOME_ROUNDING)


def debt_to_income(
    *,
    annual_income: Decimal | None,
    monthly_debt_payments: Decimal | None,
    monthly_housing_payment: Decimal | None,
    new_payment: Decimal | None = None,
    replaces_housing: bool = False,
) -> Ratio | None:
    """Back-end DTI; None when the income is unknown or zero.

    Args:
        annual_income: Gross annual income.
        monthly_debt_payments: Existing non-housing debt payments a month.
        monthly_housing_payment: Current rent or mortgage payment a month.
        new_payment: The new loan's monthly payment, when a loan is being priced.
        replaces_housing: The new loan is a mortgage on the home: its payment replaces the
            current housing payment instead of adding to it.
    """
    if annual_income is None or annual_income <= 0:
        return None
    income = gross_monthly_income(annual_income)
    debts = monthly_debt_payments or Decimal("0.00")
    housing = Decimal("0.00") if replaces_housing else monthly_housing_payment or Decimal("0.00")
    inputs = {
        "gross_monthly_income": income,
        "monthly_debt_payments": debts,
        "monthly_housing_payment": housing,
    }
    total = debts + housing
    if new_payment is not None:
        inputs["new_loan_payment"] = new_payment
        total += new_payment
    return Ratio(
        name="dti",
        percent=_percent(total, income),
        numerator=total,
        denominator=income,
        inputs=inputs,
        definition=DTI_MORTGAGE_DEFINITION if replaces_housing else DTI_DEFINITION,
    )


def front_end_ratio(*, annual_income: Decimal | None, housing_payment: Decimal) -> Ratio | None:
    if annual_income is None or annual_income <= 0:
        return None
    income = gross_monthly_income(annual_income)
    return Ratio(
        name="front_end_dti",
        percent=_percent(housing_payment, income),
        numerator=housing_payment,
        denominator=income,
        inputs={"gross_monthly_income": income, "new_housing_payment": housing_payment},
        definition=FRONT_END_DEFINITION,
    )


def loan_to_value(
    *,
    amount: Decimal | None,
    value: Decimal | None,
    purchase_price: Decimal | None = None,
    existing_liens: Decimal | None = None,
) -> Ratio | None:
    """LTV (CLTV when there are existing liens); None when the amount or the value is unknown."""
    if amount is None or value is None or value <= 0:
        return None
    basis = min(value, purchase_price) if purchase_price else value
    liens = existing_liens or Decimal("0.00")
    inputs = {"loan_amount": amount, "value": value}
    if purchase_price:
        inputs["purchase_price"] = purchase_price
    if liens:
        inputs["existing_liens"] = liens
    numerator = amount + liens
    return Ratio(
        name="cltv" if liens else "ltv",
        percent=_percent(numerator, basis),
        numerator=numerator,
        denominator=basis,
        inputs=inputs,
        definition=CLTV_DEFINITION if liens else LTV_DEFINITION,
    )


def _percent(numerator: Decimal, denominator: Decimal) -> Decimal:
    return (numerator * 100 / denominator).quantize(RATIO_PLACES, rounding=RATIO_ROUNDING)
