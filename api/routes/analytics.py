"""Analytics for the back office and the broker dashboard: platform admins see every firm,
broker managers their own, brokers their own applications (funnel, drop-off, step times,
intake) and commissions; each route is one service call."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.auth import CurrentActor
from api.deps import SessionDep
from api.errors import error_responses
from api.ratelimit import rate_limit
from lending.analytics.schemas import (
    AgentMetrics,
    AnalyticsFilter,
    Breakdown,
    DropOff,
    Funnel,
    IntakeDropOff,
    LenderPerformance,
    StepTimes,
    VoiceFilter,
    VoiceMetrics,
)
from lending.analytics.service import analytics_service
from lending.commissions.schemas import CommissionTrend
from lending.commissions.trend import TrendRange, commission_trend_service
from lending.errors import InvalidInput, NotAuthenticated, PermissionDenied, RateLimited
from lending.identity.errors import MfaEnrollmentRequired

router = APIRouter(
    prefix="/api/v1/analytics", tags=["analytics"], dependencies=[rate_limit("default")]
)
_ERRORS = (NotAuthenticated, MfaEnrollmentRequired, PermissionDenied, InvalidInput, RateLimited)
FilterQuery = Annotated[AnalyticsFilter, Query()]
VoiceFilterQuery = Annotated[VoiceFilter, Query()]


@router.get(
    "/funnel",
    summary="Applications reaching each funnel step by day (split by product, channel or mode)",
    responses=error_responses(*_ERRORS),
)
async def analytics_funnel(
    actor: CurrentActor, session: SessionDep, f: FilterQuery, breakdown: Breakdown | None = None
) -> Funnel:
    return await analytics_service.funnel(session, actor, f, breakdown=breakdown)


@router.get(
    "/drop-off",
    summary="Of the applications started in the range, how many reached and left each step",
    responses=error_responses(*_ERRORS),
)
async def analytics_drop_off(actor: CurrentActor, session: SessionDep, f: FilterQuery) -> DropOff:
    return await analytics_service.drop_off(session, actor, f)


@router.get(
    "/intake-drop-off",
    summary="Which intake question applications that were never submitted stopped at",
    description="By the mode the application started in (the model or guided mode); the "
    "question is the first required field still missing when the intake last moved.",
    responses=error_responses(*_ERRORS),
)
async def analytics_intake_drop_off(
    actor: CurrentActor, session: SessionDep, f: FilterQuery
) -> IntakeDropOff:
    return await analytics_service.intake_drop_off(session, actor, f)


@router.get(
    "/step-times",
    summary="Median and p90 hours between funnel steps",
    responses=error_responses(*_ERRORS),
)
async def analytics_step_times(
    actor: CurrentActor, session: SessionDep, f: FilterQuery
) -> StepTimes:
    return await analytics_service.step_times(session, actor, f)


@router.get(
    "/agents",
    summary="The assistant by prompt versions and model: turns, tools, approvals, tokens, cost",
    responses=error_responses(*_ERRORS),
)
async def analytics_agents(
    actor: CurrentActor, session: SessionDep, f: FilterQuery
) -> AgentMetrics:
    return await analytics_service.agent_metrics(session, actor, f)


@router.get(
    "/lenders",
    summary="Lender performance: approval rate, time to decision, offers accepted, funded volume",
    responses=error_responses(*_ERRORS),
)
async def analytics_lenders(
    actor: CurrentActor, session: SessionDep, f: FilterQuery
) -> LenderPerformance:
    return await analytics_service.lender_performance(session, actor, f)


@router.get(
    "/voice",
    summary="Voice turns: p50/p95 of each stage, interruptions, per day and prompt and model",
    description="For platform admins and prompt engineers. Stages are LiveKit's per-turn "
    "metrics stored with each voice run: end of turn delay, transcription delay, the "
    "assistant's time to first token, speech's time to first byte, end to end (milliseconds).",
    responses=error_responses(*_ERRORS),
)
async def analytics_voice(
    actor: CurrentActor, session: SessionDep, f: VoiceFilterQuery
) -> VoiceMetrics:
    return await analytics_service.voice_metrics(session, actor, f)


@router.get(
    "/commissions",
    summary="Commissions per week, month or quarter: accrued, clawed back, adjusted, paid",
    description="A broker's own entries, a broker manager's firm's (without the platform's "
    "share), a platform admin's all.",
    responses=error_responses(*_ERRORS),
)
async def analytics_commissions(
    actor: CurrentActor, session: SessionDep, asked: Annotated[TrendRange, Query()]
) -> CommissionTrend:
    return await commission_trend_service.trend(session, actor, asked)
