"""The simulator's settings (`OMNIFIN_LENDER_SIM_*`) and each simulated lender's rules."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

CreditBand = Literal["excellent", "good", "fair", "poor"]

_DEFAULT_RATES: dict[CreditBand, Decimal] = {
    "excellent": Decimal("6.990"),
    "good": Decimal("9.490"),
    "fair": Decimal("14.990"),
    "poor": Decimal("24.990"),
}


class DecisionRules(BaseModel):
    """How a simulated lender decides. Every decline rule that matches is a reason given."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    decline_amount_above: Decimal | None = Decimal("50000")
    refer_amount_above: Decimal | None = Field(
        default=Decimal("35000"), description="Refer (manual underwriting) above this amount."
    )
    declined_score_bands: frozenset[CreditBand] = frozenset({"poor"})
    allowed_purposes: frozenset[str] | None = Field(
        default=None, description="Purposes financed; None finances any purpose."
    )
    rate_by_band: dict[CreditBand, Decimal] = Field(
        default_factory=lambda: dict(_DEFAULT_RATES),
        description="Note rate (annual percent) by credit score band.",
    )
    origination_fee_percent: Decimal = Field(default=Decimal("1.00"), ge=0, le=10)
    # A decision on a submitted application is the lender's firm offer (a hard pull was made).
    offer_kind: Literal["prequalified", "firm"] = "firm"
    offer_valid_days: int = Field(default=30, ge=1, le=365)


class SimulatedLender(BaseModel):
    """One simulated lender. Unset behaviour and secrets fall back to the simulator's."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rules: DecisionRules = Field(default_factory=DecisionRules)
    latency_ms: int | None = Field(default=None, ge=0)
    failure_rate: float | None = Field(default=None, ge=0, le=1)
    duplicate_webhooks: bool = Field(
        default=False,
        description="Deliver every webhook event twice, as at-least-once senders sometimes do.",
    )
    request_secret: SecretStr | None = None
    previous_request_secret: SecretStr | None = Field(
        default=None,
        description="The lender's side of a rotation's overlap window: a request signed with "
        "this secret is accepted as well as one signed with `request_secret`.",
    )
    webhook_secret: SecretStr | None = None


class LenderPatch(BaseModel):
    """A change to one lender's behaviour through the control API (tests, demos)."""

    model_config = ConfigDict(extra="forbid")

    rules: DecisionRules | None = None
    latency_ms: int | None = Field(default=None, ge=0)
    failure_rate: float | None = Field(default=None, ge=0, le=1)
    duplicate_webhooks: bool = False


class ServicingReport(BaseModel):
    """A servicing event to report on a loan (control API): the simulator signs it and POSTs it
    to the webhook of the application's submission, as the lender's servicing system would."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    application_reference: str = Field(min_length=1, max_length=64)
    kind: Literal["balance", "arrears", "arrears_cured", "discharged", "refinanced"]
    occurred_on: date
    outstanding_balance: Decimal | None = Field(default=None, ge=0, decimal_places=2)
    offset_balance: Decimal | None = Field(default=None, ge=0, decimal_places=2)
    note: str | None = Field(default=None, max_length=2000)
    event_id: str | None = Field(
        default=None, min_length=1, max_length=128, description="Reuse to re-send an event."
    )
    deliveries: int = Field(default=1, ge=1, le=3, description="2 or 3: deliver it again.")


class Fault(BaseModel):
    """A one-shot misbehaviour for the next API request to a lender (control API)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: int | None = Field(
        default=503, ge=400, le=599, description="Answer with this status; None answers normally."
    )
    retry_after_seconds: int | None = Field(default=None, ge=0)
    delay_ms: int = Field(default=0, ge=0, description="Extra latency before answering.")
    after_processing: bool = Field(
        default=False,
        description="Act on the request first, then answer with `status`: a lost response.",
    )


class SimulatorConfig(BaseSettings):
    """The lender simulator's settings, from `OMNIFIN_LENDER_SIM_*` (nested fields with `__`).

    The default secrets are for development on one machine and are public; a deployment that
    exposes the simulator sets its own.
    """

    model_config = SettingsConfigDict(
        env_prefix="OMNIFIN_LENDER_SIM_", env_nested_delimiter="__", extra="ignore"
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8100, ge=1, le=65535)
    latency_ms: int = Field(default=0, ge=0, description="Added before every API answer.")
    failure_rate: float = Field(
        default=0, ge=0, le=1, description="Share of API requests answered 503 at random."
    )
    seed: int | None = Field(
        default=None, description="Seeds failures and ids, so a run can be repeated exactly."
    )
    decision_delay_ms: int = Field(
        default=50, ge=0, description="Time from a submission to its decision and webhook."
    )
    request_secret: SecretStr = SecretStr("lender-sim-request-secret")
    webhook_secret: SecretStr = SecretStr("lender-sim-webhook-secret")
    signature_tolerance_seconds: int = Field(default=300, ge=1)
    lenders: dict[str, SimulatedLender] = Field(default_factory=dict)
    serve_any_lender: bool = Field(
        default=True, description="Serve a lender code not in `lenders` as `default_lender`."
    )
    default_lender: SimulatedLender = Field(default_factory=SimulatedLender)
    webhook_max_attempts: int = Field(default=5, ge=1, le=20)
    webhook_retry_base_ms: int = Field(default=200, ge=0)
    webhook_timeout_seconds: float = Field(default=5, gt=0)
    allowed_callback_hosts: list[str] = Field(
        default_factory=lambda: ["127.0.0.1", "localhost", "::1"],
        description="Hosts webhooks may be sent to, so the simulator cannot be aimed elsewhere.",
    )
    control_api: bool = Field(
        default=True, description="Serve /_simulator/... to change behaviour and read counters."
    )
