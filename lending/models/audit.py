"""The audit log: append-only, each row carrying the hash of the one before it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Identity, Index, LargeBinary, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lending.models.base import Base

GENESIS_HASH = "0" * 64


class AuditEvent(Base):
    """One audited action. A database trigger refuses UPDATE, DELETE and TRUNCATE on this table.

    `hash` is sha256(prev_hash + canonical JSON of the row's content); the chain is ordered by
    `id`, which appends take under an advisory lock so that two transactions never fork it.

    Since migration 0015 the client's IP address is not in the row: it is in
    `AuditEventPersonal`, and the row (and so the hash) holds `ip_digest`, sha256(salt + ip).
    Erasing a person deletes their personal rows, salt included; the digest then says nothing
    and the chain still verifies. Rows written before 0015 keep `ip` in the hashed content.
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_actor_user_id_id", "actor_user_id", "id"),
        Index("ix_audit_event_organization_id_id", "organization_id", "id"),
        # The back office's search by object.
        Index("ix_audit_event_subject_type_subject_id_id", "subject_type", "subject_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    action: Mapped[str] = mapped_column(String(64), index=True)
    # No foreign keys: the log must outlive and never constrain the rows it talks about.
    actor_user_id: Mapped[uuid.UUID | None]
    actor_role: Mapped[str | None] = mapped_column(String(32))
    organization_id: Mapped[uuid.UUID | None]
    subject_type: Mapped[str | None] = mapped_column(String(64))
    subject_id: Mapped[str | None] = mapped_column(String(64))
    # The IP in clear, only on events written before migration 0015 (it is hashed content).
    stored_ip: Mapped[str | None] = mapped_column("ip", String(45))
    ip_digest: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(128))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # Unique: two events claiming the same predecessor would be a fork of the chain.
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64))
    personal: Mapped[AuditEventPersonal | None] = relationship(
        primaryjoin="foreign(AuditEventPersonal.event_id) == AuditEvent.id",
        lazy="selectin",
    )

    @property
    def ip(self) -> str | None:
        """The client's IP address, while it has not been erased."""
        if self.stored_ip is not None:
            return self.stored_ip
        return self.personal.ip if self.personal is not None else None


class AuditEventPersonal(Base):
    """The erasable part of an audit event: the IP address and the salt of its digest."""

    __tablename__ = "audit_event_personal"

    # No foreign key, like the log's own columns.
    event_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ip: Mapped[str | None] = mapped_column(String(45))
    salt: Mapped[bytes] = mapped_column(LargeBinary)
