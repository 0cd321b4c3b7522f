"""Invitations: the newest ones, inviting someone into a firm with a role, resending (a fresh
code: only hashes are kept) and revoking. The code is shown once, on the page that made it."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse, RedirectResponse, Response

from admin.forms import validated
from admin.web import (
    OriginDep,
    SessionDep,
    Staff,
    StaffDep,
    refused_page,
    render,
    require_section,
    settings_of,
)
from lending.errors import Conflict, InvalidInput, PermissionDenied
from lending.identity.invitation_resend import invitation_resend_service
from lending.identity.invitations import invitation_service
from lending.identity.organizations import organization_service
from lending.identity.schemas import InvitationCreate, InvitationCreated, InvitationRead
from lending.models.identity import Role

router = APIRouter(prefix="/invitations", dependencies=[require_section("people")])

_REFUSALS = (Conflict, InvalidInput, PermissionDenied)
SHOWN = 100


@router.get("")
async def invitations(request: Request, staff: StaffDep, session: SessionDep) -> HTMLResponse:
    return await _list(request, session, staff)


@router.post("")
async def invite(
    request: Request,
    staff: StaffDep,
    session: SessionDep,
    origin: OriginDep,
    organization_id: Annotated[str, Form(max_length=40)],
    role: Annotated[str, Form(max_length=40)],
    email: Annotated[str, Form(max_length=320)] = "",
    expires_in_hours: Annotated[str, Form(max_length=6)] = "",
) -> HTMLResponse:
    values = {
        "organization_id": organization_id,
        "role": role,
        "email": email,
        "expires_in_hours": expires_in_hours,
    }
    try:
        created = await invitation_service.create(
            session,
            staff.actor,
            settings=settings_of(request),
            data=validated(InvitationCreate, values),
            origin=origin,
        )
    except _REFUSALS as refused:
        return await refused_page(session, refused, _list, request, session, staff, form=values)
    return await _list(request, session, staff, created=created)


@router.post("/{invitation_id}/resend")
async def resend(
    request: Request,
    invitation_id: uuid.UUID,
    staff: StaffDep,
    session: SessionDep,
    origin: OriginDep,
) -> HTMLResponse:
    try:
        created = await invitation_resend_service.resend(
            session,
            staff.actor,
            settings=settings_of(request),
            invitation_id=invitation_id,
            origin=origin,
        )
    except _REFUSALS as refused:
        return await refused_page(session, refused, _list, request, session, staff)
    return await _list(request, session, staff, created=created)


@router.post("/{invitation_id}/revoke")
async def revoke(
    request: Request,
    invitation_id: uuid.UUID,
    staff: StaffDep,
    session: SessionDep,
    origin: OriginDep,
) -> Response:
    try:
        await invitation_service.revoke(
            session, staff.actor, invitation_id=invitation_id, origin=origin
        )
    except _REFUSALS as refused:
        return await refused_page(session, refused, _list, request, session, staff)
    return RedirectResponse("/admin/invitations", status_code=303)


async def _list(
    request: Request,
    session: AsyncSession,
    staff: Staff,
    *,
    created: InvitationCreated | None = None,
    error: str | None = None,
    form: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    firms = await organization_service.list(session, staff.actor)
    rows = await invitation_service.list(session, staff.actor, limit=SHOWN)
    return render(
        request,
        "people/invitations.html",
        {
            "staff": staff,
            "current": "people",
            "tab": "invitations",
            "title": "Invitations",
            "invitations": [InvitationRead.model_validate(row) for row in rows],
            "shown": SHOWN,
            "firms": {firm.id: firm.name for firm in firms},
            "roles": list(Role),
            "created": created,
            "form": form or {"organization_id": request.query_params.get("firm", "")},
            "error": error,
        },
        status_code=status_code,
        # The one page that shows a code: never stored by the browser or a proxy.
        headers={"Cache-Control": "no-store"},
    )
