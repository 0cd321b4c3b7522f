"""Chat: LangGraph's checkpoint tables, threads, runs, transcripts and feedback.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 02:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from langgraph.checkpoint.postgres.base import MIGRATIONS as CHECKPOINT_MIGRATIONS
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHECKPOINT_TABLES = (
    "checkpoint_writes",
    "checkpoint_blobs",
    "checkpoints",
    "checkpoint_migrations",
)


def upgrade() -> None:
    # The checkpointer's own schema, applied the way its setup() would and recorded in its
    # checkpoint_migrations table, so a later release's setup() adds only what is new. The
    # tables are new and empty here, so CONCURRENTLY (impossible inside a transaction) is
    # dropped from its index statements.
    for version, statement in enumerate(CHECKPOINT_MIGRATIONS):
        op.execute(statement.replace("CONCURRENTLY ", ""))
        if version > 0:
            op.execute(f"INSERT INTO checkpoint_migrations (v) VALUES ({version})")
    op.execute("INSERT INTO checkpoint_migrations (v) VALUES (0)")

    op.create_table(
        "chat_thread",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "user_id",
            sa.Uuid(),
            sa.ForeignKey("user_account.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "organization_id",
            sa.Uuid(),
            sa.ForeignKey("organization.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("graph", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("title", sa.String(200)),
        sa.Column("pending_approval", postgresql.JSONB()),
        sa.Column("external_id", sa.String(128)),
        sa.Column("last_message_at", sa.DateTime(timezone=True)),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.UniqueConstraint("user_id", "external_id", name="uq_chat_thread_user_id_external_id"),
        sa.CheckConstraint("graph IN ('borrower', 'broker')", name="ck_chat_thread_graph"),
    )
    op.create_index("ix_chat_thread_user_id", "chat_thread", ["user_id"])
    op.create_index("ix_chat_thread_organization_id", "chat_thread", ["organization_id"])

    op.create_table(
        "chat_run",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "thread_id",
            sa.Uuid(),
            sa.ForeignKey("chat_thread.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column(
            "started_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("latency_ms", sa.Numeric(12, 3)),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("cost", sa.Numeric(14, 6), nullable=False),
        sa.Column("prompt_versions", postgresql.JSONB(), nullable=False),
        sa.Column("variant", sa.String(64)),
        sa.Column("error", sa.Text()),
        sa.CheckConstraint(
            "status IN ('running', 'completed', 'interrupted', 'failed')", name="ck_chat_run_status"
        ),
    )
    op.create_index("ix_chat_run_thread_id", "chat_run", ["thread_id"])

    op.create_table(
        "chat_message",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column(
            "thread_id",
            sa.Uuid(),
            sa.ForeignKey("chat_thread.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("run_id", sa.Uuid(), sa.ForeignKey("chat_run.id", ondelete="SET NULL")),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("tool", postgresql.JSONB()),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "role IN ('user', 'assistant', 'tool', 'approval')", name="ck_chat_message_role"
        ),
    )
    op.create_index("ix_chat_message_thread_id", "chat_message", ["thread_id"])

    op.create_table(
        "chat_feedback",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "run_id", sa.Uuid(), sa.ForeignKey("chat_run.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "user_id",
            sa.Uuid(),
            sa.ForeignKey("user_account.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("rating", sa.SmallInteger(), nullable=False),
        sa.Column("comment", sa.Text()),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.UniqueConstraint("run_id", "user_id", name="uq_chat_feedback_run_id_user_id"),
        sa.CheckConstraint("rating IN (-1, 1)", name="ck_chat_feedback_rating"),
    )


def downgrade() -> None:
    op.drop_table("chat_feedback")
    op.drop_table("chat_message")
    op.drop_table("chat_run")
    op.drop_table("chat_thread")
    for table in _CHECKPOINT_TABLES:
        op.execute(f"DROP TABLE IF EXISTS {table}")
