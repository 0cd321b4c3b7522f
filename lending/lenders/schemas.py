"""Lender catalog schemas: the catalog file's shape (validated on load) and what the API shows."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from lending.models.applications import ProductType
from lending.models.lenders import (
    CreditBand,
    IntegrationAdapter,
    SubmissionStatus,
    WebhookOutcome,
)
from lending.offers.math import DayCount, RoundingMode
from lending.us_states import US_STATES

CatalogMoney = Annotated[Decimal, Field(gt=0, lt=Decimal("1e12"), decimal_places=2)]
CatalogPercent = Annotated[Decimal, Field(ge=0, le=100, decimal_places=4)]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
StateCode = Annotated[str, StringConstraints(to_upper=True, pattern=r"^[A-Za-z]{2}$")]
Purpose = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,47}$")]
Term = Annotated[int, Field(ge=1, le=480)]
ValidityDays = Annotated[int, Field(ge=1, le=365)]
# Auto lenders lend above the vehicle's value (taxes, fees): up to 200%.
LoanToValue = Annotated[Decimal, Field(gt=0, le=200, decimal_places=4)]
NmlsId = Annotated[str, Field(pattern=r"^[0-9]{1,16}$")]
WebUrl = Annotated[str, Field(max_length=200, pattern=r"^https?://[^\s/]+(/\S*)?$")]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


class RiskyFeature(StrEnum):
    """The loan features Reg Z § 1026.36(e)(3)(i)(B) sets apart for the anti-steering set."""

    PREPAYMENT_PENALTY = "prepayment_penalty"
    BALLOON_PAYMENT = "balloon_payment"
    INTEREST_ONLY = "interest_only"
    NEGATIVE_AMORTIZATION = "negative_amortization"
    DEMAND_FEATURE = "demand_feature"
    SHARED_EQUITY = "shared_equity"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeeSpec(_Spec):
    """A fee: a fixed amount or a percent of the loan amount, possibly varying by credit band.

    `finance_charge` fees (origination, points, underwriting) are prepaid at closing: they are
    in the finance charge, lower the amount financed and so raise the APR. Other fees
    (appraisal, title, recording) count in the total cost but not in the APR.
    """

    code: Slug
    name: str
    kind: Literal["fixed", "percent"]
    amount: Decimal | None = Field(default=None, ge=0)
    by_band: dict[CreditBand, Annotated[Decimal, Field(ge=0)]] | None = None
    finance_charge: bool

    @model_validator(mode="after")
    def _one_amount(self) -> FeeSpec:
        if (self.amount is None) == (self.by_band is None):
            raise ValueError("give either amount or by_band")
        return self


class ProductConditions(_Spec):
    """Eligibility rules beyond the standard ones; each is optional."""

    min_annual_income: CatalogMoney | None = None
    min_years_in_business: int | None = Field(default=None, ge=0)
    min_business_annual_revenue: CatalogMoney | None = None
    max_vehicle_age_years: int | None = Field(default=None, ge=0)
    max_vehicle_mileage: int | None = Field(default=None, ge=0)


class ProductTermsSpec(_Spec):
    """A product's terms, one version's worth: what a catalog edit writes (all validated)."""

    name: Name
    product_type: ProductType
    min_amount: CatalogMoney
    max_amount: CatalogMoney
    min_term_months: Term
    max_term_months: Term
    rate_table: dict[CreditBand, CatalogPercent] = Field(min_length=1)
    min_credit_band: CreditBand
    max_dti: CatalogPercent
    max_ltv: LoanToValue | None = None
    # Empty: any purpose of the product type / any state.
    allowed_purposes: tuple[Purpose, ...] = ()
    allowed_states: tuple[StateCode, ...] = ()
    fees: tuple[FeeSpec, ...] = ()
    risky_features: tuple[RiskyFeature, ...] = ()
    conditions: ProductConditions = ProductConditions()
    rounding: RoundingMode = RoundingMode.half_up
    day_count: DayCount = DayCount.thirty_360
    offer_validity_days: ValidityDays = 30

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.max_amount < self.min_amount:
            raise ValueError("max_amount is below min_amount")
        if self.max_term_months < self.min_term_months:
            raise ValueError("max_term_months is below min_term_months")
        unknown = sorted(set(self.allowed_states) - US_STATES)
        if unknown:
            raise ValueError(f"allowed_states has codes that are not US states: {unknown}")
        if len(set(self.allowed_states)) != len(self.allowed_states):
            raise ValueError("allowed_states lists a state twice")
        codes = [fee.code for fee in self.fees]
        if len(set(codes)) != len(codes):
            raise ValueError("two fees have the same code")
        return self


class ProductSpec(ProductTermsSpec):
    code: Slug
    active: bool = True


class LenderDetailsSpec(_Spec):
    """A lender's details, one version's worth."""

    name: Name
    nmls_id: NmlsId | None = None
    website: WebUrl | None = None
    description: Description | None = None


class LenderSpec(LenderDetailsSpec):
    slug: Slug
    active: bool = True
    products: tuple[ProductSpec, ...]


class CatalogSpec(_Spec):
    """A whole catalog file (lending/lenders/demo_catalog.json)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    lenders: tuple[LenderSpec, ...]


# What the API and tools show


class FeeRead(BaseModel):
    code: str
    name: str
    kind: Literal["fixed", "percent"]
    amount: Decimal | None = None
    by_band: dict[CreditBand, Decimal] | None = None
    finance_charge: bool


class ProductRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    lender_id: uuid.UUID
    code: str
    name: str
    product_type: ProductType
    min_amount: Decimal
    max_amount: Decimal
    min_term_months: int
    max_term_months: int
    rate_table: dict[CreditBand, Decimal]
    min_credit_band: CreditBand
    max_dti: Decimal
    max_ltv: Decimal | None
    allowed_purposes: list[str]
    allowed_states: list[str]
    fees: list[FeeRead]
    risky_features: list[str]
    conditions: dict[str, object]
    rounding: RoundingMode
    day_count: DayCount
    offer_validity_days: int
    active: bool


class LenderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    slug: str
    name: str
    nmls_id: str | None
    website: str | None
    description: str | None
    active: bool


class LenderWithProducts(LenderRead):
    products: list[ProductRead]


class SubmissionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    lender_id: uuid.UUID
    product_id: uuid.UUID | None
    status: SubmissionStatus
    external_reference: str | None
    decision_reason: str | None
    decided_at: datetime | None
    created_at: datetime
    updated_at: datetime


# The catalog service (lending.lenders.catalog_service): writes


class _Change(BaseModel):
    model_config = ConfigDict(extra="forbid")

    effective_from: date | None = Field(
        default=None,
        description="The first day (UTC) the change is in effect: today or later; default today.",
    )
    note: Note | None = Field(default=None, description="Why, kept with the version.")


class LenderCreate(LenderDetailsSpec, _Change):
    """A new lender (version 1). Its slug names it for good: in webhooks and to the lender."""

    model_config = ConfigDict(extra="forbid")

    slug: Slug


class LenderEdit(_Change):
    """A new version of a lender's details: the fields given, the rest as the latest version."""

    name: Name | None = None
    nmls_id: NmlsId | None = None
    website: WebUrl | None = None
    description: Description | None = None


class ProductCreate(ProductTermsSpec, _Change):
    """A new product of a lender (version 1). Its code names it for good."""

    model_config = ConfigDict(extra="forbid")

    code: Slug


class ProductEdit(_Change):
    """A new version of a product's terms: the fields given, the rest as the latest version.

    The merged terms are validated as a whole (so a new `min_amount` above the old
    `max_amount` is refused)."""

    name: Name | None = None
    product_type: ProductType | None = None
    min_amount: CatalogMoney | None = None
    max_amount: CatalogMoney | None = None
    min_term_months: Term | None = None
    max_term_months: Term | None = None
    rate_table: dict[CreditBand, CatalogPercent] | None = Field(default=None, min_length=1)
    min_credit_band: CreditBand | None = None
    max_dti: CatalogPercent | None = None
    max_ltv: LoanToValue | None = None
    allowed_purposes: tuple[Purpose, ...] | None = None
    allowed_states: tuple[StateCode, ...] | None = None
    fees: tuple[FeeSpec, ...] | None = None
    risky_features: tuple[RiskyFeature, ...] | None = None
    conditions: ProductConditions | None = None
    rounding: RoundingMode | None = None
    day_count: DayCount | None = None
    offer_validity_days: ValidityDays | None = None


class Retirement(_Change):
    """Retire a lender or product from a day: a last version, inactive. Nothing is deleted."""

    note: Note = Field(description="Why it is retired, kept with the version.")


class IntegrationUpdate(BaseModel):
    """How the platform reaches a lender (see IntegrationAdapter)."""

    model_config = ConfigDict(extra="forbid")

    adapter: IntegrationAdapter
    base_url: Annotated[str, Field(max_length=500, pattern=r"^https?://[^\s/]+(/\S*)?$")] | None = (
        Field(default=None, description="The lender's API base; required for `http` only.")
    )

    @model_validator(mode="after")
    def _url_for_http(self) -> Self:
        if (self.adapter is IntegrationAdapter.HTTP) != (self.base_url is not None):
            raise ValueError("base_url is required for the http adapter and only for it")
        return self


# The catalog service: reads


class LenderVersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    lender_id: uuid.UUID
    version: int
    effective_from: date
    active: bool
    name: str
    nmls_id: str | None
    website: str | None
    description: str | None
    note: str | None
    created_by_user_id: uuid.UUID | None
    created_at: datetime


class ProductVersionRead(BaseModel):
    """One version of a product's terms (`id` is the version's; offers keep it)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    product_id: uuid.UUID
    lender_id: uuid.UUID
    code: str
    version: int
    effective_from: date
    active: bool
    name: str
    product_type: ProductType
    min_amount: Decimal
    max_amount: Decimal
    min_term_months: int
    max_term_months: int
    rate_table: dict[CreditBand, Decimal]
    min_credit_band: CreditBand
    max_dti: Decimal
    max_ltv: Decimal | None
    allowed_purposes: list[str]
    allowed_states: list[str]
    fees: list[FeeRead]
    risky_features: list[str]
    conditions: dict[str, object]
    rounding: RoundingMode
    day_count: DayCount
    offer_validity_days: int
    note: str | None
    created_by_user_id: uuid.UUID | None
    created_at: datetime


class CatalogProduct(BaseModel):
    """A product as of a day: the version in effect then (None before its first version took
    effect) and the versions scheduled after it."""

    product_id: uuid.UUID
    code: str
    offered: bool = Field(description="In effect and active on the day, with its lender.")
    in_effect: ProductVersionRead | None
    scheduled: list[ProductVersionRead]


class WebhookSecretStatus(BaseModel):
    hint: str = Field(description="The secret's last characters, to tell which one a lender has.")
    created_at: datetime
    expires_at: datetime | None


class IntegrationRead(BaseModel):
    adapter: IntegrationAdapter
    base_url: str | None
    webhook_secrets: list[WebhookSecretStatus] = Field(
        description="The secrets that verify webhooks now, current first (none: the settings')."
    )


class CatalogLender(BaseModel):
    """A lender as of a day, for catalog managers: its versions in effect and scheduled, its
    products, and how it is reached."""

    id: uuid.UUID
    slug: str
    as_of: date
    in_effect: LenderVersionRead | None
    scheduled: list[LenderVersionRead]
    integration: IntegrationRead
    products: list[CatalogProduct]


class RotatedWebhookSecret(BaseModel):
    """A new webhook secret, shown this once: give it to the lender."""

    lender_id: uuid.UUID
    secret: str
    hint: str
    created_at: datetime
    previous_expires_at: datetime | None = Field(
        description="Until when the previous secret still verifies (None: there was none)."
    )


class LenderPerformance(BaseModel):
    """A lender's submissions created in [since, until] and loans funded in it.

    approval_rate = (approved + funded) / (approved + funded + declined), None with no decision;
    time to decision is from submission to an approval or decline still standing (a funded
    submission's decision time is its funding, so it is left out).
    """

    lender_id: uuid.UUID
    lender_name: str
    since: date
    until: date
    submissions: int
    approved: int
    declined: int
    referred: int
    funded: int
    pending: int
    approval_rate: Decimal | None
    median_hours_to_decision: Decimal | None
    mean_hours_to_decision: Decimal | None
    funded_loans: int
    funded_volume: Decimal


class WebhookDeliveryRead(BaseModel):
    """A lender's webhook delivery as the back office shows it (no personal data)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    received_at: datetime
    lender_code: str
    signature_ok: bool
    outcome: WebhookOutcome
    reason: str | None
    event_id: str | None
    event_type: str | None
    summary: dict[str, Any]
