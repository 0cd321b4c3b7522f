"""The mail outbox (issue 19): one row per message, written in the transaction of the event that
causes it, delivered by the `mail.deliver` job (lending/mail/tasks.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from lending.models.base import Base, new_id, utcnow


class MailStatus(StrEnum):
    PENDING = "pending"  # waiting for (another) delivery attempt
    SENT = "sent"  # accepted by the SMTP server
    DEV_MAILBOX = "dev_mailbox"  # no SMTP server configured (development): kept for the dev mailbox
    FAILED = "failed"  # given up after the last attempt


class MailMessage(Base):
    """A message to one recipient. Its subject and bodies are sealed (lending.crypto): they carry
    single-use links whose tokens are stored nowhere else in clear."""

    __tablename__ = "mail_message"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s.value}'" for s in MailStatus) + ")", name="status"
        ),
        Index("ix_mail_message_status_created_at", "status", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    to_address: Mapped[str] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    content_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default=MailStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    # The clock, not the transaction's start: messages of one transaction keep their order.
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
