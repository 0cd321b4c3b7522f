"""Conversations: everyone's assistant threads (filters: thumbs down, errors), one transcript
with its tool calls, approvals and mode changes, and "make a scenario from this".

Reads go through `agents.threads.staff_threads` (`conversations:read`, each transcript read
audited); the scenario through `evals.capture.capture` (`evals:run`: prompt engineers; audited
by it)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import HTMLResponse

from admin.listing import ListQueryDep
from admin.web import OriginDep, SessionDep, StaffDep, render, require_section
from agents.threads import staff_threads
from evals.capture import capture
from lending.identity.scopes import Scope
from lending.models.chat import ChatMessage, ChatRun

router = APIRouter(prefix="/conversations", dependencies=[require_section("conversations")])


@router.get("")
async def conversation_list(
    request: Request,
    staff: StaffDep,
    session: SessionDep,
    query: ListQueryDep,
    thumbs_down: Annotated[bool, Query()] = False,
    errors: Annotated[bool, Query()] = False,
) -> HTMLResponse:
    page = await staff_threads.page(
        session,
        staff.actor,
        thumbs_down=thumbs_down,
        errors=errors,
        cursor=query.cursor,
        limit=query.limit,
    )
    return render(
        request,
        "conversations/list.html",
        {
            "staff": staff,
            "current": "conversations",
            "title": "Conversations",
            "page": page,
            "thumbs_down": thumbs_down,
            "errors": errors,
            "next_url": query.next_url(request, page.next_cursor),
            "first_url": query.first_url(request),
        },
        block="results",
    )


@router.get("/{thread_id}")
async def transcript(
    request: Request, thread_id: uuid.UUID, staff: StaffDep, session: SessionDep, origin: OriginDep
) -> HTMLResponse:
    found = await staff_threads.transcript(session, staff.actor, thread_id=thread_id, origin=origin)
    return render(
        request,
        "conversations/transcript.html",
        {
            "staff": staff,
            "current": "conversations",
            "title": f"Conversation {str(thread_id)[:8]}",
            "found": found,
            "turns": _turns(found.runs, found.messages),
            "unattached": [m for m in found.messages if m.run_id is None],
            "may_capture": staff.actor.has(Scope.EVALS_RUN),
        },
    )


@router.post("/{thread_id}/scenario")
async def make_scenario(
    request: Request,
    thread_id: uuid.UUID,
    staff: StaffDep,
    session: SessionDep,
    origin: OriginDep,
    scenario_id: Annotated[str, Form(max_length=80, pattern=r"^[a-z0-9_-]*$")] = "",
) -> HTMLResponse:
    captured = await capture(
        session, staff.actor, thread_id, scenario_id=scenario_id or None, origin=origin
    )
    return render(
        request,
        "conversations/scenario.html",
        {
            "staff": staff,
            "current": "conversations",
            "title": f"Scenario {captured.scenario_id}",
            "thread_id": thread_id,
            "captured": captured,
        },
    )


def _turns(runs: list[ChatRun], messages: list[ChatMessage]) -> list[dict[str, Any]]:
    """Each run with its messages and, when the mode differs from the run before, the change."""
    by_run: dict[uuid.UUID, list[ChatMessage]] = {}
    for message in messages:
        if message.run_id is not None:
            by_run.setdefault(message.run_id, []).append(message)
    turns = []
    previous: str | None = None
    for run in runs:
        change = None
        if run.fell_back:
            change = "The assistant fell back to guided mode during this turn."
        elif previous is not None and run.mode != previous:
            change = f"Mode changed from {previous} to {run.mode}."
        turns.append({"run": run, "messages": by_run.get(run.id, []), "mode_change": change})
        previous = run.mode
    return turns
