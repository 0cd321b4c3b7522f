"""Lender statement reconciliation: import a lender's commission statement (CSV upload), see
each line matched against the ledger with its mismatch, and resolve a line with a reason
(the figures are never edited). All of it is ReconciliationService's, as for the REST API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse, RedirectResponse, Response

from admin.forms import validated
from admin.listing import PAGE_SIZE, ListQuery, ListQueryDep, enum_filter
from admin.web import (
    OriginDep,
    SessionDep,
    Staff,
    StaffDep,
    refused_page,
    render,
    require_section,
)
from lending.commissions.reconciliation import reconciliation_service
from lending.commissions.schemas import LineResolution, LineResolve, StatementImport
from lending.errors import Conflict, InvalidInput, PermissionDenied
from lending.lenders.catalog_service import catalog_service
from lending.lenders.schemas import CatalogLender
from lending.models.commissions import LineStatus

router = APIRouter(prefix="/commissions/statements", dependencies=[require_section("commissions")])

_REFUSALS = (Conflict, InvalidInput, PermissionDenied)
# StatementImport's own limit on the CSV text; one byte more tells the file is too big.
MAX_STATEMENT_BYTES = 5_000_000
_DONE = {
    "imported": "The statement was imported and reconciled against the ledger.",
    "resolved": "The line was resolved; its reason is on the line and in the audit log.",
}


@router.get("")
async def statements(
    request: Request,
    staff: StaffDep,
    session: SessionDep,
    query: ListQueryDep,
    lender: Annotated[uuid.UUID | None, Query()] = None,
) -> HTMLResponse:
    return await _list(request, session, staff, query.cursor, query.limit, lender)


@router.post("")
async def import_statement(
    request: Request,
    staff: StaffDep,
    session: SessionDep,
    origin: OriginDep,
    lender_id: Annotated[str, Form(max_length=40)],
    period_start: Annotated[str, Form(max_length=20)],
    period_end: Annotated[str, Form(max_length=20)],
    statement: Annotated[UploadFile, File()],
    currency: Annotated[str, Form(max_length=3)] = "USD",
) -> Response:
    form = {"lender_id": lender_id, "period_start": period_start, "period_end": period_end}
    try:
        raw = await statement.read(MAX_STATEMENT_BYTES + 1)
        if len(raw) > MAX_STATEMENT_BYTES:
            raise InvalidInput(f"The statement is larger than {MAX_STATEMENT_BYTES:,} bytes.")
        try:
            csv_text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput("The statement is not a UTF-8 CSV file.") from None
        data = validated(
            StatementImport,
            {
                **form,
                "currency": currency.strip().upper(),
                "filename": (statement.filename or "")[:200],
                "csv_text": csv_text,
            },
        )
        imported = await reconciliation_service.import_statement(
            session, staff.actor, data=data, origin=origin
        )
    except _REFUSALS as refused:
        return await refused_page(
            session, refused, _list, request, session, staff, None, 50, None, form=form
        )
    return RedirectResponse(f"/admin/commissions/statements/{imported.id}?done=imported", 303)


@router.get("/{statement_id}")
async def statement_detail(
    request: Request,
    statement_id: uuid.UUID,
    staff: StaffDep,
    session: SessionDep,
    query: ListQueryDep,
    status: Annotated[str | None, Query(max_length=20)] = None,
    resolution: Annotated[str | None, Query(max_length=20)] = None,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    return await _detail(
        request,
        session,
        staff,
        statement_id,
        _LineFilters(status, resolution, query.cursor, query.limit),
        notice=_DONE.get(done or ""),
    )


@router.post("/{statement_id}/lines/{line_id}/resolve")
async def resolve(
    request: Request,
    statement_id: uuid.UUID,
    line_id: int,
    staff: StaffDep,
    session: SessionDep,
    origin: OriginDep,
    reason: Annotated[str, Form(max_length=2000)] = "",
    status: Annotated[str, Form(max_length=20)] = "",
    resolution: Annotated[str, Form(max_length=20)] = "",
    cursor: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    # The page the line was resolved from: the same filters and page afterwards.
    shown = _LineFilters(status or None, resolution or None, cursor or None, PAGE_SIZE)
    try:
        await reconciliation_service.resolve(
            session,
            staff.actor,
            statement_id=statement_id,
            line_id=line_id,
            data=validated(LineResolve, {"reason": reason}),
            origin=origin,
        )
    except _REFUSALS as refused:
        return await refused_page(
            session, refused, _detail, request, session, staff, statement_id, shown
        )
    back = urlencode({**shown.params(), "done": "resolved"})
    return RedirectResponse(f"/admin/commissions/statements/{statement_id}?{back}", 303)


@dataclass(frozen=True)
class _LineFilters:
    """What the statement's page shows: an outcome, open or resolved lines, and which page."""

    status: str | None
    resolution: str | None
    cursor: str | None
    limit: int

    def params(self) -> dict[str, str]:
        """The filters and page as query parameters (the empty ones left out)."""
        values = {"status": self.status, "resolution": self.resolution, "cursor": self.cursor}
        return {name: value for name, value in values.items() if value}


def lender_names(lenders: list[CatalogLender]) -> dict[uuid.UUID, str]:
    return {
        lender.id: lender.in_effect.name if lender.in_effect else lender.slug for lender in lenders
    }


async def _list(
    request: Request,
    session: AsyncSession,
    staff: Staff,
    cursor: str | None,
    limit: int,
    lender_id: uuid.UUID | None,
    *,
    error: str | None = None,
    form: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    page = await reconciliation_service.page_statements(
        session, staff.actor, lender_id=lender_id, cursor=cursor, limit=limit
    )
    names = lender_names(await catalog_service.list_lenders(session, staff.actor))
    query = ListQuery(q=None, cursor=cursor, limit=limit)
    return render(
        request,
        "commissions/statements.html",
        {
            "staff": staff,
            "current": "commissions",
            "tab": "statements",
            "title": "Lender statement reconciliation",
            "page": page,
            "lenders": names,
            "lender": str(lender_id) if lender_id else "",
            "form": form or {},
            "error": error,
            # After a refused form the address is the form's (a POST): no paging link then.
            "next_url": (
                query.next_url(request, page.next_cursor) if request.method == "GET" else None
            ),
            "first_url": query.first_url(request),
        },
        status_code=status_code,
        block="results",
    )


async def _detail(
    request: Request,
    session: AsyncSession,
    staff: Staff,
    statement_id: uuid.UUID,
    shown: _LineFilters,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    chosen = enum_filter(LineStatus, shown.status, "outcome")
    resolution = enum_filter(LineResolution, shown.resolution, "resolution")
    found = await reconciliation_service.overview(session, staff.actor, statement_id=statement_id)
    page = await reconciliation_service.page_lines(
        session,
        staff.actor,
        statement_id=statement_id,
        status=chosen,
        resolution=resolution,
        cursor=shown.cursor,
        limit=shown.limit,
    )
    names = lender_names(await catalog_service.list_lenders(session, staff.actor))
    query = ListQuery(q=None, cursor=shown.cursor, limit=shown.limit)
    return render(
        request,
        "commissions/statement.html",
        {
            "staff": staff,
            "current": "commissions",
            "tab": "statements",
            "title": "Lender statement",
            "statement": found,
            "lender_name": names.get(found.lender_id, str(found.lender_id)),
            "page": page,
            "status": chosen.value if chosen else "",
            "statuses": list(LineStatus),
            "resolution": resolution.value if resolution else "",
            "resolutions": list(LineResolution),
            "cursor": shown.cursor or "",
            "notice": notice,
            "error": error,
            # After a refused form the address is the form's (a POST): no paging link then.
            "next_url": (
                query.next_url(request, page.next_cursor) if request.method == "GET" else None
            ),
            "first_url": query.first_url(request) if request.method == "GET" else None,
        },
        status_code=status_code,
        block="results",
    )
