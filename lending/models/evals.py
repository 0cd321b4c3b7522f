"""Eval runs and their per-scenario results (issue 16): what prompt engineers compare, bless as a
baseline and gate on. Keyed by the exact prompt versions, model, graph hash and scenario hash.
Runs asked for from the back office wait, run and report progress as eval requests."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from lending.models.applications import one_of, text_enum
from lending.models.base import Base, new_id


class EvalRun(Base):
    """One `omnifin evals run`: which code, prompts and model ran which scenarios, K times."""

    __tablename__ = "eval_run"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    label: Mapped[str | None] = mapped_column(String(200))
    # guided, scripted, or the name of an OpenAI-compatible model.
    model: Mapped[str] = mapped_column(String(200))
    prompt_label: Mapped[str] = mapped_column(String(64))
    # Every prompt version any of its turns ran with: {"borrower.system": 3, ...}.
    prompt_versions: Mapped[dict[str, Any]] = mapped_column(JSONB)
    graph_hash: Mapped[str] = mapped_column(String(64))
    trials: Mapped[int] = mapped_column(Integer)
    blessed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # pass@k, pass^k, per-suite rates, the flaky list, timings.
    summary: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class EvalResult(Base):
    """One trial of one scenario in one mode."""

    __tablename__ = "eval_result"
    __table_args__ = (Index("ix_eval_result_run_id_scenario_id", "run_id", "scenario_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("eval_run.id", ondelete="CASCADE"))
    scenario_id: Mapped[str] = mapped_column(String(80))
    scenario_hash: Mapped[str] = mapped_column(String(64))
    suite: Mapped[str] = mapped_column(String(80))
    critical: Mapped[bool] = mapped_column(Boolean)
    mode: Mapped[str] = mapped_column(String(16))
    trial: Mapped[int] = mapped_column(Integer)
    passed: Mapped[bool] = mapped_column(Boolean)
    checks: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    # Judges' verdicts, each with its rationale.
    verdicts: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    prompt_versions: Mapped[dict[str, Any]] = mapped_column(JSONB)
    turns: Mapped[int] = mapped_column(Integer)
    max_latency_ms: Mapped[float] = mapped_column(Float)
    tokens: Mapped[int] = mapped_column(Integer)
    cost: Mapped[Decimal] = mapped_column(Numeric(14, 6))
    duration_ms: Mapped[float] = mapped_column(Float)
    isolation_ms: Mapped[float] = mapped_column(Float)
    # Redacted: what a person reads to see why a scenario failed.
    transcript: Mapped[list[dict[str, str]]] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(Text)


class EvalRequestStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"  # its run is saved (scenarios may have failed: the run says which)
    FAILED = "failed"  # the run could not be made (the reason is in `error`)


class EvalRequest(Base):
    """An eval run asked for from the back office, run as a job by the worker: what was asked,
    by whom, how far it got, and the run it made."""

    __tablename__ = "eval_request"
    __table_args__ = (
        CheckConstraint(one_of("status", EvalRequestStatus), name="status"),
        Index("ix_eval_request_created_at_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    requested_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    # Scenario folders or files under evals/scenarios (relative), and tags; empty: all.
    paths: Mapped[list[str]] = mapped_column(JSONB, default=list)
    tags: Mapped[list[str]] = mapped_column(JSONB, default=list)
    model: Mapped[str] = mapped_column(String(200))
    prompt_label: Mapped[str] = mapped_column(String(64))
    trials: Mapped[int] = mapped_column(Integer)
    label: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[EvalRequestStatus] = mapped_column(
        text_enum(EvalRequestStatus, "eval_request_status"), default=EvalRequestStatus.QUEUED
    )
    # Scenario runs (scenario x mode x channel x trial) planned, done, and failed so far.
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    run_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("eval_run.id", ondelete="SET NULL"))
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
