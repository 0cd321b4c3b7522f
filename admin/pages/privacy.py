"""Privacy: the erasure-requests queue (what approving one removes, anonymises and keeps, and
why; approve or reject, never one's own or one about oneself), and a person's data export run by
staff. Every action goes through lending.privacy.service, which checks and audits it."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import FileResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.background import BackgroundTask
from starlette.responses import HTMLResponse, RedirectResponse, Response

from admin.listing import enum_filter
from admin.web import (
    OriginDep,
    SessionDep,
    Staff,
    StaffDep,
    refused_page,
    render,
    require_section,
    settings_of,
    store_of,
)
from lending.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from lending.identity.users import user_service
from lending.models.privacy import ErasureStatus
from lending.privacy.schemas import ErasureReview
from lending.privacy.service import privacy_service

router = APIRouter(prefix="/privacy", dependencies=[require_section("privacy")])

_REFUSALS = (Conflict, InvalidInput, PermissionDenied, NotFound)
_DONE = {
    "approved": "Approved: the person's data was erased. The report below shows what was kept.",
    "rejected": "Rejected: nothing was erased.",
}
_ACTIONS = {
    "delete": "deleted",
    "anonymise": "kept, personal fields replaced by the pseudonym",
    "keep": "kept",
}


@router.get("")
async def requests(
    request: Request,
    staff: StaffDep,
    session: SessionDep,
    status: Annotated[str | None, Query(max_length=20)] = "pending",
) -> HTMLResponse:
    return await _list(request, session, staff, status)


async def _list(
    request: Request,
    session: AsyncSession,
    staff: Staff,
    status: str | None = "pending",
    *,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    chosen = enum_filter(ErasureStatus, status or None, "status")
    rows = await privacy_service.list_requests(session, staff.actor, status=chosen)
    names = {
        user_id: (await user_service.get(session, staff.actor, user_id=user_id)).full_name
        for user_id in {row.subject_user_id for row in rows}
    }
    return render(
        request,
        "privacy/list.html",
        {
            "staff": staff,
            "current": "privacy",
            "title": "Erasure requests",
            "rows": rows,
            "names": names,
            "status": chosen.value if chosen else "",
            "statuses": list(ErasureStatus),
            "error": error,
        },
        status_code=status_code,
        block="results",
    )


@router.get("/{request_id}")
async def detail(
    request: Request,
    request_id: uuid.UUID,
    staff: StaffDep,
    session: SessionDep,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    return await _detail(request, session, staff, request_id, notice=_DONE.get(done or ""))


@router.post("/{request_id}/review")
async def review(
    request: Request,
    request_id: uuid.UUID,
    staff: StaffDep,
    session: SessionDep,
    origin: OriginDep,
    approve: Annotated[bool, Form()],
    note: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    try:
        await privacy_service.review(
            session,
            staff.actor,
            request_id=request_id,
            data=ErasureReview(approve=approve, note=note or None),
            settings=settings_of(request),
            store=store_of(request),
            origin=origin,
        )
    except _REFUSALS as refused:
        return await refused_page(session, refused, _detail, request, session, staff, request_id)
    done = "approved" if approve else "rejected"
    return RedirectResponse(f"/admin/privacy/{request_id}?done={done}", status_code=303)


@router.post("/export")
async def export(
    request: Request,
    staff: StaffDep,
    session: SessionDep,
    origin: OriginDep,
    user_id: Annotated[str, Form(max_length=64)],
) -> Response:
    """A person's data as the ZIP they would download themselves; the export is audited."""
    try:
        subject = uuid.UUID(user_id.strip())
    except ValueError:
        return await _list(
            request,
            session,
            staff,
            error="That is not a person's id (a UUID, as the People page shows).",
            status_code=422,
        )
    try:
        made = await privacy_service.export(
            session, staff.actor, settings=settings_of(request), user_id=subject, origin=origin
        )
    except _REFUSALS as refused:
        return await refused_page(session, refused, _list, request, session, staff)
    return FileResponse(
        made.path,
        media_type="application/zip",
        filename=made.filename,
        headers={"Cache-Control": "no-store"},
        background=BackgroundTask(made.path.unlink, missing_ok=True),
    )


async def _detail(
    request: Request,
    session: AsyncSession,
    staff: Staff,
    request_id: uuid.UUID,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    found = await privacy_service.get_request(session, staff.actor, request_id=request_id)
    subject = await user_service.get(session, staff.actor, user_id=found.subject_user_id)
    requester = (
        await user_service.get(session, staff.actor, user_id=found.requested_by_user_id)
        if found.requested_by_user_id
        else None
    )
    me = staff.actor.user_id
    return render(
        request,
        "privacy/detail.html",
        {
            "staff": staff,
            "current": "privacy",
            "title": "Erasure request",
            "found": found,
            "subject": subject,
            "requester": requester,
            "plan": await privacy_service.preview(session, staff.actor, request_id=request_id),
            "actions": _ACTIONS,
            # Maker-checker: the service and the database refuse it too; the page says why.
            "own_request": me in (found.requested_by_user_id, found.subject_user_id),
            "notice": notice,
            "error": error,
        },
        status_code=status_code,
    )
