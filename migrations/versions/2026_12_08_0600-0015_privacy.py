"""Data safety and privacy (issue 22): erasure requests, and the audit log's personal part kept
apart from the hash chain (an event's IP address in `audit_event_personal`, the chained row
holding only a salted digest), so that erasing it leaves the chain verifiable.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08 06:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Adding a column fires no row trigger: the append-only guard stays as it is.
    op.add_column("audit_event", sa.Column("ip_digest", sa.String(64)))
    op.create_table(
        "audit_event_personal",
        # No foreign key, like the log itself: it would also stop the append-only trigger's
        # refusal of TRUNCATE audit_event from being the one that answers.
        sa.Column("event_id", sa.BigInteger(), primary_key=True),
        sa.Column("ip", sa.String(45)),
        sa.Column("salt", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "erasure_request",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "subject_user_id",
            sa.Uuid(),
            sa.ForeignKey("user_account.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column(
            "requested_by_user_id",
            sa.Uuid(),
            sa.ForeignKey("user_account.id", ondelete="SET NULL"),
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column(
            "reviewed_by_user_id", sa.Uuid(), sa.ForeignKey("user_account.id", ondelete="SET NULL")
        ),
        sa.Column("reviewed_at", sa.DateTime(timezone=True)),
        sa.Column("review_note", sa.Text()),
        sa.Column("pseudonym", sa.String(32)),
        sa.Column("report", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("completed_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(
            "status IN ('pending', 'rejected', 'completed')", name="ck_erasure_request_status"
        ),
        # Maker-checker, in the database too: whoever asked cannot be the one who approves.
        sa.CheckConstraint(
            "reviewed_by_user_id IS NULL OR requested_by_user_id IS NULL "
            "OR reviewed_by_user_id <> requested_by_user_id",
            name="ck_erasure_request_four_eyes",
        ),
    )
    op.create_index(
        "uq_erasure_request_pending_subject",
        "erasure_request",
        ["subject_user_id"],
        unique=True,
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index("uq_erasure_request_pending_subject", table_name="erasure_request")
    op.drop_table("erasure_request")
    op.drop_table("audit_event_personal")
    op.drop_column("audit_event", "ip_digest")
