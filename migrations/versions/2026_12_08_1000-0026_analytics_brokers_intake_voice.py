"""Analytics events carry the broker; the intake's next question; the journey rollup keeps both;
offer-accepted events get their lender; an index of voice runs; a daily rollup of the
commission ledger (issues 18 and 20).

Revision ID: 0026
Revises: 0024
Create Date: 2026-12-08 10:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_NAMES = (
    "conversation_started",
    "application_started",
    "application_submitted",
    "offer_presented",
    "offer_accepted",
    "document_uploaded",
    "document_verified",
    "funded",
    "commission_accrued",
    "commission_paid",
)
NEW_NAMES = (*OLD_NAMES, "intake_progress")

# 0018's journey, plus the application's broker (the latest an event named) and the intake
# field it was waiting for when last changed (drop-off per intake question).
JOURNEY_VIEW = """
CREATE MATERIALIZED VIEW analytics_journey AS
SELECT application_id,
       (array_agg(organization_id) FILTER (WHERE organization_id IS NOT NULL))[1]
           AS organization_id,
       (array_agg(broker_id ORDER BY occurred_at DESC, id DESC)
            FILTER (WHERE broker_id IS NOT NULL))[1] AS broker_id,
       coalesce((array_agg(product) FILTER (WHERE product IS NOT NULL))[1], '') AS product,
       coalesce((array_agg(channel ORDER BY occurred_at)
                 FILTER (WHERE name = 'application_started'))[1], '') AS channel,
       coalesce((array_agg(mode ORDER BY occurred_at)
                 FILTER (WHERE name = 'application_started'))[1], '') AS mode,
       (array_agg(properties ->> 'next_field' ORDER BY occurred_at DESC, id DESC)
            FILTER (WHERE name = 'intake_progress'))[1] AS next_field,
       min(occurred_at) FILTER (WHERE name = 'application_started') AS started_at,
       min(occurred_at) FILTER (WHERE name = 'application_submitted') AS submitted_at,
       min(occurred_at) FILTER (WHERE name = 'offer_presented') AS offer_presented_at,
       min(occurred_at) FILTER (WHERE name = 'offer_accepted') AS offer_accepted_at,
       min(occurred_at) FILTER (WHERE name = 'funded') AS funded_at
FROM analytics_event
WHERE application_id IS NOT NULL
GROUP BY application_id
"""

OLD_JOURNEY_VIEW = """
CREATE MATERIALIZED VIEW analytics_journey AS
SELECT application_id,
       (array_agg(organization_id) FILTER (WHERE organization_id IS NOT NULL))[1]
           AS organization_id,
       coalesce((array_agg(product) FILTER (WHERE product IS NOT NULL))[1], '') AS product,
       coalesce((array_agg(channel ORDER BY occurred_at)
                 FILTER (WHERE name = 'application_started'))[1], '') AS channel,
       coalesce((array_agg(mode ORDER BY occurred_at)
                 FILTER (WHERE name = 'application_started'))[1], '') AS mode,
       min(occurred_at) FILTER (WHERE name = 'application_started') AS started_at,
       min(occurred_at) FILTER (WHERE name = 'application_submitted') AS submitted_at,
       min(occurred_at) FILTER (WHERE name = 'offer_presented') AS offer_presented_at,
       min(occurred_at) FILTER (WHERE name = 'offer_accepted') AS offer_accepted_at,
       min(occurred_at) FILTER (WHERE name = 'funded') AS funded_at
FROM analytics_event
WHERE application_id IS NOT NULL
GROUP BY application_id
"""

# The ledger per day, firm, party, currency and kind: the commissions trend of a firm or of
# the platform (a broker's own reads the ledger by payee).
COMMISSION_VIEW = """
CREATE MATERIALIZED VIEW analytics_commission_daily AS
SELECT effective_on AS day, organization_id, party, currency, kind,
       sum(total_amount) AS amount, count(*)::bigint AS entries
FROM commission_entry
GROUP BY 1, 2, 3, 4, 5
"""

# 0018's daily rollup, without intake_progress: nobody counts it per day, and it would add a
# row per day, firm, product, channel and mode to every admin funnel read (the journey keeps it).
DAILY_SELECT = """
SELECT (occurred_at AT TIME ZONE 'UTC')::date AS day,
       organization_id, name,
       coalesce(product, '') AS product, coalesce(channel, '') AS channel,
       coalesce(mode, '') AS mode,
       count(*)::bigint AS events,
       count(DISTINCT application_id)::bigint AS applications,
       coalesce(sum(amount), 0) AS amount
FROM analytics_event
{where}
GROUP BY 1, 2, 3, 4, 5, 6
"""
DAILY_INDEXES = (
    "CREATE UNIQUE INDEX ux_analytics_daily ON analytics_daily "
    "(organization_id, day, name, product, channel, mode) NULLS NOT DISTINCT",
    "CREATE INDEX ix_analytics_daily_day ON analytics_daily (day)",
)


def _daily(where: str) -> None:
    op.execute("DROP MATERIALIZED VIEW analytics_daily")
    op.execute("CREATE MATERIALIZED VIEW analytics_daily AS " + DAILY_SELECT.format(where=where))
    for statement in DAILY_INDEXES:
        op.execute(statement)


JOURNEY_INDEXES = (
    "CREATE UNIQUE INDEX ux_analytics_journey ON analytics_journey (application_id)",
    "CREATE INDEX ix_analytics_journey_organization_id_started_at "
    "ON analytics_journey (organization_id, started_at)",
    "CREATE INDEX ix_analytics_journey_started_at ON analytics_journey (started_at)",
)


def _names_check(names: Sequence[str]) -> None:
    op.drop_constraint(op.f("ck_analytics_event_name"), "analytics_event", type_="check")
    op.create_check_constraint(
        op.f("ck_analytics_event_name"),
        "analytics_event",
        "name IN (" + ", ".join(f"'{name}'" for name in names) + ")",
    )


def upgrade() -> None:
    op.add_column("analytics_event", sa.Column("broker_id", sa.Uuid()))
    _names_check(NEW_NAMES)
    # Events before this revision: the broker the application has now (the best record left),
    # and the lender of the offer that was accepted.
    op.execute(
        "UPDATE analytics_event AS e SET broker_id = a.broker_user_id "
        "FROM loan_application AS a "
        "WHERE a.id = e.application_id AND a.broker_user_id IS NOT NULL"
    )
    op.execute(
        "UPDATE analytics_event AS e SET lender_id = o.lender_id FROM offer AS o "
        "WHERE e.name = 'offer_accepted' AND e.lender_id IS NULL "
        "AND o.application_id = e.application_id AND o.status = 'accepted'"
    )
    _daily("WHERE name <> 'intake_progress'")
    op.execute("DROP MATERIALIZED VIEW analytics_journey")
    op.execute(JOURNEY_VIEW)
    for statement in JOURNEY_INDEXES:
        op.execute(statement)
    op.execute(
        "CREATE INDEX ix_analytics_journey_broker_id_started_at "
        "ON analytics_journey (broker_id, started_at)"
    )
    # Voice metrics read voice runs by start; they are a small share of all runs, scattered
    # through the table, so the index carries what the query reads (an index-only scan).
    op.create_index(
        "ix_chat_run_started_at_voice",
        "chat_run",
        ["started_at"],
        postgresql_where=sa.text("voice IS NOT NULL"),
        postgresql_include=["prompt_versions", "model", "status", "voice", "thread_id"],
    )
    op.execute(COMMISSION_VIEW)
    op.execute(
        "CREATE UNIQUE INDEX ux_analytics_commission_daily ON analytics_commission_daily "
        "(organization_id, day, party, currency, kind)"
    )
    op.execute("CREATE INDEX ix_analytics_commission_daily_day ON analytics_commission_daily (day)")


def downgrade() -> None:
    op.execute("DROP MATERIALIZED VIEW analytics_commission_daily")
    op.drop_index("ix_chat_run_started_at_voice", table_name="chat_run")
    op.execute("DROP MATERIALIZED VIEW analytics_journey")
    op.execute(OLD_JOURNEY_VIEW)
    for statement in JOURNEY_INDEXES:
        op.execute(statement)
    op.execute("DELETE FROM analytics_event WHERE name = 'intake_progress'")
    _daily("")
    _names_check(OLD_NAMES)
    op.drop_column("analytics_event", "broker_id")
