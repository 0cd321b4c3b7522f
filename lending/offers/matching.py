"""Matching: which catalog products fit an application, and why each other product does not."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from lending.applications.ratios import Ratio, debt_to_income, loan_to_value
from lending.lenders.catalog import BAND_RANK, ProductTerms
from lending.models.applications import ProductType
from lending.models.lenders import CreditBand
from lending.offers.math import LoanMathError, level_payment


@dataclass(frozen=True, slots=True)
class BorrowerFacts:
    """What matching and pricing know about the borrower and the loan asked for."""

    product_type: ProductType
    purpose: str
    amount: Decimal
    term_months: int
    credit_band: CreditBand
    state: str | None
    annual_income: Decimal
    monthly_debt_payments: Decimal = Decimal("0.00")
    monthly_housing_payment: Decimal = Decimal("0.00")
    # A mortgage's payment replaces the current housing payment in the DTI.
    replaces_housing: bool = False
    collateral_value: Decimal | None = None
    purchase_price: Decimal | None = None
    existing_liens: Decimal = Decimal("0.00")
    vehicle_year: int | None = None
    vehicle_mileage: int | None = None
    years_in_business: int | None = None
    business_annual_revenue: Decimal | None = None
    as_of: date = field(default_factory=date.today)


@dataclass(frozen=True, slots=True)
class Exclusion:
    """Why a product is left out: a stable code and a sentence for the borrower.

    `code` is one of: product_type, purpose, state, amount, term, credit_band, no_rate, dti,
    ltv, collateral_value, income, years_in_business, business_revenue, vehicle_age,
    vehicle_mileage, pricing.
    """

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class MatchResult:
    product: ProductTerms
    exclusions: tuple[Exclusion, ...]
    note_rate: Decimal | None = None
    monthly_payment: Decimal | None = None
    dti: Ratio | None = None
    ltv: Ratio | None = None

    @property
    def eligible(self) -> bool:
        return not self.exclusions


def match_catalog(products: Iterable[ProductTerms], facts: BorrowerFacts) -> list[MatchResult]:
    return [match_product(product, facts) for product in products]


def match_product(product: ProductTerms, facts: BorrowerFacts) -> MatchResult:
    """Check every rule of the product, collecting all the reasons it does not fit."""
    if product.product_type is not facts.product_type:
        # A product of another type fails on that alone; its other rules would be noise.
        return MatchResult(
            product,
            (
                Exclusion(
                    "product_type",
                    f"{product.name} is a {product.product_type.value} product, not "
                    f"{facts.product_type.value}.",
                ),
            ),
        )
    reasons: list[Exclusion] = []
    if product.allowed_purposes and facts.purpose not in product.allowed_purposes:
        reasons.append(
            Exclusion(
                "purpose",
                f"{product.name} does not finance {facts.purpose.replace('_', ' ')}; it finances "
                f"{', '.join(sorted(p.replace('_', ' ') for p in product.allowed_purposes))}.",
            )
        )
    if product.allowed_states and facts.state not in product.allowed_states:
        reasons.append(
            Exclusion(
                "state",
                f"{product.lender_name} does not lend in {facts.state or 'an unknown state'}; "
                f"it lends in {', '.join(sorted(product.allowed_states))}.",
            )
        )
    amount_ok = product.min_amount <= facts.amount <= product.max_amount
    if not amount_ok:
        reasons.append(
            Exclusion(
                "amount",
                f"{product.name} lends {product.min_amount:,} to {product.max_amount:,}; "
                f"{facts.amount:,} is outside that range.",
            )
        )
    term_ok = product.min_term_months <= facts.term_months <= product.max_term_months
    if not term_ok:
        reasons.append(
            Exclusion(
                "term",
                f"{product.name} has terms of {product.min_term_months} to "
                f"{product.max_term_months} months; {facts.term_months} is outside that range.",
            )
        )
    if BAND_RANK[facts.credit_band] < BAND_RANK[product.min_credit_band]:
        reasons.append(
            Exclusion(
                "credit_band",
                f"{product.name} needs a {product.min_credit_band.value} credit band or better; "
                f"the stated score is in the {facts.credit_band.value} band.",
            )
        )
    note_rate = product.rate_table.get(facts.credit_band)
    if note_rate is None and BAND_RANK[facts.credit_band] >= BAND_RANK[product.min_credit_band]:
        reasons.append(
            Exclusion(
                "no_rate", f"{product.name} has no rate for the {facts.credit_band.value} band."
            )
        )
    reasons.extend(_conditions(product, facts))

    payment: Decimal | None = None
    dti: Ratio | None = None
    if note_rate is not None and amount_ok and term_ok:
        try:
            payment = level_payment(facts.amount, note_rate, facts.term_months, product.rounding)
        except LoanMathError as error:  # pragma: no cover - the catalog is validated on load
            reasons.append(Exclusion("no_rate", f"{product.name} cannot be priced: {error}"))
    if payment is not None:
        dti = debt_to_income(
            annual_income=facts.annual_income,
            monthly_debt_payments=facts.monthly_debt_payments,
            monthly_housing_payment=facts.monthly_housing_payment,
            new_payment=payment,
            replaces_housing=facts.replaces_housing,
        )
        if dti is None:
            reasons.append(Exclusion("income", "No income is known, so the DTI cannot be checked."))
        elif dti.exceeds(product.max_dti):
            reasons.append(
                Exclusion(
                    "dti",
                    f"With a payment of {payment:,} the debt-to-income ratio would be "
                    f"{dti.percent}%, above {product.name}'s limit of {product.max_dti.normalize()}%.",
                )
            )
    ltv = loan_to_value(
        amount=facts.amount,
        value=facts.collateral_value,
        purchase_price=facts.purchase_price,
        existing_liens=facts.existing_liens,
    )
    if product.max_ltv is not None:
        if ltv is None:
            reasons.append(
                Exclusion(
                    "collateral_value",
                    f"{product.name} lends against collateral; its value is not known yet.",
                )
            )
        elif ltv.exceeds(product.max_ltv):
            reasons.append(
                Exclusion(
                    "ltv",
                    f"The loan-to-value ratio would be {ltv.percent}%, above {product.name}'s "
                    f"limit of {product.max_ltv.normalize()}%.",
                )
            )
    return MatchResult(product, tuple(reasons), note_rate, payment, dti, ltv)


def _conditions(product: ProductTerms, facts: BorrowerFacts) -> list[Exclusion]:
    rules = product.conditions
    reasons: list[Exclusion] = []
    if (minimum := rules.get("min_annual_income")) is not None and facts.annual_income < Decimal(
        str(minimum)
    ):
        reasons.append(
            Exclusion(
                "income",
                f"{product.name} needs an annual income of at least {Decimal(str(minimum)):,}.",
            )
        )
    if (minimum := rules.get("min_years_in_business")) is not None and (
        facts.years_in_business is None or facts.years_in_business < int(minimum)
    ):
        reasons.append(
            Exclusion(
                "years_in_business",
                f"{product.name} needs at least {minimum} years in business.",
            )
        )
    if (minimum := rules.get("min_business_annual_revenue")) is not None and (
        facts.business_annual_revenue is None
        or facts.business_annual_revenue < Decimal(str(minimum))
    ):
        reasons.append(
            Exclusion(
                "business_revenue",
                f"{product.name} needs business revenue of at least "
                f"{Decimal(str(minimum)):,} a year.",
            )
        )
    if (maximum := rules.get("max_vehicle_age_years")) is not None and (
        facts.vehicle_year is not None and facts.as_of.year - facts.vehicle_year > int(maximum)
    ):
        reasons.append(
            Exclusion(
                "vehicle_age",
                f"{product.name} finances vehicles up to {maximum} years old.",
            )
        )
    if (maximum := rules.get("max_vehicle_mileage")) is not None and (
        facts.vehicle_mileage is not None and facts.vehicle_mileage > int(maximum)
    ):
        reasons.append(
            Exclusion(
                "vehicle_mileage",
                f"{product.name} finances vehicles with up to {int(maximum):,} miles.",
            )
        )
    return reasons
