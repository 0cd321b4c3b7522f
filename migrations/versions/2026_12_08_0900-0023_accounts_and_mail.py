"""Accounts, mail and notifications (issue 19): the mail outbox, in-app notifications,
single-use e-mail link tokens (password reset, e-mail verification), and a user's verified-at
and mail language. Every existing account counts as verified (the column's default backfills
them).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-08 08:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "user_account",
        sa.Column(
            "email_verified_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=True,
        ),
    )
    op.add_column(
        "user_account",
        sa.Column("language", sa.String(8), server_default="en", nullable=False),
    )
    op.create_table(
        "email_link_token",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "user_id",
            sa.Uuid(),
            sa.ForeignKey("user_account.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(32), nullable=False, unique=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(
            "purpose IN ('password_reset', 'email_verification')",
            name="ck_email_link_token_purpose",
        ),
    )
    op.create_index("ix_email_link_token_user_id", "email_link_token", ["user_id"])
    op.create_table(
        "mail_message",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("user_id", sa.Uuid(), sa.ForeignKey("user_account.id", ondelete="CASCADE")),
        sa.Column("to_address", sa.String(320), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("content_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(500)),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'dev_mailbox', 'failed')",
            name="ck_mail_message_status",
        ),
    )
    op.create_index("ix_mail_message_user_id", "mail_message", ["user_id"])
    op.create_index("ix_mail_message_status_created_at", "mail_message", ["status", "created_at"])

    op.create_table(
        "notification",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "user_id",
            sa.Uuid(),
            sa.ForeignKey("user_account.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column(
            "application_id", sa.Uuid(), sa.ForeignKey("loan_application.id", ondelete="CASCADE")
        ),
        sa.Column("document_id", sa.Uuid(), sa.ForeignKey("document.id", ondelete="CASCADE")),
        sa.Column("data", postgresql.JSONB(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True)),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_index("ix_notification_user_id_created_at", "notification", ["user_id", "created_at"])
    op.create_index(
        "ix_notification_unread",
        "notification",
        ["user_id"],
        postgresql_where=sa.text("read_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("notification")
    op.drop_table("mail_message")
    op.drop_table("email_link_token")
    op.drop_column("user_account", "language")
    op.drop_column("user_account", "email_verified_at")
