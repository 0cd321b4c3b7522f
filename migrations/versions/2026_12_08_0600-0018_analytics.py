"""Analytics events, rollups for the dashboards, trace ids of chat runs and jobs (issue 20).

Revision ID: 0018
Revises: 0011
Create Date: 2026-12-08 06:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0018"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EVENT_NAMES = (
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

# Events per day, tenant, event, product, channel and mode: the funnel by day.
DAILY_VIEW = """
CREATE MATERIALIZED VIEW analytics_daily AS
SELECT (occurred_at AT TIME ZONE 'UTC')::date AS day,
       organization_id, name,
       coalesce(product, '') AS product, coalesce(channel, '') AS channel,
       coalesce(mode, '') AS mode,
       count(*)::bigint AS events,
       count(DISTINCT application_id)::bigint AS applications,
       coalesce(sum(amount), 0) AS amount
FROM analytics_event
GROUP BY 1, 2, 3, 4, 5, 6
"""

# One row per application: when it first reached each step (drop-off, time between steps).
JOURNEY_VIEW = """
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


def upgrade() -> None:
    op.add_column("chat_run", sa.Column("trace_id", sa.String(32)))
    op.add_column("chat_run", sa.Column("model", sa.String(200)))
    op.add_column(
        "chat_run",
        sa.Column("fell_back", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_table(
        "analytics_event",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column(
            "occurred_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("organization_id", sa.Uuid()),
        sa.Column("application_id", sa.Uuid()),
        sa.Column("user_id", sa.Uuid()),
        sa.Column("lender_id", sa.Uuid()),
        sa.Column("product", sa.String(32)),
        sa.Column("channel", sa.String(16)),
        sa.Column("mode", sa.String(8)),
        sa.Column("amount", sa.Numeric(14, 2)),
        sa.Column("properties", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.CheckConstraint(
            "name IN (" + ", ".join(f"'{name}'" for name in EVENT_NAMES) + ")",
            name=op.f("ck_analytics_event_name"),
        ),
    )
    op.create_index(
        "ix_analytics_event_organization_id_occurred_at",
        "analytics_event",
        ["organization_id", "occurred_at"],
    )
    op.create_index("ix_analytics_event_application_id", "analytics_event", ["application_id"])
    op.create_table(
        "job_trace",
        sa.Column("job_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("trace_id", sa.String(32), nullable=False),
        sa.Column("traceparent", sa.String(64)),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    # When the rollups were last refreshed (one row), so a dashboard can say how fresh it is.
    op.create_table(
        "analytics_refresh",
        sa.Column("id", sa.SmallInteger(), primary_key=True, autoincrement=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_analytics_refresh_one_row")),
    )
    op.execute(DAILY_VIEW)
    # Unique indexes: REFRESH ... CONCURRENTLY needs one, and the dashboards filter by these.
    op.execute(
        "CREATE UNIQUE INDEX ux_analytics_daily ON analytics_daily "
        "(organization_id, day, name, product, channel, mode) NULLS NOT DISTINCT"
    )
    op.execute("CREATE INDEX ix_analytics_daily_day ON analytics_daily (day)")
    op.execute(JOURNEY_VIEW)
    op.execute("CREATE UNIQUE INDEX ux_analytics_journey ON analytics_journey (application_id)")
    op.execute(
        "CREATE INDEX ix_analytics_journey_organization_id_started_at "
        "ON analytics_journey (organization_id, started_at)"
    )
    op.execute("CREATE INDEX ix_analytics_journey_started_at ON analytics_journey (started_at)")
    # Agent metrics read runs by start and their tool results; neither had an index.
    op.create_index("ix_chat_run_started_at", "chat_run", ["started_at"])
    op.create_index(
        "ix_chat_message_run_id_tool",
        "chat_message",
        ["run_id"],
        postgresql_where=sa.text("role = 'tool'"),
    )


def downgrade() -> None:
    op.drop_index("ix_chat_message_run_id_tool", table_name="chat_message")
    op.drop_index("ix_chat_run_started_at", table_name="chat_run")
    op.execute("DROP MATERIALIZED VIEW analytics_journey")
    op.execute("DROP MATERIALIZED VIEW analytics_daily")
    op.drop_table("analytics_refresh")
    op.drop_table("job_trace")
    op.drop_table("analytics_event")
    op.drop_column("chat_run", "fell_back")
    op.drop_column("chat_run", "model")
    op.drop_column("chat_run", "trace_id")
