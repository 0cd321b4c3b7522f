"""A lender product's terms as plain values, the form matching and pricing work on."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from lending.models.applications import ProductType
from lending.models.lenders import CreditBand, LenderProductVersion, LenderVersion
from lending.offers.math import DayCount, RoundingMode

BAND_RANK: dict[CreditBand, int] = {
    CreditBand.POOR: 0,
    CreditBand.FAIR: 1,
    CreditBand.GOOD: 2,
    CreditBand.EXCELLENT: 3,
}


@dataclass(frozen=True, slots=True)
class FeeTerms:
    code: str
    name: str
    kind: Literal["fixed", "percent"]
    amount: Decimal | None
    by_band: dict[CreditBand, Decimal] | None
    finance_charge: bool

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeeTerms:
        by_band = data.get("by_band")
        return cls(
            code=data["code"],
            name=data["name"],
            kind=data["kind"],
            amount=None if data.get("amount") is None else Decimal(str(data["amount"])),
            by_band=None
            if by_band is None
            else {CreditBand(band): Decimal(str(value)) for band, value in by_band.items()},
            finance_charge=bool(data["finance_charge"]),
        )

    def rate_or_amount(self, band: CreditBand) -> Decimal | None:
        """The fee's amount (fixed) or percent for a band; None if the band has no entry."""
        if self.by_band is not None:
            return self.by_band.get(band)
        return self.amount


@dataclass(frozen=True, slots=True)
class ProductTerms:
    """Everything matching and pricing read about a product, detached from the session."""

    id: uuid.UUID
    lender_id: uuid.UUID
    lender_slug: str
    lender_name: str
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
    allowed_purposes: frozenset[str]
    allowed_states: frozenset[str]
    fees: tuple[FeeTerms, ...]
    risky_features: tuple[str, ...]
    conditions: dict[str, Any] = field(default_factory=dict)
    rounding: RoundingMode = RoundingMode.half_up
    day_count: DayCount = DayCount.thirty_360
    offer_validity_days: int = 30
    # The catalog version these terms are (lender_product_version.id); offers keep it.
    version_id: uuid.UUID | None = None

    @classmethod
    def from_version(
        cls, product: LenderProductVersion, lender_slug: str, lender: LenderVersion
    ) -> ProductTerms:
        """A product's version with its lender's version (the ones in effect on one day)."""
        return cls._build(product, product.product_id, product.id, lender_slug, lender.name)

    @classmethod
    def from_catalog_row(cls, row: Any) -> ProductTerms:
        """From a row of LenderRepository.catalog_on: version columns + lender_slug/name."""
        return cls._build(row, row.id, row.version_id, row.lender_slug, row.lender_name)

    @classmethod
    def _build(
        cls,
        product: Any,
        product_id: uuid.UUID,
        version_id: uuid.UUID,
        lender_slug: str,
        lender_name: str,
    ) -> ProductTerms:
        return cls(
            id=product_id,
            version_id=version_id,
            lender_id=product.lender_id,
            lender_slug=lender_slug,
            lender_name=lender_name,
            code=product.code,
            name=product.name,
            product_type=ProductType(product.product_type),
            min_amount=product.min_amount,
            max_amount=product.max_amount,
            min_term_months=product.min_term_months,
            max_term_months=product.max_term_months,
            rate_table={
                CreditBand(band): Decimal(str(rate)) for band, rate in product.rate_table.items()
            },
            min_credit_band=CreditBand(product.min_credit_band),
            max_dti=product.max_dti,
            max_ltv=product.max_ltv,
            allowed_purposes=frozenset(product.allowed_purposes),
            allowed_states=frozenset(product.allowed_states),
            fees=tuple(FeeTerms.from_json(fee) for fee in product.fees),
            risky_features=tuple(product.risky_features),
            conditions=dict(product.conditions),
            rounding=RoundingMode(product.rounding),
            day_count=DayCount(product.day_count),
            offer_validity_days=product.offer_validity_days,
        )
