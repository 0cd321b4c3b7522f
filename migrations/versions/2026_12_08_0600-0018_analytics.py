"""Analytics events, rollups for the dashboards, trace ids of chat runs and jobs (issue 20).

Revision ID: 0018
Revises: 0015
Create Date: 2026-12-08 06:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0018"
down_revision: str | None = "0015"
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

# The assistant per day, firm, prompt versions, model and final mode (agent metrics).
AGENT_VIEW = """
CREATE MATERIALIZED VIEW analytics_agent_daily AS
WITH runs AS (
    SELECT r.id, r.thread_id, r.prompt_versions, coalesce(r.model, '') AS model, r.mode,
           r.status, r.fell_back, r.input_tokens, r.output_tokens, r.cost, r.started_at,
           coalesce(r.finished_at, r.started_at) AS finished_at, t.organization_id
    FROM chat_run AS r JOIN chat_thread AS t ON t.id = r.thread_id
), tools AS (
    SELECT m.run_id, count(*) AS calls,
           count(*) FILTER (WHERE m.tool ->> 'ok' = 'false') AS errors
    FROM chat_message AS m WHERE m.role = 'tool' AND m.run_id IS NOT NULL
    GROUP BY m.run_id
), asked AS (
    SELECT runs.id AS run_id, count(*) AS asked,
           count(*) FILTER (WHERE a.status IN ('approved', 'executed')) AS granted
    FROM runs JOIN tool_approval AS a
      ON a.thread_id = runs.thread_id AND a.created_at BETWEEN runs.started_at AND runs.finished_at
    GROUP BY runs.id
), thumbs AS (
    SELECT run_id, count(*) FILTER (WHERE rating = 1) AS up,
           count(*) FILTER (WHERE rating = -1) AS down
    FROM chat_feedback GROUP BY run_id
)
SELECT (runs.started_at AT TIME ZONE 'UTC')::date AS day, runs.organization_id,
       runs.prompt_versions, runs.model, runs.mode,
       count(*)::bigint AS turns,
       count(*) FILTER (WHERE runs.status = 'failed')::bigint AS failed_turns,
       coalesce(sum(tools.calls), 0)::bigint AS tool_calls,
       coalesce(sum(tools.errors), 0)::bigint AS tool_errors,
       coalesce(sum(asked.asked), 0)::bigint AS approvals_asked,
       coalesce(sum(asked.granted), 0)::bigint AS approvals_granted,
       count(*) FILTER (WHERE runs.fell_back)::bigint AS fallbacks_to_guided,
       coalesce(sum(runs.input_tokens), 0)::bigint AS input_tokens,
       coalesce(sum(runs.output_tokens), 0)::bigint AS output_tokens,
       coalesce(sum(runs.cost), 0) AS cost,
       coalesce(sum(thumbs.up), 0)::bigint AS thumbs_up,
       coalesce(sum(thumbs.down), 0)::bigint AS thumbs_down
FROM runs
LEFT JOIN tools ON tools.run_id = runs.id
LEFT JOIN asked ON asked.run_id = runs.id
LEFT JOIN thumbs ON thumbs.run_id = runs.id
GROUP BY 1, 2, 3, 4, 5
"""

# Lenders per day, firm, product: submissions and decisions (by submission day), offers accepted
# (by acceptance day), loans funded (by funding day).
LENDER_VIEW = """
CREATE MATERIALIZED VIEW analytics_lender_daily AS
SELECT day, organization_id, product, lender_id,
       sum(submissions)::bigint AS submissions, sum(decided)::bigint AS decided,
       sum(approved)::bigint AS approved, sum(decision_hours) AS decision_hours,
       sum(offers_accepted)::bigint AS offers_accepted, sum(funded_loans)::bigint AS funded_loans,
       sum(funded_volume) AS funded_volume
FROM (
    SELECT (s.created_at AT TIME ZONE 'UTC')::date AS day, a.organization_id,
           a.product_type AS product, s.lender_id, 1 AS submissions,
           (s.decided_at IS NOT NULL)::int AS decided,
           (s.status IN ('approved', 'funded'))::int AS approved,
           coalesce(extract(epoch FROM s.decided_at - s.created_at) / 3600, 0) AS decision_hours,
           0 AS offers_accepted, 0 AS funded_loans, 0 AS funded_volume
    FROM lender_submission AS s JOIN loan_application AS a ON a.id = s.application_id
    UNION ALL
    SELECT (o.accepted_at AT TIME ZONE 'UTC')::date, a.organization_id, a.product_type,
           o.lender_id, 0, 0, 0, 0, 1, 0, 0
    FROM offer AS o JOIN loan_application AS a ON a.id = o.application_id
    WHERE o.status = 'accepted' AND o.accepted_at IS NOT NULL
    UNION ALL
    SELECT f.funded_on, f.organization_id, f.product_type, f.lender_id, 0, 0, 0, 0, 0, 1,
           f.funded_amount
    FROM funded_loan AS f WHERE f.lender_id IS NOT NULL
) AS facts
GROUP BY 1, 2, 3, 4
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
    op.execute(AGENT_VIEW)
    op.execute(
        "CREATE UNIQUE INDEX ux_analytics_agent_daily ON analytics_agent_daily "
        "(organization_id, day, prompt_versions, model, mode)"
    )
    op.execute("CREATE INDEX ix_analytics_agent_daily_day ON analytics_agent_daily (day)")
    op.execute(LENDER_VIEW)
    op.execute(
        "CREATE UNIQUE INDEX ux_analytics_lender_daily ON analytics_lender_daily "
        "(organization_id, day, lender_id, product)"
    )
    op.execute("CREATE INDEX ix_analytics_lender_daily_day ON analytics_lender_daily (day)")
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
    op.execute("DROP MATERIALIZED VIEW analytics_lender_daily")
    op.execute("DROP MATERIALIZED VIEW analytics_agent_daily")
    op.execute("DROP MATERIALIZED VIEW analytics_journey")
    op.execute("DROP MATERIALIZED VIEW analytics_daily")
    op.drop_table("analytics_refresh")
    op.drop_table("job_trace")
    op.drop_table("analytics_event")
    op.drop_column("chat_run", "fell_back")
    op.drop_column("chat_run", "model")
    op.drop_column("chat_run", "trace_id")
