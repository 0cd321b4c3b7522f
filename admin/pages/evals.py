"""Evals: the runs, one run's report compared with the baseline; starting a run (a job the worker
runs, followed here as it goes) and blessing a run as the baseline, through evals.runs."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse, RedirectResponse, Response

from admin.forms import validated
from admin.listing import ListQuery, ListQueryDep
from admin.web import OriginDep, SessionDep, Staff, StaffDep, refused_page, render, require_section
from evals import runs
from lending.errors import InvalidInput, PermissionDenied
from lending.identity.scopes import Scope
from lending.models.evals import EvalRequestStatus
from lending.models.prompts import PromptLabelName

router = APIRouter(prefix="/evals", dependencies=[require_section("evals")])

_NOTICES = {"blessed": "This run is now the baseline that runs are compared with."}


@router.get("")
async def run_list(
    request: Request, staff: StaffDep, session: SessionDep, query: ListQueryDep
) -> HTMLResponse:
    return await _list(request, session, staff, query)


@router.post("/requests")
async def start_run(
    request: Request,
    staff: StaffDep,
    session: SessionDep,
    origin: OriginDep,
    query: ListQueryDep,
    paths: Annotated[list[str] | None, Form()] = None,
    tags: Annotated[str, Form(max_length=400)] = "",
    trials: Annotated[str, Form(max_length=4)] = "1",
    model: Annotated[str, Form(max_length=20)] = "offline",
    prompt_label: Annotated[str, Form(max_length=20)] = "production",
    label: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    form: dict[str, Any] = {
        "paths": paths or [],
        "tags": [t.strip() for t in tags.replace(",", " ").split() if t.strip()],
        "trials": trials,
        "model": model,
        "prompt_label": prompt_label,
        "label": label,
    }
    try:
        data = validated(runs.RunRequestCreate, form)
        asked = await runs.request_run(session, staff.actor, data=data, origin=origin)
    except (InvalidInput, PermissionDenied) as refused:
        return await refused_page(
            session, refused, _list, request, session, staff, query, form=form
        )
    return RedirectResponse(f"/admin/evals/requests/{asked.id}", status_code=303)


@router.get("/requests/{request_id}")
async def run_progress(
    request: Request, request_id: uuid.UUID, staff: StaffDep, session: SessionDep
) -> HTMLResponse:
    found = await runs.get_request(session, staff.actor, request_id=request_id)
    waiting = found.status in (EvalRequestStatus.QUEUED, EvalRequestStatus.RUNNING)
    return render(
        request,
        "evals/request.html",
        {
            "staff": staff,
            "current": "evals",
            "title": "Eval run request",
            "asked": found,
            "waiting": waiting,
        },
        block="progress",
    )


@router.get("/{run_id}")
async def run_report(
    request: Request,
    run_id: uuid.UUID,
    staff: StaffDep,
    session: SessionDep,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    return await _report(request, session, staff, run_id, notice=_NOTICES.get(done or ""))


@router.post("/{run_id}/bless")
async def bless_run(
    request: Request, run_id: uuid.UUID, staff: StaffDep, session: SessionDep, origin: OriginDep
) -> Response:
    try:
        await runs.bless(session, staff.actor, run_id=run_id, origin=origin)
    except PermissionDenied as refused:  # NotFound is the 404 page
        return await refused_page(session, refused, _report, request, session, staff, run_id)
    return RedirectResponse(f"/admin/evals/{run_id}?done=blessed", status_code=303)


async def _list(
    request: Request,
    session: AsyncSession,
    staff: Staff,
    query: ListQuery,
    *,
    form: dict[str, Any] | None = None,
    error: str | None = None,
    status_code: int = 200,
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
            "requests": await runs.list_requests(session, staff.actor),
            "may_run": staff.actor.has(Scope.EVALS_RUN),
            "suites": runs.suites(),
            "labels": [label.value for label in PromptLabelName],
            "max_trials": runs.MAX_TRIALS,
            "form": form or {},
            "error": error,
        },
        status_code=status_code,
    )


async def _report(
    request: Request,
    session: AsyncSession,
    staff: Staff,
    run_id: uuid.UUID,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    found = await runs.report(session, staff.actor, run_id=run_id)
    return render(
        request,
        "evals/report.html",
        {
            "staff": staff,
            "current": "evals",
            "title": "Eval run",
            "report": found,
            "may_bless": staff.actor.has(Scope.EVALS_RUN),
            "notice": notice,
            "error": error,
        },
        status_code=status_code,
    )
