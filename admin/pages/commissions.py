"""Payout batches with maker-checker: draft, approve (another admin), export, paid or failed,
and each payee's PDF statement of an exported batch.

Every step is the commission services', so the maker-checker rule, the state checks and the audit
rows are the REST API's own."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from pydantic import ValidationError
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
)
from lending.commissions.payout_batches import payout_batch_service
from lending.commissions.schemas import BatchCreate
from lending.errors import Conflict, InvalidInput, PermissionDenied
from lending.models.commissions import BatchStatus

router = APIRouter(prefix="/commissions", dependencies=[require_section("commissions")])

_REFUSALS = (Conflict, InvalidInput, PermissionDenied)
_DONE = {
    "created": "The batch was drafted. Another administrator must approve it.",
    "approved": "The batch was approved. Export it for the bank run.",
    "paid": "The batch was marked paid.",
    "failed": "The batch was marked failed; its entries go back to the next batch.",
}


@router.get("/batches")
async def batches(
    request: Request,
    staff: StaffDep,
    session: SessionDep,
    query: ListQueryDep,
    status: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    return await _list(request, session, staff, query.cursor, query.limit, status)


@router.post("/batches")
async def create_batch(
    request: Request,
    staff: StaffDep,
    session: SessionDep,
    origin: OriginDep,
    cutoff_on: Annotated[str, Form(max_length=20)],
    currency: Annotated[str, Form(max_length=3)] = "USD",
    minimum_amount: Annotated[str, Form(max_length=20)] = "50.00",
) -> Response:
    try:
        data = _batch_create(cutoff_on, currency, minimum_amount)
        created = await payout_batch_service.create_batch(
            session, staff.actor, data=data, origin=origin
        )
    except _REFUSALS as refused:
        return await refused_page(session, refused, _list, request, session, staff, None, 50, None)
    return RedirectResponse(
        f"/admin/commissions/batches/{created.id}?done=created", status_code=303
    )


@router.get("/batches/{batch_id}")
async def batch(
    request: Request,
    batch_id: uuid.UUID,
    staff: StaffDep,
    session: SessionDep,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    return await _detail(request, session, staff, batch_id, notice=_DONE.get(done or ""))


@router.post("/batches/{batch_id}/approve")
async def approve(
    request: Request, batch_id: uuid.UUID, staff: StaffDep, session: SessionDep, origin: OriginDep
) -> Response:
    try:
        await payout_batch_service.approve_batch(
            session, staff.actor, batch_id=batch_id, origin=origin
        )
    except _REFUSALS as refused:
        return await refused_page(session, refused, _detail, request, session, staff, batch_id)
    return RedirectResponse(f"/admin/commissions/batches/{batch_id}?done=approved", 303)


@router.post("/batches/{batch_id}/export")
async def export(
    request: Request, batch_id: uuid.UUID, staff: StaffDep, session: SessionDep, origin: OriginDep
) -> Response:
    try:
        body = await payout_batch_service.export_csv(
            session, staff.actor, batch_id=batch_id, origin=origin
        )
    except _REFUSALS as refused:
        return await refused_page(session, refused, _detail, request, session, staff, batch_id)
    return Response(
        body,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="payout-{batch_id}.csv"'},
    )


@router.get("/batches/{batch_id}/statements/{payee_id}")
async def payee_statement(
    request: Request,
    batch_id: uuid.UUID,
    payee_id: uuid.UUID,
    staff: StaffDep,
    session: SessionDep,
) -> Response:
    """One payee's PDF statement of an exported or paid batch (a refusal is the batch's page
    with the reason, as for the other steps)."""
    try:
        pdf = await payout_batch_service.statement_pdf(
            session, staff.actor, batch_id=batch_id, payee_id=payee_id
        )
    except _REFUSALS as refused:
        return await refused_page(session, refused, _detail, request, session, staff, batch_id)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="statement-{batch_id}-{payee_id}.pdf"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/batches/{batch_id}/paid")
async def paid(
    request: Request,
    batch_id: uuid.UUID,
    staff: StaffDep,
    session: SessionDep,
    origin: OriginDep,
    reference: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    try:
        if not reference.strip():
            raise InvalidInput("Give the bank's payment reference.")
        await payout_batch_service.mark_paid(
            session, staff.actor, batch_id=batch_id, reference=reference.strip(), origin=origin
        )
    except _REFUSALS as refused:
        return await refused_page(session, refused, _detail, request, session, staff, batch_id)
    return RedirectResponse(f"/admin/commissions/batches/{batch_id}?done=paid", 303)


@router.post("/batches/{batch_id}/failed")
async def failed(
    request: Request,
    batch_id: uuid.UUID,
    staff: StaffDep,
    session: SessionDep,
    origin: OriginDep,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    try:
        if not reason.strip():
            raise InvalidInput("Say why the payment failed.")
        await payout_batch_service.mark_failed(
            session, staff.actor, batch_id=batch_id, reason=reason.strip(), origin=origin
        )
    except _REFUSALS as refused:
        return await refused_page(session, refused, _detail, request, session, staff, batch_id)
    return RedirectResponse(f"/admin/commissions/batches/{batch_id}?done=failed", 303)


def _batch_create(cutoff_on: str, currency: str, minimum_amount: str) -> BatchCreate:
    try:
        return BatchCreate(
            cutoff_on=date.fromisoformat(cutoff_on),
            currency=currency.strip().upper(),
            minimum_amount=Decimal(minimum_amount.strip()),
        )
    except (ValueError, InvalidOperation, ValidationError):
        raise InvalidInput(
            "Give a cut-off date (YYYY-MM-DD), a three-letter currency and a minimum amount."
        ) from None


async def _list(
    request: Request,
    session: AsyncSession,
    staff: Staff,
    cursor: str | None,
    limit: int,
    status: str | None,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    chosen = enum_filter(BatchStatus, status, "status")
    page = await payout_batch_service.list_batches(
        session, staff.actor, status=chosen, cursor=cursor, limit=limit
    )
    query_url = (
        request.url.include_query_params(cursor=page.next_cursor) if page.next_cursor else None
    )
    return render(
        request,
        "commissions/batches.html",
        {
            "staff": staff,
            "current": "commissions",
            "tab": "batches",
            "title": "Payout batches",
            "page": page,
            "status": chosen.value if chosen else "",
            "statuses": list(BatchStatus),
            "today": date.today().isoformat(),
            "error": error,
            "next_url": f"{query_url.path}?{query_url.query}" if query_url else None,
            "first_url": "/admin/commissions/batches" if cursor else None,
        },
        status_code=status_code,
        block="results",
    )


async def _detail(
    request: Request,
    session: AsyncSession,
    staff: Staff,
    batch_id: uuid.UUID,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    found = await payout_batch_service.get_batch(session, staff.actor, batch_id=batch_id)
    return render(
        request,
        "commissions/batch.html",
        {
            "staff": staff,
            "current": "commissions",
            "tab": "batches",
            "title": "Payout batch",
            "batch": found,
            "is_maker": found.created_by_user_id == staff.actor.user_id,
            "notice": notice,
            "error": error,
        },
        status_code=status_code,
    )
