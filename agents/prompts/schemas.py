"""Prompt registry schemas: what prompt engineers send and read, and what rendering returns."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from lending.models.prompts import ExperimentStatus, PromptCategory, PromptLabelName

PromptName = Annotated[
    str,
    Field(
        min_length=3,
        max_length=100,
        pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$",
        description="Dotted lowercase name, e.g. `borrower.system`.",
        examples=["borrower.system"],
    ),
]
PromptText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=50_000,
        description="The template: `{name}` placeholders, `{{` and `}}` for literal braces.",
    ),
]
Variables = Annotated[
    list[Annotated[str, Field(max_length=100)]],
    Field(
        max_length=50,
        description="Every placeholder the text uses, each once; the text must use all of them.",
    ),
]
ArmName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
VERSION_NUMBER = Field(ge=1, le=1_000_000)


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VersionCreate(_Input):
    """A new version of a prompt; it gets the next number and no label."""

    text: PromptText
    variables: Variables = Field(default_factory=list)
    change_note: str | None = Field(default=None, max_length=2000)


class PromptCreate(VersionCreate):
    """A new prompt with its first version."""

    name: PromptName
    category: PromptCategory
    description: str = Field(default="", max_length=2000)


class LabelMove(_Input):
    version: int = VERSION_NUMBER


class ArmSpec(_Input):
    name: ArmName | None = Field(
        default=None, description="The variant's name; `v<version>` when left out."
    )
    version: int = VERSION_NUMBER
    weight: int = Field(ge=1, le=100, description="Percent of users served this arm.")


class ExperimentCreate(_Input):
    """An A/B test of versions on the traffic of one label; created stopped (status draft)."""

    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=2000)
    label: PromptLabelName = PromptLabelName.PRODUCTION
    arms: list[ArmSpec] = Field(min_length=2, max_length=10)

    @field_validator("arms")
    @classmethod
    def _weights_and_names(cls, arms: list[ArmSpec]) -> list[ArmSpec]:
        total = sum(arm.weight for arm in arms)
        if total != 100:
            raise ValueError(f"weights must sum to 100; they sum to {total}")
        names = [arm.name or f"v{arm.version}" for arm in arms]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"arm names must differ; {', '.join(twice)} is used twice")
        return arms


class PreviewRequest(_Input):
    """Render a version (or what a label serves) with the given variables, recording nothing."""

    variables: dict[str, Annotated[str, Field(max_length=20_000)]] = Field(default_factory=dict)
    label: PromptLabelName | None = Field(
        default=None, description="What this label serves (production when neither is given)."
    )
    version: int | None = Field(default=None, ge=1, description="This exact version.")
    user_id: uuid.UUID | None = Field(
        default=None, description="Whose experiment arm to show (default: the caller's)."
    )


class VersionRead(BaseModel):
    number: int
    text: str
    variables: list[str]
    author_user_id: uuid.UUID | None
    change_note: str | None
    created_at: datetime
    labels: list[PromptLabelName] = Field(description="The labels pointing at this version.")


class LabelRead(BaseModel):
    prompt_name: str
    label: PromptLabelName
    version: int
    previous_version: int | None = Field(
        default=None, description="Where the label pointed before this move."
    )
    moved_by_user_id: uuid.UUID | None
    moved_at: datetime


class ArmRead(BaseModel):
    name: str
    version: int
    weight: int
    assigned_users: int = Field(default=0, description="Users served this arm so far.")


class ExperimentRead(BaseModel):
    id: uuid.UUID
    prompt_name: str
    label: PromptLabelName
    name: str
    description: str
    status: ExperimentStatus
    arms: list[ArmRead]
    created_by_user_id: uuid.UUID | None
    created_at: datetime
    started_at: datetime | None
    stopped_at: datetime | None


class ArmOutcome(BaseModel):
    """What one arm's users did while the experiment ran, from the recorded runs."""

    variant: str
    version_number: int
    users: int = Field(description="People served this arm.")
    turns: int = Field(description="Assistant turns rendered with this arm's prompt.")
    applications_started: int
    applications_submitted: int
    thumbs_up: int
    thumbs_down: int
    tool_errors: int = Field(description="Tool calls that failed in this arm's turns.")
    failed_turns: int
    input_tokens: int
    output_tokens: int
    cost: Decimal = Field(description="Model cost of the arm's turns, in US dollars.")


class ExperimentResults(BaseModel):
    experiment: ExperimentRead
    window_start: datetime | None = Field(description="When it started (null: never started).")
    window_end: datetime = Field(description="When it stopped, or now while it runs.")
    arms: list[ArmOutcome]


class PromptSummary(BaseModel):
    name: str
    category: PromptCategory
    description: str
    latest_version: int
    labels: dict[PromptLabelName, int] = Field(description="Label → the version it points at.")
    running_experiment_ids: list[uuid.UUID]
    updated_at: datetime


class PromptDetail(PromptSummary):
    versions: list[VersionRead] = Field(description="Newest first.")
    experiments: list[ExperimentRead] = Field(description="Newest first.")


class PromptDiff(BaseModel):
    prompt_name: str
    from_version: int
    to_version: int
    diff: str = Field(description="Unified diff of the two texts (empty when equal).")
    variables_added: list[str]
    variables_removed: list[str]


class RenderedPrompt(BaseModel):
    """A rendered prompt and what produced it, for the run to record."""

    model_config = ConfigDict(frozen=True)

    text: str
    prompt_name: str
    version: int = Field(description="0 when the built-in default text was used.")
    variant: str | None = Field(default=None, description="The experiment arm, if one ran.")
    experiment_id: uuid.UUID | None = None
    label: PromptLabelName | None = None
    source: Literal["registry", "default"] = "registry"
