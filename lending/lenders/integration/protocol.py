"""The adapter protocol every lender integration implements, and the data it exchanges."""

from __future__ import annotations

from collections.abc import Mapping
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


class LenderWebhookEvent(BaseModel):
    """A verified notification from a lender. `event_id` is the same on every delivery of one event."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: str = Field(min_length=1, max_length=128)
    event_type: Literal["decision.updated"]
    lender_code: str
    occurred_at: AwareDatetime
    decision: LenderDecision


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
