"""Prompt registry: prompts, immutable versions, labels, A/B experiments and their assignments.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 01:00:00+00:00
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CATEGORIES = (
    "('greeting', 'information_gathering', 'document_collection', 'loan_matching', 'closing', "
    "'system')"
)
LABELS = "('draft', 'staging', 'production')"
EXPERIMENT_STATUSES = "('draft', 'running', 'stopped')"

# A version is what a run records as having been used: its content never changes. The author
# may still become NULL when their account is deleted (ON DELETE SET NULL is an UPDATE).
IMMUTABLE_VERSION_FUNCTION = """
CREATE FUNCTION prompt_version_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.prompt_id IS DISTINCT FROM OLD.prompt_id
       OR NEW.number IS DISTINCT FROM OLD.number
       OR NEW.text IS DISTINCT FROM OLD.text
       OR NEW.variables IS DISTINCT FROM OLD.variables
       OR NEW.change_note IS DISTINCT FROM OLD.change_note
       OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
        RAISE EXCEPTION 'prompt versions are immutable; create a new version instead'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$
"""


def _created_at(name: str = "created_at") -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def _user_fk(column: str, table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        ["user_account.id"],
        name=op.f(f"fk_{table}_{column}_user_account"),
        ondelete="SET NULL",
    )


def upgrade() -> None:
    op.create_table(
        "prompt",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        _created_at(),
        _created_at("updated_at"),
        sa.CheckConstraint(f"category IN {CATEGORIES}", name=op.f("ck_prompt_category")),
        _user_fk("created_by_user_id", "prompt"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prompt")),
        sa.UniqueConstraint("name", name=op.f("uq_prompt_name")),
    )

    op.create_table(
        "prompt_version",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("prompt_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "variables", postgresql.ARRAY(sa.String(64)), server_default="{}", nullable=False
        ),
        sa.Column("author_user_id", sa.Uuid(), nullable=True),
        sa.Column("change_note", sa.Text(), nullable=True),
        _created_at(),
        sa.CheckConstraint("number >= 1", name=op.f("ck_prompt_version_number_positive")),
        sa.ForeignKeyConstraint(
            ["prompt_id"],
            ["prompt.id"],
            name=op.f("fk_prompt_version_prompt_id_prompt"),
            ondelete="CASCADE",
        ),
        _user_fk("author_user_id", "prompt_version"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prompt_version")),
        sa.UniqueConstraint("prompt_id", "number", name=op.f("uq_prompt_version_prompt_id_number")),
    )
    op.execute(IMMUTABLE_VERSION_FUNCTION)
    op.execute(
        "CREATE TRIGGER prompt_version_immutable BEFORE UPDATE ON prompt_version "
        "FOR EACH ROW EXECUTE FUNCTION prompt_version_immutable()"
    )

    op.create_table(
        "prompt_label",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("prompt_id", sa.Uuid(), nullable=False),
        sa.Column("label", sa.String(32), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("moved_by_user_id", sa.Uuid(), nullable=True),
        _created_at("moved_at"),
        sa.CheckConstraint(f"label IN {LABELS}", name=op.f("ck_prompt_label_label")),
        sa.ForeignKeyConstraint(
            ["prompt_id"],
            ["prompt.id"],
            name=op.f("fk_prompt_label_prompt_id_prompt"),
            ondelete="CASCADE",
        ),
        # A label points at a version of its own prompt, never of another.
        sa.ForeignKeyConstraint(
            ["prompt_id", "version_number"],
            ["prompt_version.prompt_id", "prompt_version.number"],
            name=op.f("fk_prompt_label_prompt_id_version_number_prompt_version"),
        ),
        _user_fk("moved_by_user_id", "prompt_label"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prompt_label")),
        sa.UniqueConstraint("prompt_id", "label", name=op.f("uq_prompt_label_prompt_id_label")),
    )

    op.create_table(
        "prompt_experiment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("prompt_id", sa.Uuid(), nullable=False),
        sa.Column("label", sa.String(32), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("status", sa.String(32), server_default="draft", nullable=False),
        sa.Column("arms", postgresql.JSONB(), nullable=False),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        _created_at(),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(f"label IN {LABELS}", name=op.f("ck_prompt_experiment_label")),
        sa.CheckConstraint(
            f"status IN {EXPERIMENT_STATUSES}", name=op.f("ck_prompt_experiment_status")
        ),
        sa.ForeignKeyConstraint(
            ["prompt_id"],
            ["prompt.id"],
            name=op.f("fk_prompt_experiment_prompt_id_prompt"),
            ondelete="CASCADE",
        ),
        _user_fk("created_by_user_id", "prompt_experiment"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prompt_experiment")),
    )
    op.create_index(
        op.f("ix_prompt_experiment_prompt_id"), "prompt_experiment", ["prompt_id"], unique=False
    )
    op.create_index(
        "uq_prompt_experiment_running",
        "prompt_experiment",
        ["prompt_id", "label"],
        unique=True,
        postgresql_where=sa.text("status = 'running'"),
    )

    op.create_table(
        "prompt_experiment_assignment",
        sa.Column("experiment_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("variant", sa.String(64), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        _created_at("assigned_at"),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["prompt_experiment.id"],
            name=op.f("fk_prompt_experiment_assignment_experiment_id_prompt_experiment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "experiment_id", "user_id", name=op.f("pk_prompt_experiment_assignment")
        ),
    )


def downgrade() -> None:
    op.drop_table("prompt_experiment_assignment")
    op.drop_index("uq_prompt_experiment_running", table_name="prompt_experiment")
    op.drop_index(op.f("ix_prompt_experiment_prompt_id"), table_name="prompt_experiment")
    op.drop_table("prompt_experiment")
    op.drop_table("prompt_label")
    op.execute("DROP TRIGGER prompt_version_immutable ON prompt_version")
    op.execute("DROP FUNCTION prompt_version_immutable()")
    op.drop_table("prompt_version")
    op.drop_table("prompt")
