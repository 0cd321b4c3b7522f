"""Eval runs asked for from the back office and run by the worker (issue 16): what was asked,
by whom, its progress and the run it made.

Revision ID: 0029
Revises: 0027
Create Date: 2026-12-08 10:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0029"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "eval_request",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "requested_by_user_id",
            sa.Uuid(),
            sa.ForeignKey("user_account.id", ondelete="SET NULL"),
        ),
        sa.Column("paths", postgresql.JSONB(), nullable=False),
        sa.Column("tags", postgresql.JSONB(), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("prompt_label", sa.String(64), nullable=False),
        sa.Column("trials", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(200)),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Uuid(), sa.ForeignKey("eval_run.id", ondelete="SET NULL")),
        sa.Column("error", sa.Text()),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'finished', 'failed')",
            name="ck_eval_request_status",
        ),
    )
    op.create_index("ix_eval_request_created_at_id", "eval_request", ["created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_eval_request_created_at_id", table_name="eval_request")
    op.drop_table("eval_request")
