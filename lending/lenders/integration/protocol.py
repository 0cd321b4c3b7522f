"""The adapter protocol every lender integration implements, and the data it exchanges."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal, Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]
"""An amount of money in dollars and cents: a Decimal with at most two decimal places."""

PositiveMoney = Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=2)]


class CreditScoreBand(StrEnum):
    """The band a lender is told instead of the score (Excellent ≥720, Good 680–719, Fair 640–679,
    Poor ≤639), as marketplaces do after a soft pull."""

    EXCELLENT = "excellent"
    GOOD = "good"
    FAIR = "fair"
    POOR = "poor"


class DecisionStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFERRED = "referred"
    DECLINED = "declined"


class OfferKind(StrEnum):
    PREQUALIFIED = "prequalified"
    FIRM = "firm"


class ApplicationPayload(BaseModel):
    """What a lender is sent about an application, and nothing more.

    A lender decides on the loan asked for and a credit score band; it needs no identity data to
    do so. The payload therefore never carries the SSN (not even the last four), the date of
    birth, the name, contact details or the address, and `purpose` is a code, not free text in
    which a borrower could have typed any of those. `extra="forbid"` keeps it that way: a field
    added by mistake is an error, not a silent leak. Identity reaches a lender only after the
    borrower picks it, through its own verified channel, outside this payload.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    application_reference: str = Field(pattern=r"^OMF-\d{4}-\d{6}$", examples=["OMF-2026-000042"])
    product_code: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    amount: PositiveMoney
    term_months: int = Field(ge=1, le=600)
    purpose: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$", examples=["debt_consolidation"])
    credit_score_band: CreditScoreBand


class SubmissionReceipt(BaseModel):
    """The lender's acknowledgement of a submission; its decision comes later."""

    model_config = ConfigDict(frozen=True)

    lender_code: str
    external_id: str = Field(min_length=1, max_length=128)
    idempotency_key: str
    status: DecisionStatus
    received_at: AwareDatetime
    replayed: bool = Field(
        default=False,
        description="The lender had already seen this idempotency key and answered with the "
        "submission it created then; nothing new was created.",
    )


class LenderFee(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str = Field(min_length=1, max_length=64)
    amount: Money
    finance_charge: bool = Field(
        description="Part of the finance charge under Regulation Z (so it raises the APR)."
    )


class LenderOffer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    offer_id: str = Field(min_length=1, max_length=128)
    kind: OfferKind
    amount: PositiveMoney
    note_rate: Decimal = Field(
        ge=0, le=100, max_digits=7, decimal_places=4, description="Annual percent, e.g. 7.125."
    )
    term_months: int = Field(ge=1, le=600)
    fees: list[LenderFee] = Field(default_factory=list)
    expires_at: AwareDatetime


class LenderDecision(BaseModel):
    """A lender's decision on one submission. Inbound data: unknown fields are ignored so that a
    lender adding a field does not break us, and impossible combinations are refused."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    lender_code: str
    external_id: str = Field(min_length=1, max_length=128)
    application_reference: str
    status: DecisionStatus
    offers: list[LenderOffer] = Field(default_factory=list)
    reasons: list[str] = Field(
        default_factory=list,
        description="The lender's principal reasons for a decline or referral (adverse action).",
    )
    decided_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _offers_match_status(self) -> LenderDecision:
        if self.status == DecisionStatus.APPROVED and not self.offers:
            raise ValueError("an approved decision carries at least one offer")
        if self.status in (DecisionStatus.DECLINED, DecisionStatus.PENDING) and self.offers:
            raise ValueError(f"a {self.status.value} decision carries no offers")
        return self


class ServicingKind(StrEnum):
    """What a lender reports about a loan it funded (the commission ledger reacts to these)."""

    BALANCE = "balance"  # the outstanding (and offset) balance at a date
    ARREARS = "arrears"
    ARREARS_CURED = "arrears_cured"
    DISCHARGED = "discharged"  # repaid in full
    REFINANCED = "refinanced"  # repaid by a new loan


class LoanServicingReport(BaseModel):
    """A lender's report on a funded loan, named by the application reference it was submitted
    under. Balances are optional on every kind (a `balance` report without one says nothing)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    application_reference: str = Field(min_length=1, max_length=64)
    kind: ServicingKind
    occurred_on: date
    outstanding_balance: Money | None = None
    offset_balance: Money | None = None
    note: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _balance_has_an_amount(self) -> LoanServicingReport:
        if self.kind is ServicingKind.BALANCE and self.outstanding_balance is None:
            raise ValueError("a balance report carries the outstanding balance")
        return self


class LenderWebhookEvent(BaseModel):
    """A verified notification from a lender. `event_id` is the same on every delivery of one event.

    `decision.updated` carries `decision` (a submission's decision); `loan.servicing` carries
    `servicing` (what happened to a funded loan)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: str = Field(min_length=1, max_length=128)
    event_type: Literal["decision.updated", "loan.servicing"]
    lender_code: str
    occurred_at: AwareDatetime
    decision: LenderDecision | None = None
    servicing: LoanServicingReport | None = None

    @model_validator(mode="after")
    def _payload_matches_type(self) -> LenderWebhookEvent:
        wanted = "decision" if self.event_type == "decision.updated" else "servicing"
        if (self.decision is not None, self.servicing is not None) != (
            wanted == "decision",
            wanted == "servicing",
        ):
            raise ValueError(f"a {self.event_type} event carries `{wanted}` (and only that)")
        return self

    @property
    def subject(self) -> str:
        """What the event is about, for logs: the submission's or the loan's reference."""
        if self.decision is not None:
            return self.decision.external_id
        assert self.servicing is not None
        return self.servicing.application_reference


class LenderAdapter(Protocol):
    """One lender's system, seen from Omnifin. Implementations raise the errors in `errors`."""

    @property
    def lender_code(self) -> str: ...

    async def submit(
        self, application_payload: ApplicationPayload, *, idempotency_key: str | None = None
    ) -> SubmissionReceipt:
        """Send an application; the same `idempotency_key` never creates a second submission."""
        ...

    async def fetch_decision(self, external_id: str) -> LenderDecision:
        """The lender's current decision on a submission (`pending` until it has one)."""
        ...

    async def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> LenderWebhookEvent:
        """Authenticate a webhook delivery and parse it; raises on a bad signature or a duplicate."""
        ...

    async def release_webhook(self, event: LenderWebhookEvent) -> None:
        """Forget that `event` was seen, so the lender's next delivery of it is processed."""
        ...
