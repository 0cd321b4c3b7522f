"""Audit log: search by actor, object, action and time; verify the hash chain."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import HTMLResponse

from admin.web import SessionDep, StaffDep, render, require_section
from lending.audit.service import audit_service
from lending.errors import InvalidInput

router = APIRouter(prefix="/audit", dependencies=[require_section("audit")])

PAGE_SIZE = 50


def _uuid(value: str | None, name: str) -> uuid.UUID | None:
    if not value or not value.strip():
        return None
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        raise InvalidInput(
            f"The {name} must be an id such as 0b6e...-...; got {value!r}."
        ) from None


def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"The {name} must be a date (YYYY-MM-DD).") from None


@router.get("")
async def events(
    request: Request,
    staff: StaffDep,
    session: SessionDep,
    actor: Annotated[str | None, Query(max_length=40)] = None,
    action: Annotated[str | None, Query(max_length=100)] = None,
    subject_type: Annotated[str | None, Query(max_length=50)] = None,
    subject_id: Annotated[str | None, Query(max_length=100)] = None,
    since: Annotated[str | None, Query(max_length=10)] = None,
    until: Annotated[str | None, Query(max_length=10)] = None,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    first, last = _day(since, "first day"), _day(until, "last day")
    rows = await audit_service.list_events(
        session,
        staff.actor,
        before_id=before,
        action=(action or "").strip() or None,
        actor_user_id=_uuid(actor, "actor"),
        subject_type=(subject_type or "").strip() or None,
        subject_id=(subject_id or "").strip() or None,
        since=datetime.combine(first, time(), UTC) if first else None,
        # The last day is included: up to the next midnight.
        until=datetime.combine(last + timedelta(days=1), time(), UTC) if last else None,
        limit=PAGE_SIZE + 1,
    )
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    next_url = None
    if more and rows:
        url = request.url.include_query_params(before=rows[-1].id)
        next_url = f"{url.path}?{url.query}"
    first_url = None
    if before is not None:
        url = request.url.remove_query_params("before")
        first_url = f"{url.path}?{url.query}" if url.query else url.path
    return render(
        request,
        "audit.html",
        {
            "staff": staff,
            "current": "audit",
            "title": "Audit log",
            "rows": rows,
            "form": {
                "actor": actor or "",
                "action": action or "",
                "subject_type": subject_type or "",
                "subject_id": subject_id or "",
                "since": since or "",
                "until": until or "",
            },
            "next_url": next_url,
            "first_url": first_url,
        },
        block="results",
    )


@router.post("/verify")
async def verify(request: Request, staff: StaffDep, session: SessionDep) -> HTMLResponse:
    report = await audit_service.verify(session, staff.actor)
    return render(
        request,
        "audit.html",
        {"staff": staff, "current": "audit", "title": "Audit log", "report": report},
        block="chain",
    )
