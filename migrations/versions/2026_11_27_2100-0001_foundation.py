"""Foundation: pgvector and the background-job queue (procrastinate's schema).

Revision ID: 0001
Revises:
Create Date: 2026-11-27 21:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op
from procrastinate.schema import SchemaManager

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    # The job queue's tables and functions, as shipped by the pinned procrastinate release
    # (~=3.10). Upgrading procrastinate needs a migration applying its own migration scripts.
    # Sent to the driver without SQLAlchemy's parsing (the functions contain `::` casts); the
    # driver reads `%` as a placeholder, so RAISE's own `%` is doubled, as procrastinate does.
    op.get_bind().exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))


def downgrade() -> None:
    # Everything procrastinate created carries its prefix; drop functions, tables and types.
    op.execute(
        """
        DO $$
        DECLARE obj record;
        BEGIN
            FOR obj IN
                SELECT p.oid::regprocedure AS sig FROM pg_proc p
                JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%'
            LOOP
                EXECUTE 'DROP FUNCTION IF EXISTS ' || obj.sig || ' CASCADE';
            END LOOP;
            FOR obj IN
                SELECT tablename FROM pg_tables
                WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate%'
            LOOP
                EXECUTE 'DROP TABLE IF EXISTS ' || quote_ident(obj.tablename) || ' CASCADE';
            END LOOP;
            FOR obj IN
                SELECT t.typname FROM pg_type t
                JOIN pg_namespace n ON n.oid = t.typnamespace
                WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate%'
                  AND t.typtype IN ('e', 'c')
            LOOP
                EXECUTE 'DROP TYPE IF EXISTS ' || quote_ident(obj.typname) || ' CASCADE';
            END LOOP;
        END $$;
        """
    )
    op.execute("DROP EXTENSION IF EXISTS vector")
