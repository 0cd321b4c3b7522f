"""The dashboards: funnel, drop-off, time between steps, agent metrics, lender performance.

A platform admin sees every firm (or one, by `organization_id`); a broker manager sees their own
firm only, whatever the filter asks; nobody else reads analytics.
"""

from __future__ import annotations

import uuid
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lending.analytics.repository import AnalyticsRepository, Reach
from lending.analytics.schemas import (
    FUNNEL_STEPS,
    VOICE_STAGES,
    AgentMetrics,
    AgentMetricsRow,
    AnalyticsFilter,
    Breakdown,
    DropOff,
    DropOffStep,
    Funnel,
    FunnelRow,
    FunnelTotal,
    IntakeDropOff,
    IntakeStop,
    LenderPerformance,
    LenderPerformanceRow,
    StageLatency,
    StepInterval,
    StepTimes,
    VoiceDay,
    VoiceFilter,
    VoiceMetrics,
    VoiceMetricsRow,
    VoicePromptModel,
)
from lending.errors import PermissionDenied
from lending.identity.actor import Actor
from lending.models.identity import Role

REFRESH_TASK = "analytics.refresh"
_RATIO = Decimal("0.0001")
_HOURS = Decimal("0.01")
_MS = Decimal("0.1")
# Who reads voice latency: the people who run the platform and those who tune its prompts.
_VOICE_READERS = frozenset({Role.PLATFORM_ADMIN, Role.PROMPT_ENGINEER})


def _ratio(part: int, whole: int) -> Decimal | None:
    if whole == 0:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(_RATIO, rounding=ROUND_HALF_EVEN)


def _ms(seconds: Any) -> Decimal | None:
    if seconds is None:
        return None
    return (Decimal(str(seconds)) * 1000).quantize(_MS, rounding=ROUND_HALF_EVEN)


def _voice_row(row: dict[str, Any]) -> dict[str, Any]:
    stages = []
    for stage in VOICE_STAGES:
        p50, p95 = (row[f"{stage}_p"] or [None, None])[:2]
        stages.append(
            StageLatency(
                stage=stage, turns=int(row[f"{stage}_n"]), p50_ms=_ms(p50), p95_ms=_ms(p95)
            )
        )
    return {
        "turns": int(row["turns"]),
        "interrupted": int(row["interrupted"]),
        "failed": int(row["failed"]),
        "stages": stages,
    }


def _hours(value: Any) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(_HOURS, rounding=ROUND_HALF_EVEN)


class AnalyticsService:
    def scope(self, actor: Actor, requested: uuid.UUID | None) -> Reach:
        """What the actor may count: a platform admin every firm (or the one requested), a
        broker manager their firm, a broker the applications they work in their firm.

        Raises:
            PermissionDenied: the actor is none of these.
        """
        if actor.role is Role.PLATFORM_ADMIN:
            return Reach([requested] if requested is not None else None)
        if actor.role is Role.BROKER_MANAGER:
            return Reach([actor.organization_id])
        if actor.role is Role.BROKER:
            return Reach([actor.organization_id], broker_id=actor.user_id)
        raise PermissionDenied(
            "Analytics are for platform admins, broker managers (their firm) and brokers "
            "(their own applications)."
        )

    def firm_scope(self, actor: Actor, requested: uuid.UUID | None) -> list[uuid.UUID] | None:
        """The organizations a firm-wide view may read (None: all): the assistant's and the
        lenders' figures are not per broker.

        Raises:
            PermissionDenied: the actor is neither a platform admin nor a broker manager.
        """
        reach = self.scope(actor, requested)
        if reach.broker_id is not None:
            raise PermissionDenied(
                "This view is for platform admins and for broker managers (their own firm)."
            )
        return reach.orgs

    async def funnel(
        self,
        session: AsyncSession,
        actor: Actor,
        f: AnalyticsFilter,
        *,
        breakdown: Breakdown | None = None,
    ) -> Funnel:
        """Applications reaching each step per day, optionally split by product, channel or
        mode (filters narrow any of them)."""
        reach = self.scope(actor, f.organization_id)
        repository = AnalyticsRepository.from_session(session)
        found = await repository.funnel(f, reach, FUNNEL_STEPS, breakdown)
        rows = [
            FunnelRow.model_validate({"day": d, "step": s, "group": g, "applications": n})
            for d, s, g, n in found
        ]
        totals = dict.fromkeys(FUNNEL_STEPS, 0)
        for row in rows:
            totals[row.step] += row.applications
        return Funnel(
            as_of=await repository.refreshed_at(),
            breakdown=breakdown,
            rows=rows,
            totals=[FunnelTotal(step=step, applications=n) for step, n in totals.items()],
        )

    async def drop_off(self, session: AsyncSession, actor: Actor, f: AnalyticsFilter) -> DropOff:
        """Of the applications started in the range: how many reached each step, and how many
        stopped there (reached it, not the next)."""
        reach = self.scope(actor, f.organization_id)
        repository = AnalyticsRepository.from_session(session)
        counts = await repository.journey_counts(f, reach)
        steps = []
        for index, step in enumerate(FUNNEL_STEPS):
            reached = counts[index]
            following = counts[index + 1] if index + 1 < len(counts) else None
            steps.append(
                DropOffStep(
                    step=step,
                    reached=reached,
                    dropped=max(reached - following, 0) if following is not None else 0,
                    conversion=_ratio(following, reached) if following is not None else None,
                )
            )
        return DropOff(
            as_of=await repository.refreshed_at(),
            started_from=f.date_from,
            started_to=f.date_to,
            steps=steps,
        )

    async def intake_drop_off(
        self, session: AsyncSession, actor: Actor, f: AnalyticsFilter
    ) -> IntakeDropOff:
        """Of the applications started in the range, by the mode they started in: which intake
        question (the first required field still missing when the intake last moved) those
        never submitted stopped at."""
        reach = self.scope(actor, f.organization_id)
        repository = AnalyticsRepository.from_session(session)
        found = await repository.intake_stops(f, reach)
        started: dict[str, int] = {}
        for mode, _, count, _ in found:
            started[mode] = started.get(mode, 0) + count
        return IntakeDropOff(
            as_of=await repository.refreshed_at(),
            started_from=f.date_from,
            started_to=f.date_to,
            started_by_mode=started,
            stops=[
                IntakeStop(
                    mode=mode,
                    field=field,
                    started=count,
                    stopped=stopped,
                    share=_ratio(stopped, started[mode]),
                )
                for mode, field, count, stopped in found
                if stopped
            ],
        )

    async def step_times(
        self, session: AsyncSession, actor: Actor, f: AnalyticsFilter
    ) -> StepTimes:
        """Median and 90th-percentile hours between consecutive steps (and start to funded)."""
        reach = self.scope(actor, f.organization_id)
        repository = AnalyticsRepository.from_session(session)
        names = [step.removeprefix("application_") for step in FUNNEL_STEPS]
        pairs = [*zip(names, names[1:], strict=False), (names[0], names[-1])]
        steps = [*zip(FUNNEL_STEPS, FUNNEL_STEPS[1:], strict=False)]
        steps.append((FUNNEL_STEPS[0], FUNNEL_STEPS[-1]))
        measured = await repository.step_times(f, reach, pairs)
        return StepTimes(
            as_of=await repository.refreshed_at(),
            intervals=[
                StepInterval(
                    from_step=first,
                    to_step=second,
                    applications=count,
                    median_hours=_hours(median),
                    p90_hours=_hours(p90),
                )
                for (first, second), (count, median, p90) in zip(steps, measured, strict=True)
            ],
        )

    async def agent_metrics(
        self, session: AsyncSession, actor: Actor, f: AnalyticsFilter
    ) -> AgentMetrics:
        """The assistant by prompt versions and model over the range (`mode` filters turns by
        the mode they ended in)."""
        orgs = self.firm_scope(actor, f.organization_id)
        repository = AnalyticsRepository.from_session(session)
        rows = await repository.agent_metrics(f, orgs)
        return AgentMetrics(
            as_of=await repository.refreshed_at(),
            rows=[AgentMetricsRow.model_validate(row) for row in rows],
        )

    async def lender_performance(
        self, session: AsyncSession, actor: Actor, f: AnalyticsFilter
    ) -> LenderPerformance:
        """Per lender over the range: submissions and decisions (by submission day), offers
        accepted, loans funded. Time to decision is a mean: a median does not roll up by day."""
        orgs = self.firm_scope(actor, f.organization_id)
        repository = AnalyticsRepository.from_session(session)
        rows = await repository.lender_performance(f, orgs)
        return LenderPerformance(
            as_of=await repository.refreshed_at(),
            rows=[
                LenderPerformanceRow(
                    lender_id=row["lender_id"],
                    lender_name=row["lender_name"],
                    submissions=int(row["submissions"]),
                    decided=int(row["decided"]),
                    approved=int(row["approved"]),
                    approval_rate=_ratio(int(row["approved"]), int(row["decided"])),
                    mean_hours_to_decision=(
                        _hours(Decimal(str(row["decision_hours"])) / int(row["decided"]))
                        if int(row["decided"])
                        else None
                    ),
                    offers_accepted=int(row["offers_accepted"]),
                    funded_loans=int(row["funded_loans"]),
                    funded_volume=Decimal(str(row["funded_volume"] or 0)),
                )
                for row in rows
            ],
        )

    async def voice_metrics(
        self,
        session: AsyncSession,
        actor: Actor,
        f: VoiceFilter,
    ) -> VoiceMetrics:
        """Voice turns in the range: the p50 and p95 of each stage LiveKit measured (end of
        turn, transcription, the runner's first token, speech's first byte, end to end) and
        how many replies were spoken over, overall, per day and per prompt versions and model.

        Raises:
            PermissionDenied: the actor is neither a platform admin nor a prompt engineer.
        """
        if actor.role not in _VOICE_READERS:
            raise PermissionDenied("Voice metrics are for platform admins and prompt engineers.")
        orgs = [f.organization_id] if f.organization_id is not None else None
        rows = await AnalyticsRepository.from_session(session).voice_turns(f, orgs)
        # GROUPING SETS always yield the () row, with zero turns over an empty range.
        total = next(row for row in rows if row["level"] == "total")
        return VoiceMetrics(
            date_from=f.date_from,
            date_to=f.date_to,
            total=VoiceMetricsRow.model_validate(_voice_row(total)),
            days=[
                VoiceDay.model_validate({"day": row["day"], **_voice_row(row)})
                for row in rows
                if row["level"] == "day"
            ],
            prompt_models=[
                VoicePromptModel.model_validate(
                    {
                        "prompt_versions": row["prompt_versions"],
                        "model": row["model"],
                        **_voice_row(row),
                    }
                )
                for row in rows
                if row["level"] == "prompt_model"
            ],
        )

    async def refresh(self, session: AsyncSession) -> None:
        """Recompute the rollups (the periodic job; also `omnifin`-free for tests and benchmarks)."""
        await AnalyticsRepository.from_session(session).refresh()


analytics_service = AnalyticsService()
