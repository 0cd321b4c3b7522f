"""Voice: how long each stage of a voice turn took (p50 and p95) and how often people spoke
over the assistant, overall, per day and per prompt versions and model.

One call to `lending.analytics.service.analytics_service.voice_metrics`, the REST route's
service (platform admins and prompt engineers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import HTMLResponse

from admin.forms import validated
from admin.web import SessionDep, StaffDep, render, require_section
from lending.analytics.schemas import VoiceFilter
from lending.analytics.service import analytics_service

router = APIRouter(prefix="/voice", dependencies=[require_section("voice")])

DEFAULT_DAYS = 30
STAGE_LABELS = {
    "end_of_turn_delay": "End of turn",
    "transcription_delay": "Transcription",
    "llm_node_ttft": "Assistant first token",
    "tts_node_ttfb": "Speech first byte",
    "e2e_latency": "End to end",
}


@router.get("")
async def page(
    request: Request,
    staff: StaffDep,
    session: SessionDep,
    since: Annotated[str | None, Query(max_length=10)] = None,
    until: Annotated[str | None, Query(max_length=10)] = None,
) -> HTMLResponse:
    today = datetime.now(UTC).date()
    f = validated(
        VoiceFilter,
        {
            "date_from": since or (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat(),
            "date_to": until or today.isoformat(),
        },
    )
    figures = await analytics_service.voice_metrics(session, staff.actor, f)
    return render(
        request,
        "voice.html",
        {
            "staff": staff,
            "current": "voice",
            "title": "Voice",
            "figures": figures,
            "labels": STAGE_LABELS,
        },
    )
