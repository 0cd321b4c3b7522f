"""Eval runs and their per-scenario results (issue 16): what prompt engineers compare, bless as a
baseline and gate on. Keyed by the exact prompt versions, model, graph hash and scenario hash."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
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
