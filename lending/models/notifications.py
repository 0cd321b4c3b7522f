"""In-app notifications (issue 19): one row per person and event, written in the transaction of
the event (an application's status change, a rejected document)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from lending.models.base import Base, new_id, utcnow


class Notification(Base):
    __tablename__ = "notification"
    __table_args__ = (
        # A person's list, newest first, and their unread count.
        Index("ix_notification_user_id_created_at", "user_id", "created_at"),
        Index("ix_notification_unread", "user_id", postgresql_where=text("read_at IS NULL")),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(64))
    application_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("loan_application.id", ondelete="CASCADE")
    )
    document_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("document.id", ondelete="CASCADE")
    )
    # What the message is made from (reference, statuses, document type): never typed text.
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )
