"""The back office pages through a lender statement's lines (up to 50,000) by line id within
the statement: an index on (statement_id, id) makes each page an index range scan.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-08 10:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_lender_statement_line_statement_id_id",
        "lender_statement_line",
        ["statement_id", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_lender_statement_line_statement_id_id", table_name="lender_statement_line")
