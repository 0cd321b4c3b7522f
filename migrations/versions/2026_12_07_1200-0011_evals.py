"""Eval runs and their per-scenario results (issue 16).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 12:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "eval_run",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("label", sa.String(200)),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("prompt_label", sa.String(64), nullable=False),
        sa.Column("prompt_versions", postgresql.JSONB(), nullable=False),
        sa.Column("graph_hash", sa.String(64), nullable=False),
        sa.Column("trials", sa.Integer(), nullable=False),
        sa.Column("blessed_at", sa.DateTime(timezone=True)),
        sa.Column("summary", postgresql.JSONB(), nullable=False),
    )
    op.create_table(
        "eval_result",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "run_id", sa.Uuid(), sa.ForeignKey("eval_run.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("scenario_id", sa.String(80), nullable=False),
        sa.Column("scenario_hash", sa.String(64), nullable=False),
        sa.Column("suite", sa.String(80), nullable=False),
        sa.Column("critical", sa.Boolean(), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("trial", sa.Integer(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("checks", postgresql.JSONB(), nullable=False),
        sa.Column("verdicts", postgresql.JSONB(), nullable=False),
        sa.Column("prompt_versions", postgresql.JSONB(), nullable=False),
        sa.Column("turns", sa.Integer(), nullable=False),
        sa.Column("max_latency_ms", sa.Float(), nullable=False),
        sa.Column("tokens", sa.Integer(), nullable=False),
        sa.Column("cost", sa.Numeric(14, 6), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("isolation_ms", sa.Float(), nullable=False),
        sa.Column("transcript", postgresql.JSONB(), nullable=False),
        sa.Column("error", sa.Text()),
    )
    op.create_index("ix_eval_result_run_id_scenario_id", "eval_result", ["run_id", "scenario_id"])


def downgrade() -> None:
    op.drop_index("ix_eval_result_run_id_scenario_id", table_name="eval_result")
    op.drop_table("eval_result")
    op.drop_table("eval_run")
