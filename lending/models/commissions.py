"""Commission tables: jurisdiction guards, versioned rules, funded loans and their servicing
events, the append-only ledger, payout batches and lender statement reconciliation."""

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
    Computed,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from lending.models.applications import Money, one_of, text_enum
from lending.models.base import Base, new_id

# Commission percentages: 0.650000% upfront, 0.200000% trail a year, 70.000000% of a split.
Rate = Numeric(9, 6)


class RuleScope(StrEnum):
    """What a rule applies to, least specific first (resolution prefers the most specific)."""

    PLATFORM = "platform"
    FIRM = "firm"
    BROKER = "broker"
    LENDER = "lender"
    PRODUCT = "product"


class Basis(StrEnum):
    FUNDED_AMOUNT = "funded_amount"
    # Australia: the amount drawn net of offset balances.
    DRAWN_NET_OF_OFFSET = "drawn_net_of_offset"
    # Trail only: the loan's outstanding balance.
    OUTSTANDING_BALANCE = "outstanding_balance"


class Party(StrEnum):
    PLATFORM = "platform"
    FIRM = "firm"
    BROKER = "broker"
    REFERRER = "referrer"


class EntryKind(StrEnum):
    ACCRUAL = "accrual"
    CLAWBACK = "clawback"
    ADJUSTMENT = "adjustment"
    REVERSAL = "reversal"
    PAYOUT = "payout"


class Component(StrEnum):
    UPFRONT = "upfront"
    TRAIL = "trail"
    MANUAL = "manual"
    PAYOUT = "payout"


class LoanStatus(StrEnum):
    ACTIVE = "active"
    IN_ARREARS = "in_arrears"
    DISCHARGED = "discharged"
    REFINANCED = "refinanced"


class ServicingEventKind(StrEnum):
    BALANCE = "balance"
    ARREARS = "arrears"
    ARREARS_CURED = "arrears_cured"
    DISCHARGED = "discharged"
    REFINANCED = "refinanced"


class BatchStatus(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    EXPORTED = "exported"
    PAID = "paid"
    FAILED = "failed"


class LineStatus(StrEnum):
    MATCH = "match"
    UNDERPAID = "underpaid"
    OVERPAID = "overpaid"
    MISSING_EXPECTED = "missing_expected"
    UNEXPECTED = "unexpected"
    NEEDS_REVIEW = "needs_review"


class CommissionJurisdiction(Base):
    """The guards of one jurisdiction, as data: switch one and new rules are checked against it.

    `forbidden_condition_fields` are the loan facts a rule may not depend on while
    `bans_rate_or_terms_dependence` is on (Reg Z § 1026.36(d): rate, terms or a proxy).
    """

    __tablename__ = "commission_jurisdiction"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    bans_rate_or_terms_dependence: Mapped[bool] = mapped_column(Boolean)
    bans_volume_bonuses: Mapped[bool] = mapped_column(Boolean)
    max_clawback_months: Mapped[int] = mapped_column(SmallInteger)
    forbidden_condition_fields: Mapped[list[str]] = mapped_column(ARRAY(String(48)))


class CommissionRule(Base):
    """A rule's identity and scope; its terms live in immutable, dated versions."""

    __tablename__ = "commission_rule"
    __table_args__ = (
        CheckConstraint(one_of("scope", RuleScope), name="scope"),
        CheckConstraint("(scope = 'platform') = (scope_id IS NULL)", name="scope_id"),
        Index("ix_commission_rule_scope_scope_id", "scope", "scope_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    scope: Mapped[RuleScope] = mapped_column(text_enum(RuleScope, "rule_scope"))
    # The firm, broker, lender or product the rule is for; NULL for the platform default.
    scope_id: Mapped[uuid.UUID | None] = mapped_column()
    jurisdiction: Mapped[str] = mapped_column(ForeignKey("commission_jurisdiction.code"))
    currency: Mapped[str] = mapped_column(String(3))
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CommissionRuleVersion(Base):
    """The terms of a rule from `effective_from` until a later version of it (never updated).

    `splits` maps party → percent (summing to 100); `clawback_schedule` is a list of
    {to_month, percent}: a loan discharged in month m (1 = the funding month) gives back the
    percent of the first tier with m ≤ to_month, nothing after the last. `conditions` are
    {field, op, value} tests on the loan's facts; `volume_bonus` {min_loans_in_month,
    extra_percent}. `active` false retires the rule from `effective_from`.
    """

    __tablename__ = "commission_rule_version"
    __table_args__ = (
        UniqueConstraint("rule_id", "version"),
        CheckConstraint(one_of("basis", Basis), name="basis"),
        CheckConstraint("upfront_percent IS NULL OR upfront_percent >= 0", name="upfront_percent"),
        CheckConstraint("upfront_flat IS NULL OR upfront_flat >= 0", name="upfront_flat"),
        CheckConstraint("trail_percent IS NULL OR trail_percent >= 0", name="trail_percent"),
        CheckConstraint("tax_percent >= 0", name="tax_percent"),
        CheckConstraint(
            "upfront_cap IS NULL OR upfront_floor IS NULL OR upfront_cap >= upfront_floor",
            name="cap_floor",
        ),
        CheckConstraint("commission_splits_total(splits) = 100", name="splits_total"),
        Index("ix_commission_rule_version_rule_id_effective_from", "rule_id", "effective_from"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    rule_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("commission_rule.id", ondelete="RESTRICT")
    )
    version: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[date] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    basis: Mapped[Basis] = mapped_column(text_enum(Basis, "commission_basis"))
    upfront_percent: Mapped[Decimal | None] = mapped_column(Rate)
    upfront_flat: Mapped[Decimal | None] = mapped_column(Money)
    upfront_cap: Mapped[Decimal | None] = mapped_column(Money)
    upfront_floor: Mapped[Decimal | None] = mapped_column(Money)
    trail_percent: Mapped[Decimal | None] = mapped_column(Rate)
    tax_percent: Mapped[Decimal] = mapped_column(Rate, default=Decimal(0), server_default="0")
    splits: Mapped[dict[str, str]] = mapped_column(JSONB)
    clawback_schedule: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, default=list, server_default="[]"
    )
    volume_bonus: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    note: Mapped[str | None] = mapped_column(Text)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class FundedLoan(Base):
    """A funded application as commissions see it: who brokered it, what was funded, and its
    servicing state (outstanding balance, arrears, discharge) as the lender reports it."""

    __tablename__ = "funded_loan"
    __table_args__ = (
        CheckConstraint(one_of("status", LoanStatus), name="status"),
        CheckConstraint("funded_amount > 0", name="funded_amount"),
        Index("ix_funded_loan_organization_id", "organization_id"),
        Index("ix_funded_loan_lender_id_funded_on", "lender_id", "funded_on"),
        Index("ix_funded_loan_broker_user_id_funded_on", "broker_user_id", "funded_on"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    application_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("loan_application.id", ondelete="RESTRICT"), unique=True
    )
    # The application's reference, or the lender's loan number: what lender statements quote.
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    borrower_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    borrower_name: Mapped[str] = mapped_column(String(200))
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organization.id", ondelete="RESTRICT")
    )
    broker_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    referrer_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    lender_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("lender.id", ondelete="SET NULL")
    )
    product_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("lender_product.id", ondelete="SET NULL")
    )
    product_type: Mapped[str] = mapped_column(String(32))
    state: Mapped[str | None] = mapped_column(String(2))
    jurisdiction: Mapped[str] = mapped_column(ForeignKey("commission_jurisdiction.code"))
    currency: Mapped[str] = mapped_column(String(3))
    funded_amount: Mapped[Decimal] = mapped_column(Money)
    offset_balance: Mapped[Decimal] = mapped_column(Money, default=Decimal(0), server_default="0")
    outstanding_balance: Mapped[Decimal] = mapped_column(Money)
    term_months: Mapped[int | None] = mapped_column(Integer)
    note_rate: Mapped[Decimal | None] = mapped_column(Numeric(7, 4))
    funded_on: Mapped[date] = mapped_column(Date)
    status: Mapped[LoanStatus] = mapped_column(
        text_enum(LoanStatus, "loan_status"),
        default=LoanStatus.ACTIVE,
        server_default=LoanStatus.ACTIVE.value,
    )
    closed_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class LoanServicingEvent(Base):
    """What happened to a funded loan after funding, as reported (never updated)."""

    __tablename__ = "loan_servicing_event"
    __table_args__ = (
        CheckConstraint(one_of("kind", ServicingEventKind), name="kind"),
        Index("ix_loan_servicing_event_loan_id_occurred_on", "loan_id", "occurred_on"),
        # A lender's report is recorded once per its event id, whatever the re-deliveries.
        UniqueConstraint("loan_id", "lender_event_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    loan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("funded_loan.id", ondelete="RESTRICT"))
    kind: Mapped[ServicingEventKind] = mapped_column(
        text_enum(ServicingEventKind, "servicing_event_kind")
    )
    occurred_on: Mapped[date] = mapped_column(Date)
    outstanding_balance: Mapped[Decimal | None] = mapped_column(Money)
    offset_balance: Mapped[Decimal | None] = mapped_column(Money)
    # "admin" (recorded over REST by a platform admin) or "lender" (a lender's report).
    source: Mapped[str] = mapped_column(String(16))
    recorded_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    note: Mapped[str | None] = mapped_column(Text)
    # The lender's event id when the lender reported it (its webhook), else None.
    lender_event_id: Mapped[str | None] = mapped_column(String(128))
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class CommissionEntry(Base):
    """One line of the ledger. Append-only (a trigger refuses UPDATE and DELETE): a correction
    is a new entry. `event_key` names what caused it; (event, rule, party, payee) is unique, so
    replaying an event adds nothing. `details` holds the arithmetic that explains the amount."""

    __tablename__ = "commission_entry"
    __table_args__ = (
        CheckConstraint(one_of("kind", EntryKind), name="kind"),
        CheckConstraint(one_of("component", Component), name="component"),
        CheckConstraint(one_of("party", Party), name="party"),
        CheckConstraint("payee_kind IN ('user', 'organization')", name="payee_kind"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency"),
        CheckConstraint(
            "kind IN ('adjustment', 'reversal') OR (kind = 'accrual' AND amount >= 0) "
            "OR amount <= 0",
            name="sign",
        ),
        UniqueConstraint(
            "event_key",
            "rule_id",
            "party",
            "payee_id",
            name="uq_commission_entry_event_rule_party",
            postgresql_nulls_not_distinct=True,
        ),
        Index("ix_commission_entry_payee_id_effective_on", "payee_id", "effective_on"),
        Index(
            "ix_commission_entry_organization_id_effective_on", "organization_id", "effective_on"
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    event_key: Mapped[str] = mapped_column(String(120))
    kind: Mapped[EntryKind] = mapped_column(text_enum(EntryKind, "entry_kind"))
    component: Mapped[Component] = mapped_column(text_enum(Component, "entry_component"))
    # No foreign keys on the loan, the version or the organization: none of them can be
    # deleted (triggers refuse it; organizations have no delete path and are held by their
    # users), and every accrual is written by a statement joining them. The per-row checks
    # were most of the cost of a 100,000-loan accrual (see DECISIONS.md).
    loan_id: Mapped[uuid.UUID | None] = mapped_column()
    # Denormalised from the version, for the idempotency key.
    rule_id: Mapped[uuid.UUID | None] = mapped_column()
    rule_version_id: Mapped[uuid.UUID | None] = mapped_column()
    party: Mapped[Party] = mapped_column(text_enum(Party, "commission_party"))
    payee_kind: Mapped[str] = mapped_column(String(16))
    payee_id: Mapped[uuid.UUID] = mapped_column()
    # The firm (tenant) the money concerns: the loan's organization, or the payee's.
    organization_id: Mapped[uuid.UUID] = mapped_column()
    # What an accrual was computed from: the basis (funded amount, amount drawn net of offset,
    # outstanding balance), the whole commission before the split, and this party's percent.
    basis_amount: Mapped[Decimal | None] = mapped_column(Money)
    commission_total: Mapped[Decimal | None] = mapped_column(Money)
    split_percent: Mapped[Decimal | None] = mapped_column(Rate)
    amount: Mapped[Decimal] = mapped_column(Money)
    tax_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal(0), server_default="0")
    total_amount: Mapped[Decimal] = mapped_column(Money, Computed("amount + tax_amount"))
    currency: Mapped[str] = mapped_column(String(3))
    effective_on: Mapped[date] = mapped_column(Date)
    reverses_entry_id: Mapped[int | None] = mapped_column(BigInteger)
    # Who wrote a manual entry; no foreign key: an append-only row cannot be SET NULL.
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column()
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PayoutBatch(Base):
    """A payout run: draft → approved (by another admin) → exported → paid, or failed."""

    __tablename__ = "payout_batch"
    __table_args__ = (
        CheckConstraint(one_of("status", BatchStatus), name="status"),
        CheckConstraint(
            "approved_by_user_id IS NULL OR approved_by_user_id <> created_by_user_id",
            name="maker_checker",
        ),
        CheckConstraint("status <> 'paid' OR payment_reference IS NOT NULL", name="paid_reference"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    status: Mapped[BatchStatus] = mapped_column(
        text_enum(BatchStatus, "batch_status"), default=BatchStatus.DRAFT
    )
    currency: Mapped[str] = mapped_column(String(3))
    cutoff_on: Mapped[date] = mapped_column(Date)
    minimum_amount: Mapped[Decimal] = mapped_column(Money)
    total_amount: Mapped[Decimal] = mapped_column(Money)
    payee_count: Mapped[int] = mapped_column(Integer)
    created_by_user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT")
    )
    approved_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT")
    )
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    exported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    payment_reference: Mapped[str | None] = mapped_column(String(100))
    failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PayoutBatchItem(Base):
    """A ledger entry taken into a batch. While not released an entry is in this batch only
    (partial unique index), so it can neither sit in two open batches nor be paid twice."""

    __tablename__ = "payout_batch_item"
    __table_args__ = (
        Index(
            "uq_payout_batch_item_entry_id_unreleased",
            "entry_id",
            unique=True,
            postgresql_where=text("released_at IS NULL"),
        ),
        Index("ix_payout_batch_item_batch_id_payee_id", "batch_id", "payee_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    # No foreign keys: batches and ledger entries can never be deleted (triggers), and items
    # are written by the statement that selects those entries for that batch.
    batch_id: Mapped[uuid.UUID] = mapped_column()
    entry_id: Mapped[int] = mapped_column(BigInteger)
    payee_kind: Mapped[str] = mapped_column(String(16))
    payee_id: Mapped[uuid.UUID] = mapped_column()
    amount: Mapped[Decimal] = mapped_column(Money)
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LenderStatement(Base):
    """A lender's commission statement, imported for reconciliation."""

    __tablename__ = "lender_statement"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    lender_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lender.id", ondelete="RESTRICT"))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    filename: Mapped[str | None] = mapped_column(String(200))
    imported_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class LenderStatementLine(Base):
    """One reconciled line: the lender's figure against what our ledger expects."""

    __tablename__ = "lender_statement_line"
    __table_args__ = (
        CheckConstraint(one_of("status", LineStatus), name="status"),
        Index("ix_lender_statement_line_statement_id_line_number", "statement_id", "line_number"),
        # The back office pages through a statement's lines by id (keyset).
        Index("ix_lender_statement_line_statement_id_id", "statement_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    statement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lender_statement.id", ondelete="CASCADE")
    )
    # The CSV's line number; NULL for an expected loan the statement left out.
    line_number: Mapped[int | None] = mapped_column(Integer)
    loan_reference: Mapped[str | None] = mapped_column(String(64))
    borrower_name: Mapped[str | None] = mapped_column(String(200))
    funding_date: Mapped[date | None] = mapped_column(Date)
    reported_amount: Mapped[Decimal | None] = mapped_column(Money)
    expected_amount: Mapped[Decimal | None] = mapped_column(Money)
    difference: Mapped[Decimal | None] = mapped_column(Money)
    loan_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("funded_loan.id", ondelete="SET NULL")
    )
    matched_by: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[LineStatus] = mapped_column(text_enum(LineStatus, "statement_line_status"))
    resolved_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution_reason: Mapped[str | None] = mapped_column(Text)
