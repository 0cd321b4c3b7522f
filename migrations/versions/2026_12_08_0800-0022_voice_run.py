"""What a voice turn measured and whether the person cut its reply short (issue 18).

Revision ID: 0022
Revises: 0019
Create Date: 2026-12-08 07:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0022"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("chat_run", sa.Column("voice", postgresql.JSONB(), nullable=True))


def downgrade() -> None:
    op.drop_column("chat_run", "voice")
