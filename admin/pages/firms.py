"""Firms: the list, a new broker firm, and a firm's members and invitations (inviting someone
into it is on the invitations page's form, preset to the firm)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse, RedirectResponse, Response

from admin.forms import validated
from admin.web import OriginDep, SessionDep, Staff, StaffDep, refused_page, render, require_section
from lending.errors import Conflict, InvalidInput, PermissionDenied
from lending.identity.invitations import invitation_service
from lending.identity.organizations import organization_service
from lending.identity.schemas import InvitationRead, OrganizationCreate
from lending.identity.users import user_service
from lending.models.identity import Role

router = APIRouter(prefix="/firms", dependencies=[require_section("people")])

_REFUSALS = (Conflict, InvalidInput, PermissionDenied)
# A firm's page shows this many members and invitations (the people list pages through all).
MEMBERS_SHOWN = 200


@router.get("")
async def firms(request: Request, staff: StaffDep, session: SessionDep) -> HTMLResponse:
    return await _list(request, session, staff)


@router.post("")
async def create_firm(
    request: Request,
    staff: StaffDep,
    session: SessionDep,
    origin: OriginDep,
    name: Annotated[str, Form(max_length=200)],
    slug: Annotated[str, Form(max_length=100)],
    licence_number: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    values = {"name": name, "slug": slug, "licence_number": licence_number}
    try:
        created = await organization_service.create(
            session, staff.actor, data=validated(OrganizationCreate, values), origin=origin
        )
    except _REFUSALS as refused:
        return await refused_page(session, refused, _list, request, session, staff, form=values)
    return RedirectResponse(f"/admin/firms/{created.id}?done=created", status_code=303)


@router.get("/{organization_id}")
async def firm(
    request: Request,
    organization_id: uuid.UUID,
    staff: StaffDep,
    session: SessionDep,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    found = await organization_service.get(session, staff.actor, organization_id=organization_id)
    members = await user_service.list(
        session, staff.actor, organization_id=found.id, limit=MEMBERS_SHOWN
    )
    invitations = await invitation_service.list(
        session, staff.actor, organization_id=found.id, limit=MEMBERS_SHOWN
    )
    return render(
        request,
        "people/firm.html",
        {
            "staff": staff,
            "current": "people",
            "tab": "firms",
            "title": found.name,
            "firm": found,
            "members": members,
            "members_shown": MEMBERS_SHOWN,
            "invitations": [InvitationRead.model_validate(i) for i in invitations],
            "roles": list(Role),
            "notice": "The firm was created." if done == "created" else None,
        },
    )


async def _list(
    request: Request,
    session: AsyncSession,
    staff: Staff,
    *,
    error: str | None = None,
    form: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "people/firms.html",
        {
            "staff": staff,
            "current": "people",
            "tab": "firms",
            "title": "Firms",
            "firms": await organization_service.list(session, staff.actor),
            "form": form or {},
            "error": error,
        },
        status_code=status_code,
    )
