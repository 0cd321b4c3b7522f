"""Indexes for the back office's lists (issue 17): keyset pages over every firm's applications
(all statuses or one), users, the documents review queue, the audit log by object, and
trigram search on application references, user emails and names.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08 06:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TRIGRAM = (
    ("ix_loan_application_reference_trgm", "loan_application", "reference"),
    ("ix_user_account_email_trgm", "user_account", "email"),
    ("ix_user_account_full_name_trgm", "user_account", "full_name"),
)


def upgrade() -> None:
    # pg_trgm ships with PostgreSQL (contrib): ILIKE '%text%' then uses a GIN index.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_index("ix_loan_application_created_at_id", "loan_application", ["created_at", "id"])
    op.create_index(
        "ix_loan_application_status_created_at_id",
        "loan_application",
        ["status", "created_at", "id"],
    )
    op.create_index("ix_user_account_created_at_id", "user_account", ["created_at", "id"])
    op.create_index(
        "ix_audit_event_subject_type_subject_id_id",
        "audit_event",
        ["subject_type", "subject_id", "id"],
    )
    op.create_index(
        "ix_document_review_queue",
        "document",
        ["created_at", "id"],
        postgresql_where=sa.text(
            "application_id IS NOT NULL AND status IN ('extracted', 'needs_review')"
        ),
    )
    for name, table, column in _TRIGRAM:
        op.create_index(
            name,
            table,
            [column],
            postgresql_using="gin",
            postgresql_ops={column: "gin_trgm_ops"},
        )


def downgrade() -> None:
    for name, table, _ in _TRIGRAM:
        op.drop_index(name, table_name=table)
    op.drop_index("ix_document_review_queue", table_name="document")
    op.drop_index("ix_audit_event_subject_type_subject_id_id", table_name="audit_event")
    op.drop_index("ix_user_account_created_at_id", table_name="user_account")
    op.drop_index("ix_loan_application_status_created_at_id", table_name="loan_application")
    op.drop_index("ix_loan_application_created_at_id", table_name="loan_application")
    op.execute("DROP EXTENSION IF EXISTS pg_trgm")
