"""Lenders report servicing events by webhook: the lender's event id on a servicing event, unique
per loan, so a re-delivered report is recorded once.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 05:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "loan_servicing_event", sa.Column("lender_event_id", sa.String(length=128), nullable=True)
    )
    op.create_unique_constraint(
        op.f("uq_loan_servicing_event_loan_id_lender_event_id"),
        "loan_servicing_event",
        ["loan_id", "lender_event_id"],
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("uq_loan_servicing_event_loan_id_lender_event_id"),
        "loan_servicing_event",
        type_="unique",
    )
    op.drop_column("loan_servicing_event", "lender_event_id")
