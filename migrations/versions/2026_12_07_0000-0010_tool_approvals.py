"""Approvals are objects: one row per question put to a person about one irreversible tool call
(tool, argument hash, call key, who may answer, expiry, answer). The conversation's single
`pending_approval` column gives way to them: a thread's pending approvals are these rows.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 00:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tool_approval",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "actor_user_id",
            sa.Uuid(),
            sa.ForeignKey("user_account.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("thread_id", sa.Uuid(), sa.ForeignKey("chat_thread.id", ondelete="CASCADE")),
        sa.Column("tool_name", sa.String(64), nullable=False),
        sa.Column("call_key", sa.String(200), nullable=False),
        sa.Column("arguments_sha256", sa.String(64), nullable=False),
        sa.Column("arguments", postgresql.JSONB(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("details", postgresql.JSONB(), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("answered_channel", sa.String(16)),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True)),
        sa.Column("executed_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected', 'expired', 'executed')",
            name="ck_tool_approval_status",
        ),
    )
    op.create_index(
        "uq_tool_approval_open_call",
        "tool_approval",
        ["actor_user_id", "call_key"],
        unique=True,
        postgresql_where=sa.text("status IN ('pending', 'approved')"),
    )
    op.create_index("ix_tool_approval_thread_status", "tool_approval", ["thread_id", "status"])
    # In-flight approvals of the old kind cannot be carried over (they were positions in a
    # paused turn, with no call identity): the next message to such a thread resumes the paused
    # turn, which rehearses the action again and asks a new question.
    op.drop_column("chat_thread", "pending_approval")


def downgrade() -> None:
    op.add_column("chat_thread", sa.Column("pending_approval", postgresql.JSONB()))
    op.drop_index("ix_tool_approval_thread_status", table_name="tool_approval")
    op.drop_index("uq_tool_approval_open_call", table_name="tool_approval")
    op.drop_table("tool_approval")
