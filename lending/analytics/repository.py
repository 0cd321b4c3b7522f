"""The dashboards' queries, all on the rollups (materialised views, migration 0018, refreshed by
the `analytics.refresh` job): funnel, drop-off and step times from `analytics_event`; agent
metrics from the run tables; lender performance from submissions, offers and funded loans.
Every query takes the organizations the actor may see (None: all), so a caller only ever reads
its own rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from lending.analytics.schemas import VOICE_STAGES, AnalyticsFilter, DayRange

_MATERIALISED_VIEWS = (
    "analytics_daily",
    "analytics_journey",
    "analytics_agent_daily",
    "analytics_lender_daily",
    "analytics_commission_daily",  # read by lending.commissions.trend
)


@dataclass(frozen=True)
class Reach:
    """The rows a reader may count: the organizations (None: all), and for a broker only the
    applications they work (`broker_id`; the journey rollup only)."""

    orgs: list[uuid.UUID] | None
    broker_id: uuid.UUID | None = None


def _where(f: AnalyticsFilter, reach: Reach | None, *, prefix: str = "") -> str:
    clauses = []
    if reach is not None and reach.orgs is not None:
        clauses.append(f"{prefix}organization_id = ANY(:orgs)")
    if reach is not None and reach.broker_id is not None:
        clauses.append(f"{prefix}broker_id = :broker_id")
    if f.product is not None:
        clauses.append(f"{prefix}product = :product")
    if f.channel is not None:
        clauses.append(f"{prefix}channel = :channel")
    if f.mode is not None:
        clauses.append(f"{prefix}mode = :mode")
    return "".join(f" AND {clause}" for clause in clauses)


def _params(f: AnalyticsFilter, reach: Reach | None) -> dict[str, Any]:
    return {
        "date_from": f.date_from,
        "date_to": f.date_to,
        # Timestamps as the [from, to + 1 day) range of UTC days.
        "start": datetime.combine(f.date_from, datetime.min.time()),
        "end": datetime.combine(f.date_to + timedelta(days=1), datetime.min.time()),
        "orgs": reach.orgs if reach is not None else None,
        "broker_id": reach.broker_id if reach is not None else None,
        "product": f.product,
        "channel": f.channel,
        "mode": f.mode,
    }


class AnalyticsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: AsyncSession) -> AnalyticsRepository:
        return cls(session)

    async def refreshed_at(self) -> datetime | None:
        """When the rollups were last refreshed (the job records it), or None if never."""
        value = await self.session.scalar(
            text("SELECT refreshed_at FROM analytics_refresh WHERE id = 1")
        )
        return value if isinstance(value, datetime) else None

    async def refresh(self) -> None:
        """Recompute the rollups without blocking their readers (CONCURRENTLY), except the first
        time, when nobody reads them yet and a plain refresh is several times faster.

        A refresh reads every event: it is a job's work, exempt from the statement timeout that
        guards requests, and given the memory to aggregate without spilling to disk.
        """
        await self.session.execute(text("SET LOCAL statement_timeout = 0"))
        await self.session.execute(text("SET LOCAL work_mem = '256MB'"))
        first = await self.refreshed_at() is None
        for view in _MATERIALISED_VIEWS:
            how = "" if first else "CONCURRENTLY "
            await self.session.execute(text(f"REFRESH MATERIALIZED VIEW {how}{view}"))
        await self.session.execute(
            text(
                "INSERT INTO analytics_refresh (id, refreshed_at) VALUES (1, clock_timestamp()) "
                "ON CONFLICT (id) DO UPDATE SET refreshed_at = excluded.refreshed_at"
            )
        )

    async def funnel(
        self,
        f: AnalyticsFilter,
        reach: Reach,
        steps: tuple[str, ...],
        breakdown: str | None,
    ) -> list[tuple[date, str, str | None, int]]:
        """(day, step, the breakdown's value or None, applications), by day and step order.

        Firms read the daily rollup (applications with the step's event that day); a broker's
        own funnel reads the journey rollup, the one that knows the broker: each application
        counts on the day it first reached each step."""
        group = {"product": "product", "channel": "channel", "mode": "mode"}.get(breakdown or "")
        column = group or "NULL::text"
        if reach.broker_id is not None:
            return await self._journey_funnel(f, reach, steps, column)
        rows = await self.session.execute(
            text(
                f"SELECT day, name, {column}, sum(applications)::bigint "
                "FROM analytics_daily WHERE day BETWEEN :date_from AND :date_to "
                "AND name = ANY(:steps)" + _where(f, reach) + " GROUP BY 1, 2, 3 "
                "ORDER BY 1, array_position(:steps, name::text), 3"
            ),
            {**_params(f, reach), "steps": list(steps)},
        )
        return [(r[0], r[1], r[2], int(r[3])) for r in rows]

    async def _journey_funnel(
        self, f: AnalyticsFilter, reach: Reach, steps: tuple[str, ...], column: str
    ) -> list[tuple[date, str, str | None, int]]:
        reached = ", ".join(f"('{step}', {step.removeprefix('application_')}_at)" for step in steps)
        rows = await self.session.execute(
            text(
                f"SELECT (s.at AT TIME ZONE 'UTC')::date AS day, s.step, {column}, "
                "count(*)::bigint FROM analytics_journey "
                f"CROSS JOIN LATERAL (VALUES {reached}) AS s(step, at) "
                "WHERE s.at >= :start AND s.at < :end"
                + _where(f, reach)
                + " GROUP BY 1, 2, 3 ORDER BY 1, array_position(:steps, s.step::text), 3"
            ),
            {**_params(f, reach), "steps": list(steps)},
        )
        return [(r[0], r[1], r[2], int(r[3])) for r in rows]

    async def journey_counts(self, f: AnalyticsFilter, reach: Reach) -> list[int]:
        """Applications started in the range, and how many of them reached each later step."""
        row = (
            await self.session.execute(
                text(
                    "SELECT count(*), count(submitted_at), count(offer_presented_at), "
                    "count(offer_accepted_at), count(funded_at) FROM analytics_journey "
                    "WHERE started_at >= :start AND started_at < :end" + _where(f, reach)
                ),
                _params(f, reach),
            )
        ).one()
        return [int(value) for value in row]

    async def step_times(
        self, f: AnalyticsFilter, reach: Reach, pairs: list[tuple[str, str]]
    ) -> list[tuple[int, float | None, float | None]]:
        """Per pair of steps: applications that made both, median and p90 hours between them."""
        selects = []
        for index, (first, second) in enumerate(pairs):
            hours = f"extract(epoch FROM ({second}_at - {first}_at)) / 3600"
            selects.append(
                f"count({second}_at) FILTER (WHERE {first}_at IS NOT NULL) AS n{index}, "
                f"percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY {hours}) "
                f"FILTER (WHERE {first}_at IS NOT NULL AND {second}_at IS NOT NULL) AS p{index}"
            )
        row = (
            await self.session.execute(
                text(
                    "SELECT "
                    + ", ".join(selects)
                    + " FROM analytics_journey WHERE started_at >= :start AND started_at < :end"
                    + _where(f, reach)
                ),
                _params(f, reach),
            )
        ).one()
        result = []
        for index in range(len(pairs)):
            count, percentiles = row[2 * index], row[2 * index + 1]
            median, p90 = (percentiles or [None, None])[:2]
            result.append((int(count), median, p90))
        return result

    async def intake_stops(
        self, f: AnalyticsFilter, reach: Reach
    ) -> list[tuple[str, str | None, int, int]]:
        """Applications started in the range, by the mode they started in and the intake field
        they last waited for: (mode, field or None when never recorded, started, not
        submitted)."""
        rows = await self.session.execute(
            text(
                "SELECT mode, next_field, count(*)::bigint, "
                "count(*) FILTER (WHERE submitted_at IS NULL)::bigint FROM analytics_journey "
                "WHERE started_at >= :start AND started_at < :end"
                + _where(f, reach)
                + " GROUP BY 1, 2 ORDER BY 4 DESC, 1, 2"
            ),
            _params(f, reach),
        )
        return [(r[0], r[1], int(r[2]), int(r[3])) for r in rows]

    async def agent_metrics(
        self, f: AnalyticsFilter, orgs: list[uuid.UUID] | None
    ) -> list[dict[str, Any]]:
        org_clause = " AND organization_id = ANY(:orgs)" if orgs is not None else ""
        mode_clause = " AND mode = :mode" if f.mode is not None else ""
        rows = await self.session.execute(
            text(
                """
                SELECT prompt_versions, nullif(model, '') AS model, sum(turns) AS turns,
                       sum(failed_turns) AS failed_turns, sum(tool_calls) AS tool_calls,
                       sum(tool_errors) AS tool_errors, sum(approvals_asked) AS approvals_asked,
                       sum(approvals_granted) AS approvals_granted,
                       sum(fallbacks_to_guided) AS fallbacks_to_guided,
                       coalesce(sum(turns) FILTER (WHERE mode = 'guided'), 0) AS guided_turns,
                       sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
                       sum(cost) AS cost, sum(thumbs_up) AS thumbs_up,
                       sum(thumbs_down) AS thumbs_down
                FROM analytics_agent_daily
                WHERE day BETWEEN :date_from AND :date_to"""
                + org_clause
                + mode_clause
                + """
                GROUP BY prompt_versions, model
                ORDER BY turns DESC
                LIMIT 200
                """
            ),
            _params(f, Reach(orgs)),
        )
        return [dict(row._mapping) for row in rows]

    async def lender_performance(
        self, f: AnalyticsFilter, orgs: list[uuid.UUID] | None
    ) -> list[dict[str, Any]]:
        org_clause = " AND d.organization_id = ANY(:orgs)" if orgs is not None else ""
        product_clause = " AND d.product = :product" if f.product is not None else ""
        rows = await self.session.execute(
            text(
                """
                SELECT l.id AS lender_id, l.name AS lender_name,
                       sum(d.submissions) AS submissions, sum(d.decided) AS decided,
                       sum(d.approved) AS approved, sum(d.decision_hours) AS decision_hours,
                       sum(d.offers_accepted) AS offers_accepted,
                       sum(d.funded_loans) AS funded_loans,
                       sum(d.funded_volume) AS funded_volume
                FROM analytics_lender_daily AS d JOIN lender AS l ON l.id = d.lender_id
                WHERE d.day BETWEEN :date_from AND :date_to"""
                + org_clause
                + product_clause
                + """
                GROUP BY l.id, l.name
                ORDER BY funded_volume DESC, submissions DESC, l.name
                """
            ),
            _params(f, Reach(orgs)),
        )
        return [dict(row._mapping) for row in rows]

    async def voice_turns(
        self, days: DayRange, orgs: list[uuid.UUID] | None
    ) -> list[dict[str, Any]]:
        """Voice turns (runs with stored stage metrics) started in the range, grouped three ways
        in one statement: overall (`level` 'total'), per UTC day ('day') and per prompt versions
        and model ('prompt_model'). Each stage gives its count and [p50, p95] in seconds.

        Read from chat_run directly (a partial index holds only voice runs, migration 0026):
        voice turns are a small share of runs, and a fresh figure is worth more here than a
        rollup's."""
        join = " JOIN chat_thread AS t ON t.id = r.thread_id" if orgs is not None else ""
        org_clause = " AND t.organization_id = ANY(:orgs)" if orgs is not None else ""
        stages = ", ".join(
            f"(r.voice -> 'metrics' ->> '{stage}')::float8 AS {stage}" for stage in VOICE_STAGES
        )
        measured = ", ".join(
            f"count({stage}) AS {stage}_n, "
            f"percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY {stage}) AS {stage}_p"
            for stage in VOICE_STAGES
        )
        rows = await self.session.execute(
            text(
                f"""
                WITH turns AS (
                    SELECT (r.started_at AT TIME ZONE 'UTC')::date AS day, r.prompt_versions,
                           coalesce(r.model, '') AS model, r.status,
                           coalesce((r.voice ->> 'interrupted')::boolean, false) AS interrupted,
                           {stages}
                    FROM chat_run AS r{join}
                    WHERE r.voice IS NOT NULL AND r.started_at >= :start AND r.started_at < :end
                    {org_clause}
                )
                SELECT CASE WHEN GROUPING(day) = 0 THEN 'day'
                            WHEN GROUPING(model) = 0 THEN 'prompt_model'
                            ELSE 'total' END AS level,
                       day, prompt_versions, nullif(model, '') AS model,
                       count(*) AS turns, count(*) FILTER (WHERE interrupted) AS interrupted,
                       count(*) FILTER (WHERE status = 'failed') AS failed,
                       {measured}
                FROM turns
                GROUP BY GROUPING SETS ((), (day), (prompt_versions, model))
                ORDER BY level, day, turns DESC
                """
            ),
            {
                "start": datetime.combine(days.date_from, datetime.min.time()),
                "end": datetime.combine(days.date_to + timedelta(days=1), datetime.min.time()),
                "orgs": orgs,
            },
        )
        return [dict(row._mapping) for row in rows]
