"""Offer schemas: matches with exclusion reasons, priced offers, rankings and the safe harbor set."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lending.applications.ratios import Ratio
from lending.applications.schemas import ApplicationRead, LoanAmount, TermMonths, Version
from lending.models.lenders import CreditBand
from lending.models.offers import OfferKind, OfferStatus
from lending.offers.math import RoundingMode


class ExclusionRead(BaseModel):
    code: str
    message: str


class EligibleProduct(BaseModel):
    lender_id: uuid.UUID
    lender_name: str
    product_id: uuid.UUID
    product_name: str
    note_rate: Decimal
    estimated_monthly_payment: Decimal | None
    debt_to_income: Ratio | None
    loan_to_value: Ratio | None


class ExcludedProduct(BaseModel):
    lender_id: uuid.UUID
    lender_name: str
    product_id: uuid.UUID
    product_name: str
    reasons: list[ExclusionRead]


class LenderMatches(BaseModel):
    """Which products fit the application and, for every other product, why not."""

    application_id: uuid.UUID
    credit_band: CreditBand
    eligible: list[EligibleProduct]
    excluded: list[ExcludedProduct]


class FeeAmount(BaseModel):
    code: str
    name: str
    amount: Decimal
    finance_charge: bool


class OfferRead(BaseModel):
    """One offer with its Truth in Lending figures; `kind` says prequalified (an estimate from
    the catalog) or firm (made by the lender after underwriting; only those can be accepted)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    application_id: uuid.UUID
    lender_id: uuid.UUID
    lender_name: str
    product_id: uuid.UUID | None
    product_name: str | None
    kind: OfferKind
    status: OfferStatus
    amount: Decimal
    term_months: int
    note_rate: Decimal
    apr: Decimal
    monthly_payment: Decimal
    total_of_payments: Decimal
    finance_charge: Decimal
    amount_financed: Decimal
    prepaid_finance_charges: Decimal
    other_fees: Decimal
    points_and_fees: Decimal
    total_cost: Decimal
    fees: list[FeeAmount]
    risky_features: list[str]
    rank_by_apr: int | None
    rank_by_total_cost: int | None
    anti_steering: list[str] = Field(
        description="Which safe-harbor options this offer is (lowest_rate, ...)."
    )
    debt_to_income: Ratio | None
    expires_at: datetime
    expired: bool
    accepted_at: datetime | None


class AntiSteeringRead(BaseModel):
    """The Reg Z § 1026.36(e)(3) options presented with the offers."""

    lowest_rate: uuid.UUID | None
    lowest_rate_without_risky_features: uuid.UUID | None
    lowest_points_and_fees: uuid.UUID | None
    additional: list[uuid.UUID]
    lenders: list[uuid.UUID]
    qualifying_lenders: int
    minimum_lenders: int


class OffersRead(BaseModel):
    application_id: uuid.UUID
    prequalification_id: uuid.UUID | None
    as_of: date | None
    credit_band: CreditBand | None
    inputs: dict[str, Any] = Field(description="The borrower facts the offers were priced on.")
    offers: list[OfferRead] = Field(description="Firm offers first, then by APR, cheapest first.")
    ranked_by_total_cost: list[uuid.UUID]
    anti_steering: AntiSteeringRead | None
    excluded: list[ExcludedProduct]


class ExpiringOffer(BaseModel):
    """An active offer that runs out soon, with the client and application it belongs to."""

    offer_id: uuid.UUID
    application_id: uuid.UUID
    application_reference: str
    borrower_user_id: uuid.UUID
    borrower_name: str
    lender_id: uuid.UUID
    lender_name: str
    kind: OfferKind
    amount: Decimal
    term_months: int
    apr: Decimal
    monthly_payment: Decimal
    expires_at: datetime


class ExpiringOffers(BaseModel):
    as_of: datetime
    within_days: int
    items: list[ExpiringOffer] = Field(description="Soonest expiry first.")


class PaymentQuestion(BaseModel):
    """A what-if: a loan's payment, schedule and APR."""

    model_config = ConfigDict(extra="forbid")

    amount: LoanAmount
    annual_rate: Annotated[Decimal, Field(ge=0, le=100, decimal_places=4)] | None = Field(
        default=None, description="Note rate in percent a year, e.g. 7.5."
    )
    term_months: TermMonths
    prepaid_finance_charges: Annotated[
        Decimal, Field(ge=0, decimal_places=2, le=Decimal("1e11"))
    ] = Field(default=Decimal("0.00"))
    rounding: RoundingMode = RoundingMode.half_up
    product_id: uuid.UUID | None = None
    credit_band: CreditBand | None = None
    include_schedule: bool = False

    @model_validator(mode="after")
    def _rate_or_product(self) -> PaymentQuestion:
        if self.annual_rate is None and self.product_id is None:
            raise ValueError("give annual_rate, or product_id to use a product's rate")
        if self.product_id is not None and self.prepaid_finance_charges:
            raise ValueError("with product_id the product's own fees are used; omit the charges")
        return self


class ScheduleLine(BaseModel):
    number: int
    payment: Decimal
    interest: Decimal
    principal: Decimal
    balance: Decimal


class PaymentAnswer(BaseModel):
    amount: Decimal
    annual_rate: Decimal
    term_months: int
    monthly_payment: Decimal
    total_of_payments: Decimal
    total_interest: Decimal
    prepaid_finance_charges: Decimal
    amount_financed: Decimal
    finance_charge: Decimal
    apr: Decimal
    rounding: RoundingMode
    product_name: str | None
    schedule: list[ScheduleLine] | None


class AcceptOfferRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Version | None = None


class AcceptedOffer(BaseModel):
    offer: OfferRead
    application: ApplicationRead
