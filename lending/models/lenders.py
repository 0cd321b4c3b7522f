"""Lender catalog tables (lenders, products, their versions, webhook secrets) and submissions of
applications to lenders."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from lending.models.applications import Money, ProductType, one_of, text_enum
from lending.models.base import Base, TimestampMixin, new_id
from lending.offers.math import DayCount, RoundingMode

# Percentages with 4 places: a note rate of 6.8750%, a maximum DTI of 43.0000%.
Percent = Numeric(7, 4)


class CreditBand(StrEnum):
    """Score bands a marketplace passes to lenders instead of the score (LENDING.md)."""

    EXCELLENT = "excellent"
    GOOD = "good"
    FAIR = "fair"
    POOR = "poor"


class SubmissionStatus(StrEnum):
    # Written by `submit` in the borrower's transaction, with its job.
    QUEUED = "queued"
    # The job ran; delivery to the lender is the lender-integration adapter's (issue 4, part 2).
    PENDING = "pending"
    SENT = "sent"
    RECEIVED = "received"
    APPROVED = "approved"
    REFERRED = "referred"
    DECLINED = "declined"
    FUNDED = "funded"
    FAILED = "failed"
    WITHDRAWN = "withdrawn"


class IntegrationAdapter(StrEnum):
    """How a lender is reached (lending.lenders.integration.registry).

    `simulator`: the shared lender API base of the settings (`OMNIFIN_LENDER_API_BASE_URL`),
    the layout `omnifin lender-sim` serves; what every lender used before issue 17.
    `http`: the lender's own API at `integration_base_url`. `none`: not connected; submissions
    wait as `pending` and webhooks are refused.
    """

    SIMULATOR = "simulator"
    HTTP = "http"
    NONE = "none"


class _LenderDetails:
    """A lender's versioned details (the head row holds the version in effect today)."""

    name: Mapped[str] = mapped_column(String(200))
    nmls_id: Mapped[str | None] = mapped_column(String(16))
    website: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))


class Lender(TimestampMixin, _LenderDetails, Base):
    """A lender: its identity (slug), the details in effect today and how it is reached.

    The details are versioned in `lender_version`; the columns here mirror the version in
    effect today (written by the catalog service, and by its hourly job when a scheduled version
    comes into effect). Prices never read them: matching reads the versions.
    """

    __tablename__ = "lender"
    __table_args__ = (
        CheckConstraint(one_of("integration_adapter", IntegrationAdapter), name="integration"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    integration_adapter: Mapped[IntegrationAdapter] = mapped_column(
        text_enum(IntegrationAdapter, "integration_adapter"),
        default=IntegrationAdapter.SIMULATOR,
        server_default=IntegrationAdapter.SIMULATOR.value,
    )
    # The lender's API base for the `http` adapter (None otherwise).
    integration_base_url: Mapped[str | None] = mapped_column(String(500))
    # The number of the version the details above were copied from.
    current_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class LenderVersion(_LenderDetails, Base):
    """A lender's details from `effective_from` (a UTC date) until a later version; never updated.

    The version in effect on a day is the one with the latest `effective_from` on or before it
    (the highest `version` among equals). `active` false retires the lender from that day.
    """

    __tablename__ = "lender_version"
    __table_args__ = (
        UniqueConstraint("lender_id", "version"),
        Index("ix_lender_version_lender_id_effective_from", "lender_id", "effective_from"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    lender_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lender.id", ondelete="RESTRICT"))
    version: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


def _product_checks() -> tuple[CheckConstraint, ...]:
    return (
        CheckConstraint(one_of("product_type", ProductType), name="product_type"),
        CheckConstraint(one_of("min_credit_band", CreditBand), name="min_credit_band"),
        CheckConstraint(one_of("rounding", RoundingMode), name="rounding"),
        CheckConstraint(one_of("day_count", DayCount), name="day_count"),
        CheckConstraint("min_amount > 0 AND max_amount >= min_amount", name="amount_range"),
        CheckConstraint(
            "min_term_months > 0 AND max_term_months >= min_term_months", name="term_range"
        ),
        CheckConstraint("offer_validity_days > 0", name="offer_validity_days"),
    )


class _ProductTerms:
    """A product's versioned terms: eligibility and pricing rules.

    `rate_table` maps a credit band to the note rate in percent (a band missing from it is not
    offered); `fees` is a list of {code, name, kind: fixed|percent, amount, finance_charge}
    where finance-charge fees are prepaid at closing and lower the amount financed.
    """

    name: Mapped[str] = mapped_column(String(200))
    product_type: Mapped[ProductType] = mapped_column(text_enum(ProductType, "product_type"))
    min_amount: Mapped[Decimal] = mapped_column(Money)
    max_amount: Mapped[Decimal] = mapped_column(Money)
    min_term_months: Mapped[int] = mapped_column(Integer)
    max_term_months: Mapped[int] = mapped_column(Integer)
    rate_table: Mapped[dict[str, str]] = mapped_column(JSONB)
    min_credit_band: Mapped[CreditBand] = mapped_column(text_enum(CreditBand, "credit_band"))
    max_dti: Mapped[Decimal] = mapped_column(Percent)
    max_ltv: Mapped[Decimal | None] = mapped_column(Percent)
    # Empty: any purpose of the product type / any state.
    allowed_purposes: Mapped[list[str]] = mapped_column(
        ARRAY(String(48)), default=list, server_default="{}"
    )
    allowed_states: Mapped[list[str]] = mapped_column(
        ARRAY(String(2)), default=list, server_default="{}"
    )
    fees: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default="[]")
    # Reg Z § 1026.36(e)(3)(i)(B) features: prepayment_penalty, balloon_payment, interest_only,
    # negative_amortization, demand_feature, shared_equity.
    risky_features: Mapped[list[str]] = mapped_column(
        ARRAY(String(48)), default=list, server_default="{}"
    )
    # Further eligibility rules by name (lending.offers.matching knows each): min_annual_income,
    # min_years_in_business, min_business_annual_revenue, max_vehicle_age_years,
    # max_vehicle_mileage.
    conditions: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    rounding: Mapped[RoundingMode] = mapped_column(
        text_enum(RoundingMode, "rounding_mode"), default=RoundingMode.half_up
    )
    day_count: Mapped[DayCount] = mapped_column(
        text_enum(DayCount, "day_count"), default=DayCount.thirty_360
    )
    offer_validity_days: Mapped[int] = mapped_column(Integer, default=30)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))


class LenderProduct(TimestampMixin, _ProductTerms, Base):
    """A loan product: its identity (lender and code) and the terms in effect today.

    The terms are versioned in `lender_product_version`; these columns mirror the version in
    effect today, as `Lender`'s do. Matching, pricing and what-ifs read the versions.
    """

    __tablename__ = "lender_product"
    __table_args__ = (UniqueConstraint("lender_id", "code"), *_product_checks())

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    lender_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lender.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(64))
    # The number of the version the terms above were copied from.
    current_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class LenderProductVersion(_ProductTerms, Base):
    """A product's terms from `effective_from` (a UTC date) until a later version; never updated.

    The version in effect on a day is chosen as for `LenderVersion`; `active` false retires the
    product from that day. `lender_id` and `code` repeat the product's (they never change) so
    that matching reads one table. Offers keep the id of the version that priced them.
    """

    __tablename__ = "lender_product_version"
    __table_args__ = (
        UniqueConstraint("product_id", "version"),
        Index(
            "ix_lender_product_version_product_id_effective_from", "product_id", "effective_from"
        ),
        *_product_checks(),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    product_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lender_product.id", ondelete="RESTRICT")
    )
    lender_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lender.id", ondelete="RESTRICT"))
    code: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class LenderWebhookSecret(Base):
    """A lender's webhook signing secret, encrypted (lending.crypto, bound to the row's id).

    The newest row is the current secret; a rotation gives the previous one an `expires_at`
    (a grace period while the lender switches), after which it verifies nothing.
    """

    __tablename__ = "lender_webhook_secret"
    __table_args__ = (
        Index("ix_lender_webhook_secret_lender_id_created_at", "lender_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    lender_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lender.id", ondelete="CASCADE"))
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    # The last characters of the secret, so a person can tell which one a lender holds.
    hint: Mapped[str] = mapped_column(String(8))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class WebhookOutcome(StrEnum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"  # the signature (or the lender) did not verify
    INVALID = "invalid"  # signed, but not an event we can read
    FAILED = "failed"  # signed and read, but recording it failed (the lender retries)


class LenderWebhookDelivery(Base):
    """One request to a lender's webhook and what became of it, for the back office's history:
    whether the signature verified, the event's id and type, the application it names and a
    summary without personal data (a decision's status and counts, a servicing report's kind)."""

    __tablename__ = "lender_webhook_delivery"
    __table_args__ = (
        CheckConstraint(one_of("outcome", WebhookOutcome), name="outcome"),
        Index(
            "ix_lender_webhook_delivery_reference_received_at",
            "application_reference",
            "received_at",
        ),
        Index("ix_lender_webhook_delivery_lender_code_received_at", "lender_code", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    lender_code: Mapped[str] = mapped_column(String(64))
    signature_ok: Mapped[bool] = mapped_column(Boolean)
    outcome: Mapped[WebhookOutcome] = mapped_column(text_enum(WebhookOutcome, "webhook_outcome"))
    reason: Mapped[str | None] = mapped_column(String(200))
    event_id: Mapped[str | None] = mapped_column(String(128))
    event_type: Mapped[str | None] = mapped_column(String(32))
    application_reference: Mapped[str | None] = mapped_column(String(64))
    summary: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")


class LenderSubmission(TimestampMixin, Base):
    """An application sent (or being sent) to one lender: one row per lender per application."""

    __tablename__ = "lender_submission"
    __table_args__ = (
        UniqueConstraint("application_id", "lender_id"),
        CheckConstraint(one_of("status", SubmissionStatus), name="status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("loan_application.id", ondelete="CASCADE")
    )
    lender_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lender.id", ondelete="RESTRICT"), index=True
    )
    # The lender product of the prequalified offer the borrower chose for this lender.
    product_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("lender_product.id", ondelete="SET NULL")
    )
    status: Mapped[SubmissionStatus] = mapped_column(
        text_enum(SubmissionStatus, "submission_status"), default=SubmissionStatus.QUEUED
    )
    job_id: Mapped[int | None] = mapped_column(BigInteger)
    external_reference: Mapped[str | None] = mapped_column(String(128))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
