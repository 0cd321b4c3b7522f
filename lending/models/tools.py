"""Results of side-effecting tool calls, kept so that a retried or resumed call does not act twice."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, String, UniqueConstraint, func
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
