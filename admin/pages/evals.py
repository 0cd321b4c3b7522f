"""Evals: the runs, and one run's report compared with the baseline (read-only here)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from admin.listing import ListQueryDep
from admin.web import SessionDep, StaffDep, render, require_section
from evals import runs

router = APIRouter(prefix="/evals", dependencies=[require_section("evals")])


@router.get("")
async def run_list(
    request: Request, staff: StaffDep, session: SessionDep, query: ListQueryDep
) -> HTMLResponse:
    page = await runs.list_runs(session, staff.actor, cursor=query.cursor, limit=query.limit)
    return render(
        request,
        "evals/list.html",
        {
            "staff": staff,
            "current": "evals",
            "title": "Eval runs",
            "page": page,
            "next_url": query.next_url(request, page.next_cursor),
            "first_url": query.first_url(request),
        },
    )


@router.get("/{run_id}")
async def run_report(
    request: Request, run_id: uuid.UUID, staff: StaffDep, session: SessionDep
) -> HTMLResponse:
    found = await runs.report(session, staff.actor, run_id=run_id)
    return render(
        request,
        "evals/report.html",
        {"staff": staff, "current": "evals", "title": "Eval run", "report": found},
    )
