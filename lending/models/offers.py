"""Offer tables: prequalification runs (with exclusions and the anti-steering set) and offers."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ARRAY,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from lending.models.applications import Money, one_of, text_enum
from lending.models.base import Base, new_id
from lending.models.lenders import CreditBand, Percent


class OfferKind(StrEnum):
    # Estimated from the catalog after a soft pull; the lender has not underwritten it.
    PREQUALIFIED = "prequalified"
    # Made by the lender after underwriting; only a firm offer can be accepted.
    FIRM = "firm"


class OfferStatus(StrEnum):
    ACTIVE = "active"
    SUPERSEDED = "superseded"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class Prequalification(Base):
    """One run of matching and pricing for an application, as it was when it ran.

    `inputs` holds the borrower facts used (amount, term, band, income, debts, state,
    collateral), `excluded` every product left out with its reasons, and `anti_steering` the
    Reg Z § 1026.36(e) option set presented with the offers.
    """

    __tablename__ = "prequalification"
    __table_args__ = (
        CheckConstraint(one_of("credit_band", CreditBand), name="credit_band"),
        Index("ix_prequalification_application_id_created_at", "application_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("loan_application.id", ondelete="CASCADE")
    )
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    as_of: Mapped[date] = mapped_column(Date)
    credit_band: Mapped[CreditBand] = mapped_column(text_enum(CreditBand, "credit_band"))
    inputs: Mapped[dict[str, Any]] = mapped_column(JSONB)
    excluded: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    anti_steering: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Offer(Base):
    """A priced loan offer: prequalified (from a prequalification run) or firm (from a lender).

    Disclosure figures follow Reg Z: `finance_charge` is interest plus prepaid finance
    charges, `amount_financed` the amount less those charges, `apr` the Appendix J APR of the
    payments against the amount financed. `total_cost` is interest plus every fee.
    """

    __tablename__ = "offer"
    __table_args__ = (
        CheckConstraint(one_of("kind", OfferKind), name="kind"),
        CheckConstraint(one_of("status", OfferStatus), name="status"),
        Index("ix_offer_application_id_status", "application_id", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("loan_application.id", ondelete="CASCADE")
    )
    prequalification_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("prequalification.id", ondelete="CASCADE"), index=True
    )
    lender_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lender.id", ondelete="RESTRICT"))
    product_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("lender_product.id", ondelete="SET NULL")
    )
    # The version of the product's terms that priced the offer (None for older offers and for
    # firm offers on no catalog product).
    product_version_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("lender_product_version.id", ondelete="RESTRICT")
    )
    kind: Mapped[OfferKind] = mapped_column(text_enum(OfferKind, "offer_kind"))
    status: Mapped[OfferStatus] = mapped_column(
        text_enum(OfferStatus, "offer_status"), default=OfferStatus.ACTIVE
    )
    amount: Mapped[Decimal] = mapped_column(Money)
    term_months: Mapped[int] = mapped_column(Integer)
    note_rate: Mapped[Decimal] = mapped_column(Percent)
    apr: Mapped[Decimal] = mapped_column(Numeric(7, 2))
    apr_exact: Mapped[Decimal] = mapped_column(Numeric(16, 10))
    monthly_payment: Mapped[Decimal] = mapped_column(Money)
    total_of_payments: Mapped[Decimal] = mapped_column(Money)
    finance_charge: Mapped[Decimal] = mapped_column(Money)
    amount_financed: Mapped[Decimal] = mapped_column(Money)
    prepaid_finance_charges: Mapped[Decimal] = mapped_column(Money)
    other_fees: Mapped[Decimal] = mapped_column(Money)
    points_and_fees: Mapped[Decimal] = mapped_column(Money)
    total_cost: Mapped[Decimal] = mapped_column(Money)
    fees: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    risky_features: Mapped[list[str]] = mapped_column(ARRAY(String(48)), default=list)
    rank_by_apr: Mapped[int | None] = mapped_column(Integer)
    rank_by_total_cost: Mapped[int | None] = mapped_column(Integer)
    # Which anti-steering options this offer is: lowest_rate, lowest_rate_without_risky_features,
    # lowest_points_and_fees, additional_lender.
    anti_steering: Mapped[list[str]] = mapped_column(ARRAY(String(48)), default=list)
    # The debt-to-income ratio with this offer's payment, and its inputs.
    dti: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
