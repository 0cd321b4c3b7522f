"""Tool calls: results of side-effecting calls (so a retried or resumed call does not act twice)
and the approvals people give to irreversible ones."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from lending.models.base import Base, new_id


class ToolCallRecord(Base):
    """The first result of one (actor, tool, idempotency key); a repeat returns it unchanged."""

    __tablename__ = "tool_call"
    __table_args__ = (UniqueConstraint("actor_user_id", "tool_name", "idempotency_key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    actor_user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE")
    )
    tool_name: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    # sha256 of the validated arguments: the same key with other arguments is refused.
    arguments_sha256: Mapped[str] = mapped_column(String(64))
    output: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ApprovalStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    EXECUTED = "executed"


class ToolApproval(Base):
    """A person's approval of one irreversible tool call: what was asked, of whom, and the answer.

    It approves exactly one call: the tool, the sha256 of its canonical arguments and the call's
    idempotency key. Only `actor_user_id` may answer it, and only before `expires_at`.
    """

    __tablename__ = "tool_approval"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'approved', 'rejected', 'expired', 'executed')", name="status"
        ),
        # One open question per call: a new one is asked only once the last expired.
        Index(
            "uq_tool_approval_open_call",
            "actor_user_id",
            "call_key",
            unique=True,
            postgresql_where=text("status IN ('pending', 'approved')"),
        ),
        Index("ix_tool_approval_thread_status", "thread_id", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    actor_user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE")
    )
    # The conversation that asked, or NULL for an approval asked by a web page (offer acceptance).
    thread_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("chat_thread.id", ondelete="CASCADE")
    )
    tool_name: Mapped[str] = mapped_column(String(64))
    # The call's idempotency key: the approved call runs under it, so it runs once.
    call_key: Mapped[str] = mapped_column(String(200))
    arguments_sha256: Mapped[str] = mapped_column(String(64))
    # The validated arguments, PII redacted: enough to show, never to run.
    arguments: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # What the person is asked, in their language, and the facts behind it (names, amounts).
    question: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB)
    language: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=ApprovalStatus.PENDING.value)
    answered_channel: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    executed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
