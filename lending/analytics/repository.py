"""The dashboards' queries. Funnel, drop-off and step times read the rollups (materialised views
of `analytics_event`, migration 0018); agent metrics read the run tables; lender performance
reads submissions, offers and funded loans. Every query takes the organizations the actor may
see (None: all), so a caller only ever reads its own rows."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from lending.analytics.schemas import AnalyticsFilter

_MATERIALISED_VIEWS = ("analytics_daily", "analytics_journey")


def _where(f: AnalyticsFilter, orgs: list[uuid.UUID] | None, *, prefix: str = "") -> str:
    clauses = []
    if orgs is not None:
        clauses.append(f"{prefix}organization_id = ANY(:orgs)")
    if f.product is not None:
        clauses.append(f"{prefix}product = :product")
    if f.channel is not None:
        clauses.append(f"{prefix}channel = :channel")
    if f.mode is not None:
        clauses.append(f"{prefix}mode = :mode")
    return "".join(f" AND {clause}" for clause in clauses)


def _params(f: AnalyticsFilter, orgs: list[uuid.UUID] | None) -> dict[str, Any]:
    return {
        "date_from": f.date_from,
        "date_to": f.date_to,
        # Timestamps as the [from, to + 1 day) range of UTC days.
        "start": datetime.combine(f.date_from, datetime.min.time()),
        "end": datetime.combine(f.date_to + timedelta(days=1), datetime.min.time()),
        "orgs": orgs,
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
        self, f: AnalyticsFilter, orgs: list[uuid.UUID] | None, steps: tuple[str, ...]
    ) -> list[tuple[date, str, str, str, str, int]]:
        rows = await self.session.execute(
            text(
                "SELECT day, product, channel, mode, name, sum(applications)::bigint "
                "FROM analytics_daily WHERE day BETWEEN :date_from AND :date_to "
                "AND name = ANY(:steps)" + _where(f, orgs) + " GROUP BY 1, 2, 3, 4, 5 "
                "ORDER BY 1, 2, 3, 4, array_position(:steps, name::text)"
            ),
            {**_params(f, orgs), "steps": list(steps)},
        )
        return [(r[0], r[1], r[2], r[3], r[4], int(r[5])) for r in rows]

    async def journey_counts(self, f: AnalyticsFilter, orgs: list[uuid.UUID] | None) -> list[int]:
        """Applications started in the range, and how many of them reached each later step."""
        row = (
            await self.session.execute(
                text(
                    "SELECT count(*), count(submitted_at), count(offer_presented_at), "
                    "count(offer_accepted_at), count(funded_at) FROM analytics_journey "
                    "WHERE started_at >= :start AND started_at < :end" + _where(f, orgs)
                ),
                _params(f, orgs),
            )
        ).one()
        return [int(value) for value in row]

    async def step_times(
        self, f: AnalyticsFilter, orgs: list[uuid.UUID] | None, pairs: list[tuple[str, str]]
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
                    + _where(f, orgs)
                ),
                _params(f, orgs),
            )
        ).one()
        result = []
        for index in range(len(pairs)):
            count, percentiles = row[2 * index], row[2 * index + 1]
            median, p90 = (percentiles or [None, None])[:2]
            result.append((int(count), median, p90))
        return result

    async def agent_metrics(
        self, f: AnalyticsFilter, orgs: list[uuid.UUID] | None
    ) -> list[dict[str, Any]]:
        org_clause = " AND t.organization_id = ANY(:orgs)" if orgs is not None else ""
        mode_clause = " AND r.mode = :mode" if f.mode is not None else ""
        rows = await self.session.execute(
            text(
                """
                WITH runs AS (
                    SELECT r.id, r.thread_id, r.prompt_versions, r.model, r.status, r.mode,
                           r.fell_back, r.input_tokens, r.output_tokens, r.cost, r.started_at,
                           coalesce(r.finished_at, r.started_at) AS finished_at
                    FROM chat_run AS r JOIN chat_thread AS t ON t.id = r.thread_id
                    WHERE r.started_at >= :start AND r.started_at < :end"""
                + org_clause
                + mode_clause
                + """
                ), tools AS (
                    SELECT m.run_id, count(*) AS calls,
                           count(*) FILTER (WHERE m.tool ->> 'ok' = 'false') AS errors
                    FROM chat_message AS m JOIN runs ON runs.id = m.run_id
                    WHERE m.role = 'tool'
                    GROUP BY m.run_id
                ), asked AS (
                    SELECT runs.id AS run_id, count(*) AS asked,
                           count(*) FILTER (WHERE a.status IN ('approved', 'executed'))
                               AS granted
                    FROM runs JOIN tool_approval AS a
                      ON a.thread_id = runs.thread_id
                     AND a.created_at BETWEEN runs.started_at AND runs.finished_at
                    GROUP BY runs.id
                ), thumbs AS (
                    SELECT f.run_id, count(*) FILTER (WHERE f.rating = 1) AS up,
                           count(*) FILTER (WHERE f.rating = -1) AS down
                    FROM chat_feedback AS f JOIN runs ON runs.id = f.run_id
                    GROUP BY f.run_id
                )
                SELECT runs.prompt_versions, runs.model, count(*) AS turns,
                       count(*) FILTER (WHERE runs.status = 'failed') AS failed_turns,
                       coalesce(sum(tools.calls), 0) AS tool_calls,
                       coalesce(sum(tools.errors), 0) AS tool_errors,
                       coalesce(sum(asked.asked), 0) AS approvals_asked,
                       coalesce(sum(asked.granted), 0) AS approvals_granted,
                       count(*) FILTER (WHERE runs.fell_back) AS fallbacks_to_guided,
                       count(*) FILTER (WHERE runs.mode = 'guided') AS guided_turns,
                       coalesce(sum(runs.input_tokens), 0) AS input_tokens,
                       coalesce(sum(runs.output_tokens), 0) AS output_tokens,
                       coalesce(sum(runs.cost), 0) AS cost,
                       coalesce(sum(thumbs.up), 0) AS thumbs_up,
                       coalesce(sum(thumbs.down), 0) AS thumbs_down
                FROM runs
                LEFT JOIN tools ON tools.run_id = runs.id
                LEFT JOIN asked ON asked.run_id = runs.id
                LEFT JOIN thumbs ON thumbs.run_id = runs.id
                GROUP BY runs.prompt_versions, runs.model
                ORDER BY turns DESC
                LIMIT 200
                """
            ),
            _params(f, orgs),
        )
        return [dict(row._mapping) for row in rows]

    async def lender_performance(
        self, f: AnalyticsFilter, orgs: list[uuid.UUID] | None
    ) -> list[dict[str, Any]]:
        org_clause = " AND a.organization_id = ANY(:orgs)" if orgs is not None else ""
        product_clause = " AND a.product_type = :product" if f.product is not None else ""
        rows = await self.session.execute(
            text(
                """
                WITH subs AS (
                    SELECT s.lender_id, count(*) AS submissions,
                           count(s.decided_at) AS decided,
                           count(*) FILTER (WHERE s.status IN ('approved', 'funded')) AS approved,
                           percentile_cont(0.5) WITHIN GROUP (
                               ORDER BY extract(epoch FROM s.decided_at - s.created_at) / 3600
                           ) FILTER (WHERE s.decided_at IS NOT NULL) AS median_hours
                    FROM lender_submission AS s
                    JOIN loan_application AS a ON a.id = s.application_id
                    WHERE s.created_at >= :start AND s.created_at < :end"""
                + org_clause
                + product_clause
                + """
                    GROUP BY s.lender_id
                ), accepted AS (
                    SELECT o.lender_id, count(*) AS offers_accepted
                    FROM offer AS o JOIN loan_application AS a ON a.id = o.application_id
                    WHERE o.status = 'accepted' AND o.accepted_at >= :start
                      AND o.accepted_at < :end"""
                + org_clause
                + product_clause
                + """
                    GROUP BY o.lender_id
                ), funded AS (
                    SELECT a.lender_id, count(*) AS funded_loans,
                           sum(a.funded_amount) AS funded_volume
                    FROM funded_loan AS a
                    WHERE a.funded_on BETWEEN :date_from AND :date_to"""
                + org_clause
                + product_clause
                + """
                    GROUP BY a.lender_id
                )
                SELECT l.id AS lender_id, l.name AS lender_name,
                       coalesce(subs.submissions, 0) AS submissions,
                       coalesce(subs.decided, 0) AS decided,
                       coalesce(subs.approved, 0) AS approved,
                       subs.median_hours,
                       coalesce(accepted.offers_accepted, 0) AS offers_accepted,
                       coalesce(funded.funded_loans, 0) AS funded_loans,
                       coalesce(funded.funded_volume, 0) AS funded_volume
                FROM lender AS l
                LEFT JOIN subs ON subs.lender_id = l.id
                LEFT JOIN accepted ON accepted.lender_id = l.id
                LEFT JOIN funded ON funded.lender_id = l.id
                WHERE subs.lender_id IS NOT NULL OR accepted.lender_id IS NOT NULL
                   OR funded.lender_id IS NOT NULL
                ORDER BY funded_volume DESC, submissions DESC, l.name
                """
            ),
            _params(f, orgs),
        )
        return [dict(row._mapping) for row in rows]
