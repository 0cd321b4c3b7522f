"""Prompt registry tables: prompts, immutable versions, labels, A/B experiments, assignments."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from lending.models.applications import one_of, text_enum
from lending.models.base import Base, TimestampMixin, new_id


class PromptCategory(StrEnum):
    GREETING = "greeting"
    INFORMATION_GATHERING = "information_gathering"
    DOCUMENT_COLLECTION = "document_collection"
    LOAN_MATCHING = "loan_matching"
    CLOSING = "closing"
    SYSTEM = "system"


class PromptLabelName(StrEnum):
    """Where a version is deployed; moving `production` is what the running assistant sees."""

    DRAFT = "draft"
    STAGING = "staging"
    PRODUCTION = "production"


class ExperimentStatus(StrEnum):
    DRAFT = "draft"
    RUNNING = "running"
    STOPPED = "stopped"


class Prompt(TimestampMixin, Base):
    """A named prompt (e.g. `borrower.system`); its text lives in its versions."""

    __tablename__ = "prompt"
    __table_args__ = (CheckConstraint(one_of("category", PromptCategory), name="category"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    category: Mapped[PromptCategory] = mapped_column(text_enum(PromptCategory, "prompt_category"))
    description: Mapped[str] = mapped_column(Text, server_default="", default="")
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )


class PromptVersion(Base):
    """One immutable text of a prompt. A database trigger refuses any change to its content, so
    that a run's recorded (prompt, version) always means the text that was sent."""

    __tablename__ = "prompt_version"
    __table_args__ = (
        UniqueConstraint("prompt_id", "number"),
        CheckConstraint("number >= 1", name="number_positive"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    prompt_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("prompt.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    variables: Mapped[list[str]] = mapped_column(ARRAY(String(64)), server_default="{}")
    author_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    change_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PromptLabel(Base):
    """A label of a prompt pointing at one of its versions; at most one per (prompt, label)."""

    __tablename__ = "prompt_label"
    __table_args__ = (
        UniqueConstraint("prompt_id", "label"),
        CheckConstraint(one_of("label", PromptLabelName), name="label"),
        # A label can only point at a version of its own prompt.
        ForeignKeyConstraint(
            ["prompt_id", "version_number"], ["prompt_version.prompt_id", "prompt_version.number"]
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    prompt_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("prompt.id", ondelete="CASCADE"))
    label: Mapped[PromptLabelName] = mapped_column(text_enum(PromptLabelName, "prompt_label"))
    version_number: Mapped[int] = mapped_column(Integer)
    moved_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    moved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PromptExperiment(Base):
    """An A/B test on the version a label serves: `arms` is a list of {name, version, weight}
    with weights summing to 100. At most one experiment runs per (prompt, label)."""

    __tablename__ = "prompt_experiment"
    __table_args__ = (
        CheckConstraint(one_of("label", PromptLabelName), name="label"),
        CheckConstraint(one_of("status", ExperimentStatus), name="status"),
        Index(
            "uq_prompt_experiment_running",
            "prompt_id",
            "label",
            unique=True,
            postgresql_where=text("status = 'running'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    prompt_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("prompt.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[PromptLabelName] = mapped_column(text_enum(PromptLabelName, "prompt_label"))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, server_default="", default="")
    status: Mapped[ExperimentStatus] = mapped_column(
        text_enum(ExperimentStatus, "experiment_status"),
        server_default=ExperimentStatus.DRAFT.value,
        default=ExperimentStatus.DRAFT,
    )
    arms: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PromptExperimentAssignment(Base):
    """Which arm a user was served in an experiment (first render), for reading results.

    `user_id` has no foreign key on purpose: evals and load tests render for synthetic users.
    """

    __tablename__ = "prompt_experiment_assignment"

    experiment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("prompt_experiment.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    variant: Mapped[str] = mapped_column(String(64))
    version_number: Mapped[int] = mapped_column(Integer)
    assigned_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
