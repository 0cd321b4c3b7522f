"""Application tables: borrower profiles, consent records, loan applications and their events."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    Sequence,
    SmallInteger,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from lending.models.base import Base, TimestampMixin, new_id

# Money: 12 digits before the point is far past any loan; 2 after, the cent.
Money = Numeric(14, 2)


def text_enum(cls: type[StrEnum], name: str) -> Enum:
    """A StrEnum stored as text, checked by a table CHECK constraint (adding a value is then a
    constraint change rather than an ALTER TYPE)."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


def one_of(column: str, cls: type[StrEnum]) -> str:
    values = ", ".join(f"'{member.value}'" for member in cls)
    return f"{column} IN ({values})"


class ProductType(StrEnum):
    PERSONAL = "personal"
    AUTO = "auto"
    MORTGAGE = "mortgage"
    HOME_EQUITY = "home_equity"
    BUSINESS = "business"
    DEBT_CONSOLIDATION = "debt_consolidation"
    STUDENT_REFINANCE = "student_refinance"


class ApplicationStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    APPROVED = "approved"
    REFERRED = "referred"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    OFFER_ACCEPTED = "offer_accepted"
    FUNDED = "funded"
    CLOSED = "closed"


class EmploymentStatus(StrEnum):
    EMPLOYED = "employed"
    SELF_EMPLOYED = "self_employed"
    RETIRED = "retired"
    UNEMPLOYED = "unemployed"
    STUDENT = "student"
    OTHER = "other"


class ConsentKind(StrEnum):
    CREDIT_CHECK = "credit_check"
    ELECTRONIC_RECORDS = "electronic_records"
    PRIVACY_NOTICE = "privacy_notice"


# The sequence behind application references (OMF-YYYY-NNNNNN): a count could repeat a number
# after a deletion or under concurrency, a sequence never does.
application_reference_seq = Sequence("application_reference_seq", metadata=Base.metadata)


class BorrowerProfile(TimestampMixin, Base):
    """What a borrower told us about themselves; one row per borrower user.

    The date of birth and the SSN are sealed with lending.crypto (AES-GCM envelope) bound to
    this borrower; only the SSN's last four digits are kept in clear, for display.
    """

    __tablename__ = "borrower_profile"
    __table_args__ = (
        CheckConstraint(one_of("employment_status", EmploymentStatus), name="employment_status"),
        CheckConstraint("ssn_last4 ~ '^[0-9]{4}$'", name="ssn_last4"),
        CheckConstraint(
            "estimated_credit_score BETWEEN 300 AND 850", name="estimated_credit_score"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), unique=True
    )
    legal_first_name: Mapped[str | None] = mapped_column(String(100))
    legal_last_name: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(32))
    address_line1: Mapped[str | None] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(2))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    date_of_birth_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    ssn_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    ssn_last4: Mapped[str | None] = mapped_column(String(4))
    employment_status: Mapped[EmploymentStatus | None] = mapped_column(
        text_enum(EmploymentStatus, "employment_status")
    )
    employer_name: Mapped[str | None] = mapped_column(String(200))
    job_title: Mapped[str | None] = mapped_column(String(100))
    employment_start_date: Mapped[date | None] = mapped_column(Date)
    annual_income: Mapped[Decimal | None] = mapped_column(Money)
    monthly_debt_payments: Mapped[Decimal | None] = mapped_column(Money)
    monthly_housing_payment: Mapped[Decimal | None] = mapped_column(Money)
    # Stated by the borrower; prequalification turns it into a band (no bureau pull yet).
    estimated_credit_score: Mapped[int | None] = mapped_column(SmallInteger)


class ConsentRecord(Base):
    """One consent given or withdrawn, with the version of the text the borrower saw.

    Never updated: withdrawing is a new row with `granted` false; the latest row of a kind wins.
    """

    __tablename__ = "consent_record"
    __table_args__ = (
        CheckConstraint(one_of("kind", ConsentKind), name="kind"),
        Index("ix_consent_record_borrower_user_id_kind", "borrower_user_id", "kind", "recorded_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    borrower_user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE")
    )
    kind: Mapped[ConsentKind] = mapped_column(text_enum(ConsentKind, "consent_kind"))
    granted: Mapped[bool] = mapped_column(Boolean)
    text_version: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    recorded_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class Application(TimestampMixin, Base):
    """A loan application. `version` guards every update (optimistic locking)."""

    __tablename__ = "loan_application"
    __table_args__ = (
        CheckConstraint(one_of("status", ApplicationStatus), name="status"),
        CheckConstraint(one_of("product_type", ProductType), name="product_type"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("term_months > 0", name="term_positive"),
        CheckConstraint("hmda_action_taken BETWEEN 1 AND 8", name="hmda_action_taken"),
        Index("ix_loan_application_organization_id_created_at", "organization_id", "created_at"),
        # The back office's keyset list over every firm, all statuses or one.
        Index("ix_loan_application_created_at_id", "created_at", "id"),
        Index("ix_loan_application_status_created_at_id", "status", "created_at", "id"),
        Index(
            "ix_loan_application_reference_trgm",
            "reference",
            postgresql_using="gin",
            postgresql_ops={"reference": "gin_trgm_ops"},
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    borrower_user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT"), index=True
    )
    # The broker who works this application: the borrower's referrer, or an assignment.
    broker_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    # The firm (tenant) the application belongs to: the borrower's organization.
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organization.id", ondelete="RESTRICT")
    )
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    product_type: Mapped[ProductType] = mapped_column(text_enum(ProductType, "product_type"))
    purpose: Mapped[str | None] = mapped_column(String(48))
    # A lender product the borrower asked for by name; amount and term are checked against it.
    requested_product_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("lender_product.id", ondelete="SET NULL")
    )
    amount: Mapped[Decimal | None] = mapped_column(Money)
    term_months: Mapped[int | None] = mapped_column(Integer)
    slots: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    status: Mapped[ApplicationStatus] = mapped_column(
        text_enum(ApplicationStatus, "application_status"),
        default=ApplicationStatus.DRAFT,
        server_default=ApplicationStatus.DRAFT.value,
    )
    status_changed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    hmda_action_taken: Mapped[int | None] = mapped_column(SmallInteger)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}


class ApplicationEvent(Base):
    """One status transition of an application: who moved it, when, why. Never updated.

    Commissions (issue 5) hang off the `funded` event; `hmda_action_taken` is the outcome code
    the transition produced, when it produced one.
    """

    __tablename__ = "application_event"
    __table_args__ = (
        CheckConstraint(one_of("to_status", ApplicationStatus), name="to_status"),
        Index("ix_application_event_application_id_id", "application_id", "id"),
        Index("ix_application_event_to_status_occurred_at", "to_status", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("loan_application.id", ondelete="CASCADE")
    )
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[ApplicationStatus] = mapped_column(
        text_enum(ApplicationStatus, "application_status")
    )
    # None when the platform itself acted (a lender decision arriving, a job).
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    actor_role: Mapped[str | None] = mapped_column(String(32))
    # "user", "lender" or "system": who caused the move when no user did.
    source: Mapped[str] = mapped_column(String(16))
    lender_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("lender.id", ondelete="SET NULL")
    )
    reason: Mapped[str | None] = mapped_column(Text)
    hmda_action_taken: Mapped[int | None] = mapped_column(SmallInteger)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    occurred_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
