"""MFA reset requests (maker-checker for turning off a person's second factor) and the history
of lenders' webhook deliveries (issue 17).

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-08 10:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mfa_reset_request",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "user_id",
            sa.Uuid(),
            sa.ForeignKey("user_account.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("reason", sa.String(2000), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column(
            "requested_by_user_id",
            sa.Uuid(),
            sa.ForeignKey("user_account.id", ondelete="SET NULL"),
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "decided_by_user_id",
            sa.Uuid(),
            sa.ForeignKey("user_account.id", ondelete="SET NULL"),
        ),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'cancelled')",
            name="ck_mfa_reset_request_status",
        ),
    )
    op.create_index("ix_mfa_reset_request_user_id", "mfa_reset_request", ["user_id"])
    op.create_index(
        "uq_mfa_reset_request_pending",
        "mfa_reset_request",
        ["user_id"],
        unique=True,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_mfa_reset_request_status_created_at", "mfa_reset_request", ["status", "created_at"]
    )
    op.create_table(
        "lender_webhook_delivery",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), primary_key=True),
        sa.Column(
            "received_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("lender_code", sa.String(64), nullable=False),
        sa.Column("signature_ok", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(200)),
        sa.Column("event_id", sa.String(128)),
        sa.Column("event_type", sa.String(32)),
        sa.Column("application_reference", sa.String(64)),
        sa.Column("summary", JSONB(), server_default="{}", nullable=False),
        sa.CheckConstraint(
            "outcome IN ('processed', 'duplicate', 'rejected', 'invalid', 'failed')",
            name="ck_lender_webhook_delivery_outcome",
        ),
    )
    op.create_index(
        "ix_lender_webhook_delivery_reference_received_at",
        "lender_webhook_delivery",
        ["application_reference", "received_at"],
    )
    op.create_index(
        "ix_lender_webhook_delivery_lender_code_received_at",
        "lender_webhook_delivery",
        ["lender_code", "received_at"],
    )


def downgrade() -> None:
    op.drop_table("lender_webhook_delivery")
    op.drop_table("mfa_reset_request")
