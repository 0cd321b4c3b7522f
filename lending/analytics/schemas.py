"""What the dashboards read: the funnel, drop-off, time between steps, agent and lender metrics."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal, Self

from pydantic import BaseModel, Field, model_validator

# The funnel's steps, in order.
FunnelStep = Literal[
    "application_started",
    "application_submitted",
    "offer_presented",
    "offer_accepted",
    "funded",
]
FUNNEL_STEPS: tuple[FunnelStep, ...] = (
    "application_started",
    "application_submitted",
    "offer_presented",
    "offer_accepted",
    "funded",
)
Channel = Literal["chat", "voice", "api", "system"]
Mode = Literal["llm", "guided"]
MAX_RANGE_DAYS = 400


class DayRange(BaseModel):
    """A range of UTC days, both ends included, at most MAX_RANGE_DAYS long."""

    date_from: date
    date_to: date

    @model_validator(mode="after")
    def _range(self) -> Self:
        if self.date_to < self.date_from:
            raise ValueError("date_to is before date_from")
        if (self.date_to - self.date_from).days > MAX_RANGE_DAYS:
            raise ValueError(f"a range is at most {MAX_RANGE_DAYS} days")
        return self


class AnalyticsFilter(DayRange):
    """Which slice of the data: a day range (inclusive) and optional product, channel, mode.

    `organization_id` narrows a platform admin's view to one firm; a broker manager always sees
    their own firm only, and a broker their own applications, whatever this says.
    """

    product: str | None = Field(default=None, max_length=32)
    channel: Channel | None = None
    mode: Mode | None = None
    organization_id: uuid.UUID | None = None


Breakdown = Literal["product", "channel", "mode"]


class FunnelRow(BaseModel):
    day: date
    step: FunnelStep
    group: str | None = Field(
        description="The breakdown's value (a product, channel or mode; '' when unknown), or "
        "None without a breakdown."
    )
    applications: int


class FunnelTotal(BaseModel):
    step: FunnelStep
    applications: int


class Funnel(BaseModel):
    as_of: datetime | None = Field(description="When the rollups were last refreshed.")
    breakdown: Breakdown | None
    rows: list[FunnelRow]
    totals: list[FunnelTotal]


class DropOffStep(BaseModel):
    step: FunnelStep
    reached: int
    dropped: int = Field(description="Reached this step but not the next (none for the last).")
    conversion: Decimal | None = Field(description="Share reaching the next step (0 to 1).")


class DropOff(BaseModel):
    as_of: datetime | None
    started_from: date
    started_to: date
    steps: list[DropOffStep]


class IntakeStop(BaseModel):
    mode: str = Field(
        description="The mode the application started in: llm, guided, or '' "
        "(started outside a conversation)."
    )
    field: str | None = Field(
        description="The required field the intake was waiting for when it last changed (a "
        "requirements field name, as in an application's `missing_fields`): '' when nothing "
        "was missing, None when not recorded (applications from before intake was tracked)."
    )
    started: int = Field(description="Applications of this mode and field started in the range.")
    stopped: int = Field(description="Of those, how many were never submitted.")
    share: Decimal | None = Field(
        description="Stopped here, of all applications started in this mode (0 to 1)."
    )


class IntakeDropOff(BaseModel):
    as_of: datetime | None
    started_from: date
    started_to: date
    started_by_mode: dict[str, int]
    stops: list[IntakeStop] = Field(description="Most stopped first.")


class StepInterval(BaseModel):
    from_step: FunnelStep
    to_step: FunnelStep
    applications: int
    median_hours: Decimal | None
    p90_hours: Decimal | None


class StepTimes(BaseModel):
    as_of: datetime | None
    intervals: list[StepInterval]


class AgentMetricsRow(BaseModel):
    prompt_versions: dict[str, int | str]
    model: str | None
    turns: int
    failed_turns: int
    tool_calls: int
    tool_errors: int
    approvals_asked: int
    approvals_granted: int
    fallbacks_to_guided: int
    guided_turns: int
    input_tokens: int
    output_tokens: int
    cost: Decimal
    thumbs_up: int
    thumbs_down: int


class AgentMetrics(BaseModel):
    as_of: datetime | None
    rows: list[AgentMetricsRow]


class LenderPerformanceRow(BaseModel):
    lender_id: uuid.UUID
    lender_name: str
    submissions: int
    decided: int
    approved: int
    approval_rate: Decimal | None = Field(description="Approved of decided (0 to 1).")
    mean_hours_to_decision: Decimal | None
    offers_accepted: int
    funded_loans: int
    funded_volume: Decimal


class LenderPerformance(BaseModel):
    as_of: datetime | None
    rows: list[LenderPerformanceRow]


# The stages of a voice turn LiveKit measures (stored per run in chat_run.voice, seconds).
VoiceStage = Literal[
    "end_of_turn_delay", "transcription_delay", "llm_node_ttft", "tts_node_ttfb", "e2e_latency"
]
VOICE_STAGES: tuple[VoiceStage, ...] = (
    "end_of_turn_delay",
    "transcription_delay",
    "llm_node_ttft",
    "tts_node_ttfb",
    "e2e_latency",
)


class VoiceFilter(DayRange):
    """Voice turns started in a day range; a platform admin may narrow it to one firm."""

    organization_id: uuid.UUID | None = None


class StageLatency(BaseModel):
    stage: VoiceStage
    turns: int = Field(description="Turns that measured this stage.")
    p50_ms: Decimal | None
    p95_ms: Decimal | None


class VoiceMetricsRow(BaseModel):
    turns: int
    interrupted: int = Field(description="Turns whose reply the person spoke over.")
    failed: int
    stages: list[StageLatency]


class VoiceDay(VoiceMetricsRow):
    day: date


class VoicePromptModel(VoiceMetricsRow):
    prompt_versions: dict[str, int | str]
    model: str | None


class VoiceMetrics(BaseModel):
    """Voice turns in the range: overall, per UTC day and per prompt versions and model."""

    date_from: date
    date_to: date
    total: VoiceMetricsRow
    days: list[VoiceDay]
    prompt_models: list[VoicePromptModel]
