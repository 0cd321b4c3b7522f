"""Applications: the list, one application's file, and its decisions (through the service)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse, RedirectResponse, Response

from admin.listing import ListQueryDep, enum_filter
from admin.web import OriginDep, SessionDep, Staff, StaffDep, refused_page, render, require_section
from lending.applications.schemas import ApplicationFilters
from lending.applications.service import application_service
from lending.documents.service import document_service
from lending.errors import Conflict, InvalidInput, PermissionDenied
from lending.lenders.webhook_history import webhook_history_service
from lending.models.applications import ApplicationStatus
from lending.offers.service import offer_service

router = APIRouter(prefix="/applications", dependencies=[require_section("applications")])

# The moves a platform administrator makes from here (a submission and an acceptance are the
# borrower's side's, through their own actions).
DECISIONS = (
    ApplicationStatus.UNDER_REVIEW,
    ApplicationStatus.APPROVED,
    ApplicationStatus.REFERRED,
    ApplicationStatus.DECLINED,
    ApplicationStatus.WITHDRAWN,
    ApplicationStatus.CLOSED,
)
_DONE = {"moved": "The application was moved."}


@router.get("")
async def list_page(
    request: Request,
    staff: StaffDep,
    session: SessionDep,
    query: ListQueryDep,
    status: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    chosen = enum_filter(ApplicationStatus, status, "status")
    filters = ApplicationFilters(statuses=(chosen,) if chosen else (), search=query.q)
    page = await application_service.page_applications(
        session, staff.actor, filters, cursor=query.cursor, limit=query.limit
    )
    return render(
        request,
        "applications/list.html",
        {
            "staff": staff,
            "current": "applications",
            "title": "Applications",
            "page": page,
            "q": query.q or "",
            "status": chosen.value if chosen else "",
            "statuses": list(ApplicationStatus),
            "next_url": query.next_url(request, page.next_cursor),
            "first_url": query.first_url(request),
        },
        block="results",
    )


@router.get("/{application_id}")
async def detail_page(
    request: Request,
    application_id: uuid.UUID,
    staff: StaffDep,
    session: SessionDep,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    return await _detail(request, session, staff, application_id, notice=_DONE.get(done or ""))


@router.post("/{application_id}/transition")
async def transition(
    request: Request,
    application_id: uuid.UUID,
    staff: StaffDep,
    session: SessionDep,
    origin: OriginDep,
    to_status: Annotated[str, Form(max_length=40)],
    reason: Annotated[str, Form(max_length=2000)],
    version: Annotated[int, Form()],
) -> Response:
    try:
        target = enum_filter(ApplicationStatus, to_status, "status")
        if target is None or not reason.strip():
            raise InvalidInput("Choose a new status and say why.")
        await application_service.transition(
            session,
            staff.actor,
            application_id=application_id,
            to_status=target,
            reason=reason.strip(),
            version=version,
            origin=origin,
        )
    except (Conflict, InvalidInput, PermissionDenied) as refused:
        return await refused_page(
            session, refused, _detail, request, session, staff, application_id
        )
    return RedirectResponse(f"/admin/applications/{application_id}?done=moved", status_code=303)


async def _detail(
    request: Request,
    session: AsyncSession,
    staff: Staff,
    application_id: uuid.UUID,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    found = await application_service.get(session, staff.actor, application_id=application_id)
    events = await application_service.events(session, staff.actor, application_id=application_id)
    documents = await document_service.application_documents(
        session, staff.actor, application_id=application_id
    )
    # A draft's offers are priced on reading (a write): shown once it is submitted.
    offers = (
        None
        if found.status is ApplicationStatus.DRAFT
        else await offer_service.get_offers(session, staff.actor, application_id=application_id)
    )
    return render(
        request,
        "applications/detail.html",
        {
            "staff": staff,
            "current": "applications",
            "title": f"Application {found.reference}",
            "app": found,
            "events": events,
            "documents": documents,
            "offers": offers,
            "deliveries": await webhook_history_service.for_application(
                session, staff.actor, application_id=application_id
            ),
            "decisions": [s for s in DECISIONS if s in found.allowed_next_states],
            "notice": notice,
            "error": error,
        },
        status_code=status_code,
    )
