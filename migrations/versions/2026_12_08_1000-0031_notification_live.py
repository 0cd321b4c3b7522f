"""The live notification bell (issue 19): a trigger tells listeners (`LISTEN omnifin_notification`)
whose notifications changed, with the person's id as the payload. NOTIFY is delivered at commit
and dropped on rollback, so a bell never hears of a notification that does not exist, whichever
process (API, job worker, CLI) wrote it.

Revision ID: 0031
Revises: 0029
Create Date: 2026-12-08 10:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0031"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION notification_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('omnifin_notification', NEW.user_id::text);
            RETURN NULL;
        END;
        $$
        """
    )
    # Identical payloads in one transaction are delivered once: marking 50 read is one wake-up.
    op.execute(
        """
        CREATE TRIGGER notification_changed
        AFTER INSERT OR UPDATE OF read_at ON notification
        FOR EACH ROW EXECUTE FUNCTION notification_changed()
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER notification_changed ON notification")
    op.execute("DROP FUNCTION notification_changed()")
