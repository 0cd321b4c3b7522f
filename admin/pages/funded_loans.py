"""Funded loans and their servicing events: the list, a loan's events, and recording one
(a balance, arrears, arrears cured, a discharge or a refinance) through the servicing service,
which queues the clawback of a closure in the same transaction."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse, RedirectResponse, Response

from admin.forms import validated
from admin.listing import ListQueryDep, enum_filter
from admin.web import (
    OriginDep,
    SessionDep,
    Staff,
    StaffDep,
    refused_page,
    render,
    require_section,
)
from lending.commissions.schemas import ServicingEventCreate
from lending.commissions.servicing import servicing_service
from lending.errors import Conflict, InvalidInput, PermissionDenied
from lending.models.commissions import LoanStatus, ServicingEventKind

router = APIRouter(prefix="/commissions/loans", dependencies=[require_section("commissions")])

_REFUSALS = (Conflict, InvalidInput, PermissionDenied)


@router.get("")
async def loans(
    request: Request,
    staff: StaffDep,
    session: SessionDep,
    query: ListQueryDep,
    status: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    chosen = enum_filter(LoanStatus, status, "status")
    page = await servicing_service.page_loans(
        session,
        staff.actor,
        status=chosen,
        reference=query.q,
        cursor=query.cursor,
        limit=query.limit,
    )
    return render(
        request,
        "commissions/loans.html",
        {
            "staff": staff,
            "current": "commissions",
            "tab": "loans",
            "title": "Funded loans",
            "page": page,
            "q": query.q or "",
            "status": chosen.value if chosen else "",
            "statuses": list(LoanStatus),
            "next_url": query.next_url(request, page.next_cursor),
            "first_url": query.first_url(request),
        },
        block="results",
    )


@router.get("/{loan_id}")
async def loan(
    request: Request,
    loan_id: uuid.UUID,
    staff: StaffDep,
    session: SessionDep,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    notice = "The servicing event was recorded." if done == "recorded" else None
    return await _detail(request, session, staff, loan_id, notice=notice)


@router.post("/{loan_id}/events")
async def record_event(
    request: Request,
    loan_id: uuid.UUID,
    staff: StaffDep,
    session: SessionDep,
    origin: OriginDep,
    kind: Annotated[str, Form(max_length=20)],
    occurred_on: Annotated[str, Form(max_length=20)],
    outstanding_balance: Annotated[str, Form(max_length=20)] = "",
    offset_balance: Annotated[str, Form(max_length=20)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    values = {
        "kind": kind,
        "occurred_on": occurred_on,
        "outstanding_balance": outstanding_balance,
        "offset_balance": offset_balance,
        "note": note,
    }
    try:
        await servicing_service.record_servicing_event(
            session,
            staff.actor,
            loan_id=loan_id,
            data=validated(ServicingEventCreate, values),
            origin=origin,
        )
    except _REFUSALS as refused:
        return await refused_page(
            session, refused, _detail, request, session, staff, loan_id, form=values
        )
    return RedirectResponse(f"/admin/commissions/loans/{loan_id}?done=recorded", 303)


async def _detail(
    request: Request,
    session: AsyncSession,
    staff: Staff,
    loan_id: uuid.UUID,
    *,
    notice: str | None = None,
    error: str | None = None,
    form: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    found = await servicing_service.get_loan(session, staff.actor, loan_id=loan_id)
    return render(
        request,
        "commissions/loan.html",
        {
            "staff": staff,
            "current": "commissions",
            "tab": "loans",
            "title": f"Loan {found.loan.reference}",
            "detail": found,
            "kinds": list(ServicingEventKind),
            "form": form or {"kind": "", "occurred_on": date.today().isoformat(), "note": ""},
            "notice": notice,
            "error": error,
        },
        status_code=status_code,
    )
