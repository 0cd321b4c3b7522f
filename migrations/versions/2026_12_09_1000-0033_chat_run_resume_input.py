"""A running turn keeps the person's message as the graph receives it (tokenised, with the vault
entries it added, already sealed) in its run row: under `exit` durability the graph writes one
checkpoint, when the turn ends, so a turn cut off before then is run again from this. Cleared
when the run ends.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-09 10:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("chat_run", sa.Column("resume_input", postgresql.JSONB(), nullable=True))


def downgrade() -> None:
    op.drop_column("chat_run", "resume_input")
