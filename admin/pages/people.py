"""People: users, deactivating and reactivating, role changes and unlocking sign-in."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse, RedirectResponse, Response

from admin.listing import ListQueryDep, enum_filter
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
from lending.errors import Conflict, InvalidInput, PermissionDenied
from lending.identity import throttle
from lending.identity.mfa_reset import mfa_reset_service
from lending.identity.schemas import UserUpdate
from lending.identity.sign_in import sign_in_service
from lending.identity.users import user_service
from lending.models.identity import Role

router = APIRouter(prefix="/people", dependencies=[require_section("people")])

_REFUSALS = (Conflict, InvalidInput, PermissionDenied)
_DONE = {
    "deactivated": "The account was deactivated and signed out everywhere.",
    "activated": "The account was reactivated.",
    "role": "The role was changed; the person was signed out everywhere.",
    "unlocked": "Sign-in was unlocked.",
    "mfa_requested": "The two-factor reset was asked for; another administrator must approve it.",
    "mfa_reset": "The second factor was removed and every session ended.",
    "mfa_withdrawn": "The two-factor reset request was withdrawn.",
}


@router.get("")
async def people(
    request: Request,
    staff: StaffDep,
    session: SessionDep,
    query: ListQueryDep,
    role: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    chosen = enum_filter(Role, role, "role")
    page = await user_service.page(
        session, staff.actor, role=chosen, search=query.q, cursor=query.cursor, limit=query.limit
    )
    return render(
        request,
        "people/list.html",
        {
            "staff": staff,
            "current": "people",
            "tab": "people",
            "title": "People",
            "page": page,
            "q": query.q or "",
            "role": chosen.value if chosen else "",
            "roles": list(Role),
            "next_url": query.next_url(request, page.next_cursor),
            "first_url": query.first_url(request),
        },
        block="results",
    )


@router.get("/{user_id}")
async def person(
    request: Request,
    user_id: uuid.UUID,
    staff: StaffDep,
    session: SessionDep,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    return await _detail(request, session, staff, user_id, notice=_DONE.get(done or ""))


@router.post("/{user_id}/active")
async def set_active(
    request: Request,
    user_id: uuid.UUID,
    staff: StaffDep,
    session: SessionDep,
    origin: OriginDep,
    active: Annotated[bool, Form()],
) -> Response:
    return await _update(
        request,
        session,
        staff,
        user_id,
        UserUpdate(is_active=active),
        origin,
        "activated" if active else "deactivated",
    )


@router.post("/{user_id}/role")
async def set_role(
    request: Request,
    user_id: uuid.UUID,
    staff: StaffDep,
    session: SessionDep,
    origin: OriginDep,
    role: Annotated[str, Form(max_length=40)],
) -> Response:
    try:
        chosen = enum_filter(Role, role, "role")
    except InvalidInput as refused:
        return await refused_page(session, refused, _detail, request, session, staff, user_id)
    return await _update(request, session, staff, user_id, UserUpdate(role=chosen), origin, "role")


@router.post("/{user_id}/unlock")
async def unlock(
    request: Request, user_id: uuid.UUID, staff: StaffDep, session: SessionDep, origin: OriginDep
) -> Response:
    try:
        await sign_in_service.unlock_sign_in(
            session, staff.actor, store=store_of(request), user_id=user_id, origin=origin
        )
    except _REFUSALS as refused:
        return await refused_page(session, refused, _detail, request, session, staff, user_id)
    return RedirectResponse(f"/admin/people/{user_id}?done=unlocked", status_code=303)


async def _update(
    request: Request,
    session: AsyncSession,
    staff: Staff,
    user_id: uuid.UUID,
    data: UserUpdate,
    origin: OriginDep,
    done: str,
) -> Response:
    try:
        await user_service.update(
            session, staff.actor, store=store_of(request), user_id=user_id, data=data, origin=origin
        )
    except _REFUSALS as refused:
        return await refused_page(session, refused, _detail, request, session, staff, user_id)
    return RedirectResponse(f"/admin/people/{user_id}?done={done}", status_code=303)


async def _detail(
    request: Request,
    session: AsyncSession,
    staff: Staff,
    user_id: uuid.UUID,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    found = await user_service.get(session, staff.actor, user_id=user_id)
    return render(
        request,
        "people/detail.html",
        {
            "staff": staff,
            "current": "people",
            "title": found.full_name,
            "person": found,
            "roles": list(Role),
            "locked": await throttle.is_locked(store_of(request), email=found.email),
            "is_self": found.id == staff.actor.user_id,
            "mfa_reset": await mfa_reset_service.pending_for(
                session, staff.actor, user_id=found.id
            ),
            "notice": notice,
            "error": error,
        },
        status_code=status_code,
    )
