"""The knowledge base: entries by language and status, uploading a file (a new entry, or a new
version of the entry with its key: checked now, parsed and embedded by the worker's job), an
entry's versions, publishing one (also a rollback) or archiving the entry, and a search preview
with passages and citations - all
calls to the knowledge services (`knowledge.ingest`, `knowledge.entries`, `knowledge.search`;
`knowledge:manage` to manage, `knowledge:read` to search; publishing and archiving audited)."""

from __future__ import annotations

import uuid
from typing import Annotated, get_args

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
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
from knowledge.embeddings import configured_model
from knowledge.entries import knowledge_entry_service
from knowledge.ingest import knowledge_ingest_service
from knowledge.ingestion import SourceFile
from knowledge.language import LANGUAGES, Language
from knowledge.reindex import knowledge_reindex_service
from knowledge.schemas import EntryStatus, IngestOptions
from knowledge.search import knowledge_search_service
from lending.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    UnsupportedMediaType,
)
from lending.identity.scopes import Scope

router = APIRouter(prefix="/knowledge", dependencies=[require_section("knowledge")])

_REFUSALS = (Conflict, InvalidInput, NotFound, PermissionDenied)
_PAGE = 50
_STATUSES: tuple[str, ...] = get_args(EntryStatus)
_DONE = {
    "queued": "The file was received; the worker is parsing and embedding it (its version's "
    "ingest status below says when it is ready).",
    "unchanged": "This file is the same as a version the entry already has: nothing changed.",
    "published": "The version is the one searched now.",
    "archived": "The entry is out of search; publishing one of its versions brings it back.",
}
_REINDEXED = {
    "already_active": "The configured embedding model already serves every search: nothing to do.",
    "queued": "Re-embedding started: the worker embeds every version with the configured model, "
    "and the old vectors serve searches until the new set is complete.",
    "completed": "The configured model's embedding set is active.",
}


@router.get("")
async def entries(
    request: Request,
    staff: StaffDep,
    session: SessionDep,
    language: Annotated[str | None, Query(max_length=10)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    reindex: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    return await _entries(
        request, session, staff, language, status, offset, notice=_REINDEXED.get(reindex or "")
    )


@router.post("")
async def upload(
    request: Request,
    staff: StaffDep,
    session: SessionDep,
    origin: OriginDep,
    file: Annotated[UploadFile, File()],
    key: Annotated[str, Form(max_length=200)] = "",
    title: Annotated[str, Form(max_length=300)] = "",
    language: Annotated[str, Form(max_length=10)] = "",
    change_note: Annotated[str, Form(max_length=2000)] = "",
    publish: Annotated[bool, Form()] = False,
) -> Response:
    """A file becomes a pending version; the worker parses and embeds it (the entry's page
    shows its ingest status)."""
    settings = settings_of(request)
    try:
        options = validated(
            IngestOptions,
            {
                "key": key,
                "title": title,
                "language": language,
                "change_note": change_note,
                "publish": publish,
            },
        )
        data = await file.read(settings.knowledge_max_upload_bytes + 1)
        result = await knowledge_ingest_service.submit(
            session,
            staff.actor,
            source=SourceFile(file.filename or "upload", data),
            options=options,
            settings=settings,
            origin=origin,
        )
    except (*_REFUSALS, PayloadTooLarge, UnsupportedMediaType) as refused:
        return await refused_page(
            session, refused, _entries, request, session, staff, None, None, 0
        )
    return RedirectResponse(
        f"/admin/knowledge/{result.entry_id}?done={result.outcome}", status_code=303
    )


async def _entries(
    request: Request,
    session: AsyncSession,
    staff: Staff,
    language: str | None,
    status: str | None,
    offset: int,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    if status and status not in _STATUSES:
        raise InvalidInput(f"Unknown status: {status}.")
    chosen = _language(language)
    page = await knowledge_entry_service.list_entries(
        session, staff.actor, language=chosen, status=status or None, limit=_PAGE, offset=offset
    )
    may_manage = staff.actor.has(Scope.KNOWLEDGE_MANAGE)
    embedding_sets = (
        await knowledge_reindex_service.embedding_sets(session, staff.actor) if may_manage else []
    )
    following = offset + _PAGE
    return render(
        request,
        "knowledge/list.html",
        {
            "staff": staff,
            "current": "knowledge",
            "title": "Knowledge base",
            "page": page,
            "language": chosen or "",
            "status": status or "",
            "languages": LANGUAGES,
            "statuses": _STATUSES,
            "offset": offset,
            "may_upload": may_manage,
            "embedding_sets": embedding_sets,
            "configured_model": configured_model(settings_of(request)),
            "notice": notice,
            "error": error,
            "next_url": _with_offset(request, following) if following < page.total else None,
            "first_url": _with_offset(request, 0) if offset else None,
        },
        status_code=status_code,
        block="results",
    )


@router.post("/reindex")
async def reindex(
    request: Request, staff: StaffDep, session: SessionDep, origin: OriginDep
) -> Response:
    """Re-embed everything with the configured model (a job; the old set serves meanwhile)."""
    try:
        started = await knowledge_reindex_service.start_reindex(
            session, staff.actor, settings=settings_of(request), origin=origin
        )
    except _REFUSALS as refused:
        return await refused_page(
            session, refused, _entries, request, session, staff, None, None, 0
        )
    return RedirectResponse(f"/admin/knowledge?reindex={started.outcome}", status_code=303)


@router.get("/search")
async def search_preview(
    request: Request,
    staff: StaffDep,
    session: SessionDep,
    query: Annotated[str, Query(max_length=10_000)] = "",
    language: Annotated[str | None, Query(max_length=10)] = None,
    k: Annotated[int, Query(ge=1, le=50)] = 5,
) -> HTMLResponse:
    chosen = _language(language)
    result = None
    if query.strip():
        result = await knowledge_search_service.search(
            session,
            staff.actor,
            query=query,
            k=k,
            language=chosen,
            settings=settings_of(request),
        )
    return render(
        request,
        "knowledge/search.html",
        {
            "staff": staff,
            "current": "knowledge",
            "title": "Search preview",
            "query": query,
            "language": chosen or "",
            "languages": LANGUAGES,
            "k": k,
            "result": result,
        },
        block="passages",
    )


@router.get("/{entry_id}")
async def entry(
    request: Request,
    entry_id: uuid.UUID,
    staff: StaffDep,
    session: SessionDep,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    return await _detail(request, session, staff, entry_id, notice=_DONE.get(done or ""))


@router.post("/{entry_id}/versions/{version}/publish")
async def publish(
    request: Request,
    entry_id: uuid.UUID,
    version: int,
    staff: StaffDep,
    session: SessionDep,
    origin: OriginDep,
) -> Response:
    try:
        await knowledge_entry_service.publish_version(
            session, staff.actor, entry_id=entry_id, version=version, origin=origin
        )
    except _REFUSALS as refused:
        return await refused_page(session, refused, _detail, request, session, staff, entry_id)
    return RedirectResponse(f"/admin/knowledge/{entry_id}?done=published", status_code=303)


@router.post("/{entry_id}/archive")
async def archive(
    entry_id: uuid.UUID, staff: StaffDep, session: SessionDep, origin: OriginDep
) -> Response:
    await knowledge_entry_service.archive_entry(
        session, staff.actor, entry_id=entry_id, origin=origin
    )
    return RedirectResponse(f"/admin/knowledge/{entry_id}?done=archived", status_code=303)


async def _detail(
    request: Request,
    session: AsyncSession,
    staff: Staff,
    entry_id: uuid.UUID,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    found = await knowledge_entry_service.get_entry(session, staff.actor, entry_id=entry_id)
    return render(
        request,
        "knowledge/entry.html",
        {
            "staff": staff,
            "current": "knowledge",
            "title": found.title,
            "entry": found,
            "notice": notice,
            "error": error,
        },
        status_code=status_code,
    )


def _language(value: str | None) -> Language | None:
    """A language chosen from a select: empty means any; anything else must be one we index."""
    if not value:
        return None
    for language in LANGUAGES:
        if value == language:
            return language
    raise InvalidInput(f"Unknown language: {value}.")


def _with_offset(request: Request, offset: int) -> str:
    url = request.url.include_query_params(offset=offset)
    return f"{url.path}?{url.query}"
