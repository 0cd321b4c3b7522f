"""In-app notifications (issue 19): one row per person and event, written in the transaction of
the event (an application's status change, a rejected document)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    PrimaryKeyConstraint,
    String,
    func,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from lending.models.base import Base, new_id, utcnow


class Notification(Base):
    __tablename__ = "notification"
    __table_args__ = (
        # A person's list, newest first, and their unread count.
        Index("ix_notification_user_id_created_at", "user_id", "created_at"),
        Index("ix_notification_unread", "user_id", postgresql_where=text("read_at IS NULL")),
        # Exactly once per person and event: a scheduled event's key (lending/notifications/events.py).
        Index(
            "uq_notification_user_id_event_key",
            "user_id",
            "event_key",
            unique=True,
            postgresql_where=text("event_key IS NOT NULL"),
        ),
        # The mail job's claim: pending -> queued, once.
        CheckConstraint("email_status IN ('pending', 'queued', 'skipped')", name="email_status"),
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
    # The person's choices for this kind when it was written: shown in the app, and/or mailed.
    in_app: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # None: not to be mailed; pending: the mail job has not run; queued: in the outbox.
    email_status: Mapped[str | None] = mapped_column(String(16))
    event_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )


class NotificationPreference(Base):
    """A person's choice for one kind of notification: in the app, by e-mail, both or neither.
    No row: the kind's default (lending/notifications/kinds.py). Essential mail (security,
    reset, verification) has no row and cannot be turned off."""

    __tablename__ = "notification_preference"
    __table_args__ = (PrimaryKeyConstraint("user_id", "kind"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(64))
    email: Mapped[bool] = mapped_column(Boolean)
    in_app: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )
