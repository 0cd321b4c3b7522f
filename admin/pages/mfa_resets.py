"""Two-factor resets with maker-checker: one platform administrator asks (from the person's
page), another approves from the queue or the person's page; refusals are shown on the queue."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse, RedirectResponse, Response

from admin.forms import validated
from admin.listing import ListQuery, ListQueryDep
from admin.web import (
    OriginDep,
    SessionDep,
    Staff,
    StaffDep,
    refused_page,
    render,
    require_section,
    store_of,
)
from lending.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from lending.identity.mfa_reset import mfa_reset_service
from lending.identity.schemas import MfaResetCreate

router = APIRouter(prefix="/mfa-resets", dependencies=[require_section("people")])

_REFUSALS = (Conflict, InvalidInput, NotFound, PermissionDenied)


@router.get("")
async def queue(
    request: Request, staff: StaffDep, session: SessionDep, query: ListQueryDep
) -> HTMLResponse:
    return await _queue(request, session, staff, query.cursor, query.limit)


@router.post("")
async def ask(
    request: Request,
    staff: StaffDep,
    session: SessionDep,
    origin: OriginDep,
    user_id: Annotated[uuid.UUID, Form()],
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    try:
        await mfa_reset_service.request(
            session,
            staff.actor,
            user_id=user_id,
            data=validated(MfaResetCreate, {"reason": reason}),
            origin=origin,
        )
    except _REFUSALS as refused:
        return await refused_page(session, refused, _queue, request, session, staff, None, 50)
    return RedirectResponse(f"/admin/people/{user_id}?done=mfa_requested", status_code=303)


@router.post("/{request_id}/approve")
async def approve(
    request: Request, request_id: uuid.UUID, staff: StaffDep, session: SessionDep, origin: OriginDep
) -> Response:
    try:
        done = await mfa_reset_service.approve(
            session, staff.actor, store=store_of(request), request_id=request_id, origin=origin
        )
    except _REFUSALS as refused:
        return await refused_page(session, refused, _queue, request, session, staff, None, 50)
    return RedirectResponse(f"/admin/people/{done.user_id}?done=mfa_reset", status_code=303)


@router.post("/{request_id}/cancel")
async def cancel(
    request: Request, request_id: uuid.UUID, staff: StaffDep, session: SessionDep, origin: OriginDep
) -> Response:
    try:
        done = await mfa_reset_service.cancel(
            session, staff.actor, request_id=request_id, origin=origin
        )
    except _REFUSALS as refused:
        return await refused_page(session, refused, _queue, request, session, staff, None, 50)
    return RedirectResponse(f"/admin/people/{done.user_id}?done=mfa_withdrawn", status_code=303)


async def _queue(
    request: Request,
    session: AsyncSession,
    staff: Staff,
    cursor: str | None,
    limit: int,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    page = await mfa_reset_service.page(session, staff.actor, cursor=cursor, limit=limit)
    query = ListQuery(q=None, cursor=cursor, limit=limit)
    return render(
        request,
        "people/mfa_resets.html",
        {
            "staff": staff,
            "current": "people",
            "tab": "mfa",
            "title": "Two-factor resets",
            "page": page,
            "error": error,
            # After a refused form the address is the form's (a POST): no paging link then.
            "next_url": (
                query.next_url(request, page.next_cursor) if request.method == "GET" else None
            ),
            "first_url": query.first_url(request),
        },
        status_code=status_code,
    )
