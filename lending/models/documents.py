"""Document tables: uploaded files (encrypted elsewhere), their extracted fields, fraud and quality
signals, and the review trail.

A document's bytes live in a storage backend, sealed with a data key of their own; the row keeps
that data key wrapped by the master key (`wrapped_key`, whose header names the master key, also
kept in `key_id` so that a rotation finds what to re-wrap). Extracted text and sensitive field
values (an ID's document number) are sealed with lending.crypto as well.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
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
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from lending.documents.types import DocumentType
from lending.models.applications import one_of, text_enum
from lending.models.base import Base, TimestampMixin, new_id


class DocumentStatus(StrEnum):
    UPLOADED = "uploaded"
    PROCESSING = "processing"
    EXTRACTED = "extracted"
    NEEDS_OCR = "needs_ocr"
    FAILED = "failed"
    NEEDS_REVIEW = "needs_review"
    VERIFIED = "verified"
    REJECTED = "rejected"


class SignalSeverity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Document(TimestampMixin, Base):
    """One uploaded file of a loan file (or, before it is attached, of its uploader)."""

    __tablename__ = "document"
    __table_args__ = (
        CheckConstraint(one_of("status", DocumentStatus), name="status"),
        CheckConstraint(one_of("document_type", DocumentType), name="document_type"),
        CheckConstraint("size_bytes > 0", name="size_positive"),
        CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="sha256_hex"),
        # The same bytes are stored once per application: a second upload is linked instead.
        Index(
            "uq_document_application_id_sha256",
            "application_id",
            "sha256",
            unique=True,
            postgresql_where=text("application_id IS NOT NULL"),
        ),
        Index("ix_document_application_id_created_at", "application_id", "created_at"),
        Index("ix_document_uploaded_by_user_id", "uploaded_by_user_id"),
        Index("ix_document_key_id", "key_id"),
        # The review queue: attached documents waiting for a person, oldest first.
        Index(
            "ix_document_review_queue",
            "created_at",
            "id",
            postgresql_where=text(
                "application_id IS NOT NULL AND status IN ('extracted', 'needs_review')"
            ),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # NULL until attached (a file dropped into a chat before there is an application).
    application_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("loan_application.id", ondelete="CASCADE")
    )
    # The tenant: the application's firm, or the uploader's while unattached.
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organization.id", ondelete="RESTRICT")
    )
    uploaded_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_backend: Mapped[str] = mapped_column(String(16))
    storage_key: Mapped[str] = mapped_column(String(300))
    chunk_bytes: Mapped[int] = mapped_column(Integer)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    key_id: Mapped[str] = mapped_column(String(16))
    # What the uploader said it is, what extraction suggests, and the type in force.
    declared_type: Mapped[DocumentType | None] = mapped_column(
        text_enum(DocumentType, "document_type")
    )
    suggested_type: Mapped[DocumentType | None] = mapped_column(
        text_enum(DocumentType, "document_type")
    )
    type_confidence: Mapped[Decimal | None] = mapped_column(Numeric(4, 3))
    document_type: Mapped[DocumentType] = mapped_column(
        text_enum(DocumentType, "document_type"), default=DocumentType.OTHER
    )
    status: Mapped[DocumentStatus] = mapped_column(
        text_enum(DocumentStatus, "document_status"), default=DocumentStatus.UPLOADED
    )
    # Why it went to review, or why it failed / was rejected.
    review_reasons: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default="[]")
    status_reason: Mapped[str | None] = mapped_column(Text)
    page_count: Mapped[int | None] = mapped_column(Integer)
    text_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    extraction_runs: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    extracted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reviewed_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DocumentField(Base):
    """One typed value extracted from a document, with its confidence and where it came from.

    `value` holds the JSON form of non-sensitive values; sensitive ones are sealed in
    `value_encrypted` and `value` is NULL.
    """

    __tablename__ = "document_field"
    __table_args__ = (
        UniqueConstraint("document_id", "name"),
        CheckConstraint("confidence >= 0 AND confidence <= 1", name="confidence_range"),
        CheckConstraint(
            "value_kind IN ('text', 'integer', 'decimal', 'date', 'none')", name="value_kind"
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    value_kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[str | None] = mapped_column(Text)
    value_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    confidence: Mapped[Decimal] = mapped_column(Numeric(4, 3))
    span_start: Mapped[int | None] = mapped_column(Integer)
    span_end: Mapped[int | None] = mapped_column(Integer)


class DocumentSignal(Base):
    """A fraud or quality signal found in a document, as data a reviewer can read and query."""

    __tablename__ = "document_signal"
    __table_args__ = (
        CheckConstraint(one_of("severity", SignalSeverity), name="severity"),
        Index("ix_document_signal_document_id", "document_id"),
        Index("ix_document_signal_code", "code"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    field: Mapped[str | None] = mapped_column(String(64))
    expected: Mapped[str | None] = mapped_column(Text)
    actual: Mapped[str | None] = mapped_column(Text)
    severity: Mapped[SignalSeverity] = mapped_column(text_enum(SignalSeverity, "signal_severity"))
    description: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class DocumentEvent(Base):
    """One step of a document's life: upload, duplicate upload, status change, type correction,
    review decision. Never updated."""

    __tablename__ = "document_event"
    __table_args__ = (Index("ix_document_event_document_id_id", "document_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str | None] = mapped_column(String(32))
    # None when the platform acted (the extraction job).
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    actor_role: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    occurred_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
