"""Documents: the review queue, one document beside its extracted fields (the file itself
rendered by the browser from an authorised, never-cached route), and verifying or rejecting
it (through the service)."""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from admin.listing import ListQuery, ListQueryDep
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
from lending.documents.service import document_service
from lending.errors import Conflict, InvalidInput, PermissionDenied

router = APIRouter(prefix="/documents", dependencies=[require_section("documents")])

# What a browser may render inline: PDFs (its own viewer) and raster images. Anything else
# (SVG can carry script, office files are not viewable) is a download.
VIEWABLE = frozenset({"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp"})
# The file's own page may only be framed by the back office and may run nothing.
_CONTENT_HEADERS = {
    "Cache-Control": "no-store, private",
    "Pragma": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; frame-ancestors 'self'",
    "Referrer-Policy": "no-referrer",
}

_DONE = {"verified": "The document was verified.", "rejected": "The document was rejected."}


@router.get("")
async def queue(
    request: Request,
    staff: StaffDep,
    session: SessionDep,
    query: ListQueryDep,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    return await _queue(request, session, staff, query, notice=_DONE.get(done or ""))


@router.get("/{document_id}")
async def detail(
    request: Request, document_id: uuid.UUID, staff: StaffDep, session: SessionDep
) -> HTMLResponse:
    return await _detail(request, session, staff, document_id)


@router.get("/{document_id}/content")
async def content(
    request: Request,
    document_id: uuid.UUID,
    staff: StaffDep,
    session: SessionDep,
    origin: OriginDep,
) -> StreamingResponse:
    """The file, decrypted on the server as it streams (the service checks the reader and
    audits the read); shown inline when a browser can render it safely, never cached."""
    document, stream = await document_service.download(
        session, staff.actor, document_id=document_id, settings=settings_of(request), origin=origin
    )
    disposition = "inline" if document.media_type in VIEWABLE else "attachment"
    return StreamingResponse(
        stream,
        media_type=document.media_type,
        headers={
            **_CONTENT_HEADERS,
            "Content-Length": str(document.size_bytes),
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(document.filename)}",
        },
    )


@router.post("/{document_id}/verify")
async def verify(
    request: Request,
    document_id: uuid.UUID,
    staff: StaffDep,
    session: SessionDep,
    origin: OriginDep,
) -> Response:
    try:
        await document_service.verify(session, staff.actor, document_id=document_id, origin=origin)
    except (Conflict, InvalidInput, PermissionDenied) as refused:
        return await refused_page(session, refused, _detail, request, session, staff, document_id)
    return RedirectResponse("/admin/documents?done=verified", status_code=303)


@router.post("/{document_id}/reject")
async def reject(
    request: Request,
    document_id: uuid.UUID,
    staff: StaffDep,
    session: SessionDep,
    origin: OriginDep,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    try:
        if not reason.strip():
            raise InvalidInput("Say why the document is rejected: the borrower sees the reason.")
        await document_service.reject(
            session, staff.actor, document_id=document_id, reason=reason.strip(), origin=origin
        )
    except (Conflict, InvalidInput, PermissionDenied) as refused:
        return await refused_page(session, refused, _detail, request, session, staff, document_id)
    return RedirectResponse("/admin/documents?done=rejected", status_code=303)


async def _queue(
    request: Request,
    session: AsyncSession,
    staff: Staff,
    query: ListQuery,
    *,
    notice: str | None = None,
) -> HTMLResponse:
    page = await document_service.review_queue(
        session, staff.actor, cursor=query.cursor, limit=query.limit
    )
    return render(
        request,
        "documents/queue.html",
        {
            "staff": staff,
            "current": "documents",
            "title": "Documents to review",
            "page": page,
            "notice": notice,
            "next_url": query.next_url(request, page.next_cursor),
            "first_url": query.first_url(request),
        },
    )


async def _detail(
    request: Request,
    session: AsyncSession,
    staff: Staff,
    document_id: uuid.UUID,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    document = await document_service.get(session, staff.actor, document_id=document_id)
    return render(
        request,
        "documents/detail.html",
        {
            "staff": staff,
            "current": "documents",
            "title": f"Document {document.filename}",
            "doc": document,
            "viewable": document.media_type in VIEWABLE,
            "error": error,
        },
        status_code=status_code,
    )
