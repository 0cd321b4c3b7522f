"""Conversations with the assistant: threads, runs (one per turn), redacted transcripts, feedback.

The graph's own state lives in LangGraph's checkpoint tables; these tables are what the product
shows and measures: thread lists, history with tool activity, cost and latency per turn, and
what people thought of a reply.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
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

from lending.models.base import Base, TimestampMixin, new_id


class ChatGraph(enum.StrEnum):
    BORROWER = "borrower"
    BROKER = "broker"


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    INTERRUPTED = "interrupted"  # waiting for an approval
    FAILED = "failed"


class ChatThread(TimestampMixin, Base):
    __tablename__ = "chat_thread"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organization.id", ondelete="RESTRICT"), index=True
    )
    graph: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16), default="web")
    title: Mapped[str | None] = mapped_column(String(200))
    # A client-chosen id (the OpenAI-compatible endpoint's conversation id), unique per user.
    external_id: Mapped[str | None] = mapped_column(String(128))
    last_message_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("user_id", "external_id"),
        CheckConstraint("graph IN ('borrower', 'broker')", name="graph"),
    )


class ChatRun(Base):
    """One turn: what it cost, how long it took, which prompts and mode answered."""

    __tablename__ = "chat_run"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    thread_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("chat_thread.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.RUNNING.value)
    mode: Mapped[str] = mapped_column(String(8))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    latency_ms: Mapped[float | None] = mapped_column(Numeric(12, 3))
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost: Mapped[Decimal] = mapped_column(Numeric(14, 6), default=Decimal("0"))
    prompt_versions: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # Voice turns only: LiveKit's per-stage metrics (seconds) and whether the reply was cut off.
    voice: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    variant: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    # The OpenTelemetry trace of the turn (when tracing is on), to follow it across services.
    trace_id: Mapped[str | None] = mapped_column(String(32))
    # The language model that answered (None in guided mode), for the agent metrics.
    model: Mapped[str | None] = mapped_column(String(200))
    # The turn began with the model and ended in guided mode (a provider failure or outage).
    fell_back: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # While the run runs (`exit` durability): the graph inputs it applies, the person's message
    # tokenised with the sealed vault entries it added, to run a cut-off turn again. Cleared when
    # the run ends (agents/threads.py).
    resume_input: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)

    __table_args__ = (
        CheckConstraint(
            "status IN ('running', 'completed', 'interrupted', 'failed')", name="status"
        ),
        Index("ix_chat_run_started_at", "started_at"),
        # Voice metrics (migration 0026): voice runs only, covering what the query reads.
        Index(
            "ix_chat_run_started_at_voice",
            "started_at",
            postgresql_where=text("voice IS NOT NULL"),
            postgresql_include=["prompt_versions", "model", "status", "voice", "thread_id"],
        ),
    )


class ChatMessage(Base):
    """The transcript for people: redacted text and tool activity, in order."""

    __tablename__ = "chat_message"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    thread_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("chat_thread.id", ondelete="CASCADE"), index=True
    )
    run_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("chat_run.id", ondelete="SET NULL"))
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text, default="")
    tool: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("role IN ('user', 'assistant', 'tool', 'approval')", name="role"),
        Index("ix_chat_message_run_id_tool", "run_id", postgresql_where=text("role = 'tool'")),
    )


class ChatFeedback(Base):
    __tablename__ = "chat_feedback"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("chat_run.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    rating: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        UniqueConstraint("run_id", "user_id"),
        CheckConstraint("rating IN (-1, 1)", name="rating"),
    )
