"""Lender catalog schemas: the catalog file's shape (validated on load) and what the API shows."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lending.models.applications import ProductType
from lending.models.lenders import CreditBand, SubmissionStatus
from lending.offers.math import DayCount, RoundingMode

CatalogMoney = Annotated[Decimal, Field(gt=0, lt=Decimal("1e12"), decimal_places=2)]
CatalogPercent = Annotated[Decimal, Field(ge=0, le=100, decimal_places=4)]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")]


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


class ProductSpec(_Spec):
    code: Slug
    name: str
    product_type: ProductType
    min_amount: CatalogMoney
    max_amount: CatalogMoney
    min_term_months: int = Field(ge=1, le=480)
    max_term_months: int = Field(ge=1, le=480)
    rate_table: dict[CreditBand, CatalogPercent] = Field(min_length=1)
    min_credit_band: CreditBand
    max_dti: CatalogPercent
    # Auto lenders lend above the vehicle's value (taxes, fees): up to 200%.
    max_ltv: Annotated[Decimal, Field(gt=0, le=200, decimal_places=4)] | None = None
    allowed_purposes: tuple[str, ...] = ()
    allowed_states: tuple[str, ...] = ()
    fees: tuple[FeeSpec, ...] = ()
    risky_features: tuple[RiskyFeature, ...] = ()
    conditions: ProductConditions = ProductConditions()
    rounding: RoundingMode = RoundingMode.half_up
    day_count: DayCount = DayCount.thirty_360
    offer_validity_days: int = Field(default=30, ge=1, le=365)
    active: bool = True

    @model_validator(mode="after")
    def _ranges(self) -> ProductSpec:
        if self.max_amount < self.min_amount:
            raise ValueError("max_amount is below min_amount")
        if self.max_term_months < self.min_term_months:
            raise ValueError("max_term_months is below min_term_months")
        return self


class LenderSpec(_Spec):
    slug: Slug
    name: str
    nmls_id: str | None = None
    website: str | None = None
    description: str | None = None
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
