"""Knowledge base: search for everyone signed in; entries and versions for knowledge managers."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile, status
from pydantic import ValidationError

from api.auth import CurrentActor, OriginDep
from api.deps import SessionDep, StateDep
from api.errors import error_responses
from api.ratelimit import rate_limit
from knowledge.entries import knowledge_entry_service
from knowledge.ingest import knowledge_ingest_service
from knowledge.ingestion import SourceFile
from knowledge.language import Language
from knowledge.reindex import knowledge_reindex_service
from knowledge.schemas import (
    Category,
    EmbeddingSetRead,
    EntryDetail,
    EntryPage,
    EntryStatus,
    EntryUpdate,
    IngestOptions,
    IngestResult,
    ReindexResult,
    SearchResult,
    Slug,
)
from knowledge.search import knowledge_search_service
from lending.db import MAX_OFFSET
from lending.errors import (
    Conflict,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    ServiceUnavailable,
    UnsupportedMediaType,
)
from lending.identity.errors import MfaEnrollmentRequired

router = APIRouter(
    prefix="/api/v1/knowledge", tags=["knowledge"], dependencies=[rate_limit("default")]
)
_AUTH_ERRORS = (NotAuthenticated, MfaEnrollmentRequired, RateLimited, PermissionDenied)
_UPLOAD_ERRORS = (InvalidInput, PayloadTooLarge, UnsupportedMediaType)


async def _read(upload: UploadFile, limit: int) -> SourceFile:
    # One byte past the limit is enough to know it is too large, without reading it all.
    data = await upload.read(limit + 1)
    return SourceFile(upload.filename or "upload", data)


def _options(**fields: object) -> IngestOptions:
    """Form fields as IngestOptions; a bad value is the caller's error (422), not ours."""
    try:
        return IngestOptions.model_validate(fields)
    except ValidationError as exc:
        detail = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
        raise InvalidInput(detail) from None


@router.get(
    "/search",
    summary="Passages of the knowledge base answering a question, with citations",
    responses=error_responses(*_AUTH_ERRORS, InvalidInput, ServiceUnavailable),
)
async def search(
    actor: CurrentActor,
    session: SessionDep,
    state: StateDep,
    q: Annotated[str, Query(min_length=1, max_length=10_000, description="The question.")],
    k: Annotated[int, Query(ge=1, le=50)] = 5,
    lang: Annotated[Language | None, Query(description="Only entries in this language.")] = None,
    category: Annotated[Category | None, Query()] = None,
    lender: Annotated[Slug | None, Query()] = None,
    product: Annotated[Slug | None, Query()] = None,
) -> SearchResult:
    return await knowledge_search_service.search(
        session,
        actor,
        query=q,
        k=k,
        language=lang,
        category=category,
        lender=lender,
        product=product,
        settings=state.settings,
    )


@router.get(
    "/entries",
    summary="Knowledge entries (knowledge managers)",
    responses=error_responses(*_AUTH_ERRORS),
)
async def list_entries(
    actor: CurrentActor,
    session: SessionDep,
    lang: Language | None = None,
    category: Category | None = None,
    entry_status: Annotated[EntryStatus | None, Query(alias="status")] = None,
    lender: Slug | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> EntryPage:
    return await knowledge_entry_service.list_entries(
        session,
        actor,
        language=lang,
        category=category,
        status=entry_status,
        lender=lender,
        limit=limit,
        offset=offset,
    )


@router.post(
    "/entries",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Upload a file as a new entry, or a new version of the entry with its key",
    description=(
        "Markdown, text, HTML, PDF or DOCX. The file is checked now and ingested by a background "
        "job; read the entry to follow the version's `ingest_status`. An unchanged file "
        "(same content as a version the entry has) changes nothing."
    ),
    responses=error_responses(*_AUTH_ERRORS, *_UPLOAD_ERRORS),
)
async def upload_entry(
    actor: CurrentActor,
    session: SessionDep,
    state: StateDep,
    origin: OriginDep,
    file: Annotated[UploadFile, File()],
    key: Annotated[str | None, Form()] = None,
    title: Annotated[str | None, Form()] = None,
    category: Annotated[str | None, Form()] = None,
    language: Annotated[Language | None, Form()] = None,
    lender: Annotated[str | None, Form()] = None,
    product: Annotated[str | None, Form()] = None,
    tags: Annotated[str | None, Form(description="Comma-separated.")] = None,
    change_note: Annotated[str | None, Form()] = None,
    publish: Annotated[bool, Form()] = True,
) -> IngestResult:
    options = _options(
        key=key,
        title=title,
        category=category,
        language=language,
        lender=lender,
        product=product,
        tags=[t for t in tags.split(",") if t.strip()] if tags else None,
        change_note=change_note,
        publish=publish,
    )
    source = await _read(file, state.settings.knowledge_max_upload_bytes)
    return await knowledge_ingest_service.submit(
        session, actor, source=source, options=options, settings=state.settings, origin=origin
    )


@router.get(
    "/entries/{entry_id}",
    summary="An entry with all its versions",
    responses=error_responses(*_AUTH_ERRORS, NotFound),
)
async def read_entry(entry_id: uuid.UUID, actor: CurrentActor, session: SessionDep) -> EntryDetail:
    return await knowledge_entry_service.get_entry(session, actor, entry_id=entry_id)


@router.patch(
    "/entries/{entry_id}",
    summary="Change an entry's title, category, lender, product or tags",
    responses=error_responses(*_AUTH_ERRORS, NotFound, InvalidInput),
)
async def update_entry(
    entry_id: uuid.UUID,
    body: EntryUpdate,
    actor: CurrentActor,
    session: SessionDep,
    origin: OriginDep,
) -> EntryDetail:
    return await knowledge_entry_service.update_entry(
        session, actor, entry_id=entry_id, changes=body, origin=origin
    )


@router.post(
    "/entries/{entry_id}/versions",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Upload a new version of an entry",
    responses=error_responses(*_AUTH_ERRORS, NotFound, *_UPLOAD_ERRORS),
)
async def upload_version(
    entry_id: uuid.UUID,
    actor: CurrentActor,
    session: SessionDep,
    state: StateDep,
    origin: OriginDep,
    file: Annotated[UploadFile, File()],
    change_note: Annotated[str | None, Form()] = None,
    publish: Annotated[bool, Form()] = True,
) -> IngestResult:
    source = await _read(file, state.settings.knowledge_max_upload_bytes)
    return await knowledge_ingest_service.submit(
        session,
        actor,
        source=source,
        options=_options(change_note=change_note, publish=publish),
        entry_id=entry_id,
        settings=state.settings,
        origin=origin,
    )


@router.post(
    "/entries/{entry_id}/versions/{version}/publish",
    summary="Make a version the one searched (also rolls back to an earlier version)",
    responses=error_responses(*_AUTH_ERRORS, NotFound, Conflict),
)
async def publish_version(
    entry_id: uuid.UUID, version: int, actor: CurrentActor, session: SessionDep, origin: OriginDep
) -> EntryDetail:
    return await knowledge_entry_service.publish_version(
        session, actor, entry_id=entry_id, version=version, origin=origin
    )


@router.post(
    "/entries/{entry_id}/archive",
    summary="Take an entry out of search",
    responses=error_responses(*_AUTH_ERRORS, NotFound),
)
async def archive_entry(
    entry_id: uuid.UUID, actor: CurrentActor, session: SessionDep, origin: OriginDep
) -> EntryDetail:
    return await knowledge_entry_service.archive_entry(
        session, actor, entry_id=entry_id, origin=origin
    )


@router.get(
    "/embedding-sets",
    summary="Embedding models: the active one, one being built, retired ones",
    responses=error_responses(*_AUTH_ERRORS),
)
async def embedding_sets(actor: CurrentActor, session: SessionDep) -> list[EmbeddingSetRead]:
    return await knowledge_reindex_service.embedding_sets(session, actor)


@router.post(
    "/reindex",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Re-embed everything with the configured model, in the background",
    description="Searches keep using the current vectors until the new set is complete.",
    responses=error_responses(*_AUTH_ERRORS, InvalidInput),
)
async def reindex(
    actor: CurrentActor, session: SessionDep, state: StateDep, origin: OriginDep
) -> ReindexResult:
    return await knowledge_reindex_service.start_reindex(
        session, actor, settings=state.settings, origin=origin
    )
