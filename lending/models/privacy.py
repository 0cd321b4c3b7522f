"""Erasure requests: a person's data removed or anonymised, asked by one person and approved by
another (maker-checker), with the report of what was removed, what was kept and why."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from lending.models.base import Base, new_id


class ErasureStatus(enum.StrEnum):
    PENDING = "pending"
    REJECTED = "rejected"
    COMPLETED = "completed"


class ErasureRequest(Base):
    __tablename__ = "erasure_request"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'rejected', 'completed')", name="status"),
        CheckConstraint(
            "reviewed_by_user_id IS NULL OR requested_by_user_id IS NULL "
            "OR reviewed_by_user_id <> requested_by_user_id",
            name="four_eyes",
        ),
        Index(
            "uq_erasure_request_pending_subject",
            "subject_user_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    subject_user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT")
    )
    requested_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=ErasureStatus.PENDING.value)
    reviewed_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    review_note: Mapped[str | None] = mapped_column(Text)
    # The name the person's kept records carry from now on ("erased-…"), random, not derived.
    pseudonym: Mapped[str | None] = mapped_column(String(32))
    report: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
