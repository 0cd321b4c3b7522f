"""Documents: uploaded files (encrypted in storage), extracted fields, fraud signals, review events.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 03:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TYPES = (
    "'identification', 'pay_stub', 'bank_statement', 'w2', 'tax_return', 'proof_of_address', "
    "'business_licence', 'other'"
)
_STATUSES = (
    "'uploaded', 'processing', 'extracted', 'needs_ocr', 'failed', 'needs_review', 'verified', "
    "'rejected'"
)


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "document",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "application_id",
            sa.Uuid(),
            sa.ForeignKey("loan_application.id", ondelete="CASCADE"),
        ),
        sa.Column(
            "organization_id",
            sa.Uuid(),
            sa.ForeignKey("organization.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column(
            "uploaded_by_user_id", sa.Uuid(), sa.ForeignKey("user_account.id", ondelete="SET NULL")
        ),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("storage_backend", sa.String(16), nullable=False),
        sa.Column("storage_key", sa.String(300), nullable=False),
        sa.Column("chunk_bytes", sa.Integer(), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("declared_type", sa.String(32)),
        sa.Column("suggested_type", sa.String(32)),
        sa.Column("type_confidence", sa.Numeric(4, 3)),
        sa.Column("document_type", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("review_reasons", postgresql.JSONB(), server_default="[]", nullable=False),
        sa.Column("status_reason", sa.Text()),
        sa.Column("page_count", sa.Integer()),
        sa.Column("text_encrypted", sa.LargeBinary()),
        sa.Column("extraction_runs", sa.Integer(), server_default="0", nullable=False),
        sa.Column("extracted_at", sa.DateTime(timezone=True)),
        sa.Column(
            "reviewed_by_user_id", sa.Uuid(), sa.ForeignKey("user_account.id", ondelete="SET NULL")
        ),
        sa.Column("reviewed_at", sa.DateTime(timezone=True)),
        *_timestamps(),
        sa.CheckConstraint(f"status IN ({_STATUSES})", name="ck_document_status"),
        sa.CheckConstraint(f"document_type IN ({_TYPES})", name="ck_document_document_type"),
        sa.CheckConstraint("size_bytes > 0", name="ck_document_size_positive"),
        sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="ck_document_sha256_hex"),
    )
    op.create_index(
        "uq_document_application_id_sha256",
        "document",
        ["application_id", "sha256"],
        unique=True,
        postgresql_where=sa.text("application_id IS NOT NULL"),
    )
    op.create_index(
        "ix_document_application_id_created_at", "document", ["application_id", "created_at"]
    )
    op.create_index("ix_document_uploaded_by_user_id", "document", ["uploaded_by_user_id"])
    op.create_index("ix_document_key_id", "document", ["key_id"])

    op.create_table(
        "document_field",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), primary_key=True),
        sa.Column(
            "document_id",
            sa.Uuid(),
            sa.ForeignKey("document.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value_kind", sa.String(8), nullable=False),
        sa.Column("value", sa.Text()),
        sa.Column("value_encrypted", sa.LargeBinary()),
        sa.Column("sensitive", sa.Boolean(), nullable=False),
        sa.Column("confidence", sa.Numeric(4, 3), nullable=False),
        sa.Column("span_start", sa.Integer()),
        sa.Column("span_end", sa.Integer()),
        sa.UniqueConstraint("document_id", "name", name="uq_document_field_document_id_name"),
        sa.CheckConstraint(
            "confidence >= 0 AND confidence <= 1", name="ck_document_field_confidence_range"
        ),
        sa.CheckConstraint(
            "value_kind IN ('text', 'integer', 'decimal', 'date', 'none')",
            name="ck_document_field_value_kind",
        ),
    )

    op.create_table(
        "document_signal",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), primary_key=True),
        sa.Column(
            "document_id",
            sa.Uuid(),
            sa.ForeignKey("document.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("field", sa.String(64)),
        sa.Column("expected", sa.Text()),
        sa.Column("actual", sa.Text()),
        sa.Column("severity", sa.String(32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "severity IN ('low', 'medium', 'high')", name="ck_document_signal_severity"
        ),
    )
    op.create_index("ix_document_signal_document_id", "document_signal", ["document_id"])
    op.create_index("ix_document_signal_code", "document_signal", ["code"])

    op.create_table(
        "document_event",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), primary_key=True),
        sa.Column(
            "document_id",
            sa.Uuid(),
            sa.ForeignKey("document.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("from_status", sa.String(32)),
        sa.Column("to_status", sa.String(32)),
        sa.Column(
            "actor_user_id", sa.Uuid(), sa.ForeignKey("user_account.id", ondelete="SET NULL")
        ),
        sa.Column("actor_role", sa.String(32)),
        sa.Column("reason", sa.Text()),
        sa.Column("details", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.Column(
            "occurred_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_index("ix_document_event_document_id_id", "document_event", ["document_id", "id"])


def downgrade() -> None:
    op.drop_table("document_event")
    op.drop_table("document_signal")
    op.drop_table("document_field")
    op.drop_table("document")
