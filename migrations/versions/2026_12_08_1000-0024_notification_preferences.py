"""Notifications, part two (issue 19): per-kind preferences, the scheduled events' exactly-once
key, the channels a notification was written for, and e-mail change requests.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-08 10:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PURPOSES_BEFORE = "purpose IN ('password_reset', 'email_verification')"
_PURPOSES_AFTER = "purpose IN ('password_reset', 'email_verification', 'email_change')"


def upgrade() -> None:
    op.create_table(
        "notification_preference",
        sa.Column(
            "user_id",
            sa.Uuid(),
            sa.ForeignKey("user_account.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("email", sa.Boolean(), nullable=False),
        sa.Column("in_app", sa.Boolean(), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("user_id", "kind", name="pk_notification_preference"),
    )
    op.add_column(
        "notification",
        sa.Column("in_app", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    op.add_column("notification", sa.Column("email_status", sa.String(16)))
    op.add_column("notification", sa.Column("event_key", sa.String(200)))
    op.create_check_constraint(
        "ck_notification_email_status",
        "notification",
        "email_status IN ('pending', 'queued', 'skipped')",
    )
    op.create_index(
        "uq_notification_user_id_event_key",
        "notification",
        ["user_id", "event_key"],
        unique=True,
        postgresql_where=sa.text("event_key IS NOT NULL"),
    )
    op.drop_constraint("ck_email_link_token_purpose", "email_link_token", type_="check")
    op.create_check_constraint("ck_email_link_token_purpose", "email_link_token", _PURPOSES_AFTER)
    op.create_table(
        "email_change_request",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "user_id",
            sa.Uuid(),
            sa.ForeignKey("user_account.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "link_id",
            sa.Uuid(),
            sa.ForeignKey("email_link_token.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("new_email", sa.String(320), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("confirmed_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_email_change_request_user_id", "email_change_request", ["user_id"])


def downgrade() -> None:
    op.drop_table("email_change_request")
    op.execute("DELETE FROM email_link_token WHERE purpose = 'email_change'")
    op.drop_constraint("ck_email_link_token_purpose", "email_link_token", type_="check")
    op.create_check_constraint("ck_email_link_token_purpose", "email_link_token", _PURPOSES_BEFORE)
    op.drop_index("uq_notification_user_id_event_key", table_name="notification")
    op.drop_constraint("ck_notification_email_status", "notification", type_="check")
    op.drop_column("notification", "event_key")
    op.drop_column("notification", "email_status")
    op.drop_column("notification", "in_app")
    op.drop_table("notification_preference")
