"""Commission schemas, shared by the REST routes, the assistant's tools and the CLI.

Money is Decimal with two places and always travels with its currency; percentages are Decimal
percent (0.65 means 0.65%).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from lending.commissions.explanation import ExplanationStep
from lending.models.commissions import (
    Basis,
    BatchStatus,
    Component,
    EntryKind,
    LineStatus,
    LoanStatus,
    Party,
    RuleScope,
    ServicingEventKind,
)

Percent = Annotated[Decimal, Field(ge=0, le=100, decimal_places=6, allow_inf_nan=False)]
Amount = Annotated[Decimal, Field(ge=0, le=Decimal("1e11"), decimal_places=2, allow_inf_nan=False)]
SignedAmount = Annotated[
    Decimal, Field(ge=Decimal("-1e11"), le=Decimal("1e11"), decimal_places=2, allow_inf_nan=False)
]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
ConditionField = Literal["product_type", "state", "funded_amount", "term_months", "note_rate"]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClawbackTier(_Input):
    to_month: Annotated[int, Field(ge=1, le=120)]
    percent: Percent


class Condition(_Input):
    """A test on the loan's facts; the rule applies only when every condition holds."""

    field: ConditionField
    op: Literal["eq", "ne", "in", "gte", "lte", "gt", "lt"]
    value: str | list[str]


class VolumeBonus(_Input):
    """Extra upfront percent from the broker's n-th loan funded in a calendar month."""

    min_loans_in_month: Annotated[int, Field(ge=1, le=10_000)]
    extra_percent: Percent


DEFAULT_CLAWBACK = [
    ClawbackTier(to_month=12, percent=Decimal(100)),
    ClawbackTier(to_month=24, percent=Decimal(50)),
]


class RuleTerms(_Input):
    effective_from: date
    active: bool = True
    basis: Basis = Basis.FUNDED_AMOUNT
    upfront_percent: Percent | None = None
    upfront_flat: Amount | None = None
    upfront_cap: Amount | None = None
    upfront_floor: Amount | None = None
    trail_percent: Percent | None = None
    tax_percent: Percent = Decimal(0)
    splits: dict[Party, Percent]
    clawback_schedule: list[ClawbackTier] = Field(default_factory=lambda: list(DEFAULT_CLAWBACK))
    conditions: list[Condition] = Field(default_factory=list, max_length=20)
    volume_bonus: VolumeBonus | None = None
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if sum(self.splits.values(), Decimal(0)) != 100:
            raise ValueError("the splits must sum to 100 (percent)")
        upfront = self.upfront_percent is not None or self.upfront_flat is not None
        if self.active and not upfront and self.trail_percent is None:
            raise ValueError("a rule pays an upfront percentage, a flat fee or a trail")
        if upfront and self.basis is Basis.OUTSTANDING_BALANCE:
            raise ValueError(
                "upfront commission is on the funded amount or the amount drawn net of offset"
            )
        if self.upfront_cap is not None and self.upfront_floor is not None:
            if self.upfront_cap < self.upfront_floor:
                raise ValueError("the cap is below the floor")
        months = [tier.to_month for tier in self.clawback_schedule]
        if months != sorted(set(months)):
            raise ValueError("clawback tiers go by increasing to_month, each once")
        return self


class RuleCreate(RuleTerms):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    scope: RuleScope = RuleScope.PLATFORM
    scope_id: uuid.UUID | None = None
    jurisdiction: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2,8}$")] = "US"
    currency: Currency = "USD"

    @model_validator(mode="after")
    def _scope(self) -> Self:
        if (self.scope is RuleScope.PLATFORM) != (self.scope_id is None):
            raise ValueError("scope_id names the firm, broker, lender or product (not platform)")
        return self


class JurisdictionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    bans_rate_or_terms_dependence: bool
    bans_volume_bonuses: bool
    max_clawback_months: int
    forbidden_condition_fields: list[str]


class JurisdictionUpdate(_Input):
    """Switch a jurisdiction's guards; rules saved from then on are checked against them."""

    bans_rate_or_terms_dependence: bool | None = None
    bans_volume_bonuses: bool | None = None
    max_clawback_months: Annotated[int, Field(ge=0, le=120)] | None = None
    forbidden_condition_fields: list[ConditionField] | None = None


class RuleVersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    version: int
    effective_from: date
    active: bool
    basis: Basis
    upfront_percent: Decimal | None
    upfront_flat: Decimal | None
    upfront_cap: Decimal | None
    upfront_floor: Decimal | None
    trail_percent: Decimal | None
    tax_percent: Decimal
    splits: dict[str, Decimal]
    clawback_schedule: list[dict[str, Any]]
    conditions: list[dict[str, Any]]
    volume_bonus: dict[str, Any] | None
    note: str | None
    created_at: datetime


class RuleRead(BaseModel):
    id: uuid.UUID
    name: str
    scope: RuleScope
    scope_id: uuid.UUID | None
    jurisdiction: str
    currency: str
    versions: list[RuleVersionRead]


class LoanRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    application_id: uuid.UUID | None
    reference: str
    borrower_name: str
    organization_id: uuid.UUID
    broker_user_id: uuid.UUID | None
    lender_id: uuid.UUID | None
    product_type: str
    currency: str
    funded_amount: Decimal
    offset_balance: Decimal
    outstanding_balance: Decimal
    funded_on: date
    status: LoanStatus
    closed_on: date | None


class ServicingEventCreate(_Input):
    kind: ServicingEventKind
    occurred_on: date
    outstanding_balance: Amount | None = None
    offset_balance: Amount | None = None
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None


class ServicingEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    loan_id: uuid.UUID
    kind: ServicingEventKind
    occurred_on: date
    outstanding_balance: Decimal | None
    offset_balance: Decimal | None
    source: str
    job_id: int | None = None


class ServicingEventRow(ServicingEventRead):
    """A servicing event as the back office lists it (who recorded it, and the note)."""

    note: str | None
    lender_event_id: str | None
    recorded_by_user_id: uuid.UUID | None
    recorded_at: datetime


class LoanDetail(BaseModel):
    """A funded loan and its servicing events, newest first."""

    loan: LoanRead
    events: list[ServicingEventRow]


class EntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    event_key: str
    kind: EntryKind
    component: Component
    loan_id: uuid.UUID | None
    loan_reference: str | None = None
    rule_id: uuid.UUID | None
    rule_version_id: uuid.UUID | None
    party: Party
    payee_kind: str
    payee_id: uuid.UUID
    organization_id: uuid.UUID
    basis_amount: Decimal | None
    commission_total: Decimal | None
    split_percent: Decimal | None
    amount: Decimal
    tax_amount: Decimal
    total_amount: Decimal
    currency: str
    effective_on: date
    reverses_entry_id: int | None
    details: dict[str, Any]
    created_at: datetime


class EntryList(BaseModel):
    items: list[EntryRead]
    limit: int
    offset: int


class Explanation(BaseModel):
    """Why an entry has its amount, from the ledger alone: the rule and version that produced
    it, the loan, and the arithmetic step by step."""

    entry: EntryRead
    rule_name: str | None
    rule_version: int | None
    rule_effective_from: date | None
    loan_reference: str | None
    steps: list[str]
    # The same steps as keys and values (lending/commissions/explanation.py), so another
    # language can say them with the very figures of `steps`.
    parts: list[ExplanationStep]
    text: str


class PayeeBalance(BaseModel):
    payee_kind: str
    payee_id: uuid.UUID
    payee_name: str
    currency: str
    accrued: Decimal
    clawed_back: Decimal
    adjusted: Decimal
    paid: Decimal
    balance: Decimal


class CommissionSummary(BaseModel):
    period_start: date | None
    period_end: date | None
    payees: list[PayeeBalance]
    entries: int


TrendPeriod = Literal["week", "month", "quarter"]


class CommissionTrendPoint(BaseModel):
    period_start: date = Field(description="The first day of the period (weeks start Monday).")
    currency: str
    accrued: Decimal
    clawed_back: Decimal = Field(description="Clawbacks in the period (zero or negative).")
    adjusted: Decimal = Field(description="Adjustments and reversals in the period.")
    paid: Decimal = Field(description="Paid out in the period, as a positive amount.")
    net: Decimal = Field(description="Accrued + clawed back + adjusted: what was earned.")


class CommissionTrend(BaseModel):
    """Commission per period over a range of days, for the entries the reader may see: a
    broker their own, a broker manager their firm's (without the platform's share), a
    platform admin all."""

    as_of: datetime | None = Field(
        description="For a firm's or the platform's trend, when the ledger's rollup was last "
        "refreshed (None: never); None for a broker's own, read from the ledger directly."
    )
    period: TrendPeriod
    date_from: date
    date_to: date
    points: list[CommissionTrendPoint]


class AdjustmentCreate(_Input):
    payee_kind: Literal["user", "organization"]
    payee_id: uuid.UUID
    party: Party
    amount: SignedAmount
    currency: Currency = "USD"
    loan_id: uuid.UUID | None = None
    effective_on: date
    reason: Reason


class ReversalCreate(_Input):
    reason: Reason


class BatchCreate(_Input):
    cutoff_on: date
    currency: Currency = "USD"
    minimum_amount: Amount = Decimal("50.00")


class BatchPayee(BaseModel):
    payee_kind: str
    payee_id: uuid.UUID
    payee_name: str
    amount: Decimal
    entries: int


class BatchSummary(BaseModel):
    """A payout batch without its payees (a row of the batches list)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    status: BatchStatus
    currency: str
    cutoff_on: date
    total_amount: Decimal
    payee_count: int
    created_by_user_id: uuid.UUID
    approved_by_user_id: uuid.UUID | None
    created_at: datetime


class BatchRead(BaseModel):
    id: uuid.UUID
    status: BatchStatus
    currency: str
    cutoff_on: date
    minimum_amount: Decimal
    total_amount: Decimal
    payee_count: int
    created_by_user_id: uuid.UUID
    approved_by_user_id: uuid.UUID | None
    approved_at: datetime | None
    exported_at: datetime | None
    paid_at: datetime | None
    payment_reference: str | None
    failed_at: datetime | None
    failure_reason: str | None
    created_at: datetime
    payees: list[BatchPayee]


class BatchPaid(_Input):
    payment_reference: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)
    ]


class BatchFailed(_Input):
    reason: Reason


class StatementLine(BaseModel):
    entry_id: int
    effective_on: date
    kind: EntryKind
    component: Component
    party: Party
    payee_name: str
    loan_reference: str | None
    borrower_name: str | None
    rule: str | None
    amount: Decimal
    tax_amount: Decimal
    total_amount: Decimal


class Statement(BaseModel):
    """Opening balance, what happened in the period (with the loan behind each line), closing."""

    subject_kind: Literal["payee", "firm"]
    subject_id: uuid.UUID
    subject_name: str
    currency: str
    period_start: date
    period_end: date
    opening_balance: Decimal
    accruals: Decimal
    clawbacks: Decimal
    adjustments: Decimal
    payouts: Decimal
    closing_balance: Decimal
    lines: list[StatementLine]


class TrailRun(BaseModel):
    month: str
    entries_written: int


class AccrualRun(BaseModel):
    loans: int
    entries_written: int


class StatementImport(_Input):
    lender_id: uuid.UUID
    period_start: date
    period_end: date
    currency: Currency = "USD"
    filename: Annotated[str, StringConstraints(max_length=200)] | None = None
    csv_text: Annotated[str, StringConstraints(min_length=1, max_length=5_000_000)]

    @model_validator(mode="after")
    def _period(self) -> Self:
        if self.period_end < self.period_start:
            raise ValueError("the period ends before it starts")
        return self


class StatementSummary(BaseModel):
    """An imported lender statement in a list (its lines are on the detail)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    lender_id: uuid.UUID
    period_start: date
    period_end: date
    currency: str
    filename: str | None
    created_at: datetime


class StatementLineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    line_number: int | None
    loan_reference: str | None
    borrower_name: str | None
    funding_date: date | None
    reported_amount: Decimal | None
    expected_amount: Decimal | None
    difference: Decimal | None
    loan_id: uuid.UUID | None
    matched_by: str | None
    status: LineStatus
    resolved_by_user_id: uuid.UUID | None
    resolved_at: datetime | None
    resolution_reason: str | None


class ReconciliationOverview(BaseModel):
    """An imported statement and how many of its lines have each outcome (the back office
    pages through its lines separately)."""

    id: uuid.UUID
    lender_id: uuid.UUID
    period_start: date
    period_end: date
    currency: str
    counts: dict[str, int]


class ReconciliationRead(ReconciliationOverview):
    lines: list[StatementLineRead]


class LineResolution(StrEnum):
    """A filter on a statement's lines: those still to resolve, or those resolved."""

    OPEN = "open"
    RESOLVED = "resolved"


class LineResolve(_Input):
    reason: Reason
