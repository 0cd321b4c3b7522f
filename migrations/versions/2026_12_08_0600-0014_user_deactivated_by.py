"""Who deactivated a user: a broker manager cannot re-activate someone a platform admin turned off
(issue 14).

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-08 06:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The role of whoever deactivated the user (NULL while active, or for rows from before).
    op.add_column("user_account", sa.Column("deactivated_by_role", sa.String(32)))


def downgrade() -> None:
    op.drop_column("user_account", "deactivated_by_role")
