"""Documents: streamed, sniffed, encrypted uploads; status and extracted fields; downloads for
those who may see the application; review; completeness per application.

Thin adapters over lending.documents.service, the same service (and scopes) the assistant's
tools use; the service audits each change (REST passes the request's origin), whoever calls it.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import StreamingResponse
from pydantic import TypeAdapter

from api.auth import CurrentActor, OriginDep
from api.deps import SessionDep, StateDep
from api.errors import error_responses
from api.multipart import form_events
from api.ratelimit import rate_limit
from lending.documents.schemas import (
    ApplicationDocuments,
    AttachRequest,
    DocumentList,
    DocumentRead,
    RejectRequest,
    TypeCorrection,
)
from lending.documents.service import document_service
from lending.documents.types import DocumentType
from lending.errors import (
    Conflict,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    UnsupportedMediaType,
)
from lending.identity.errors import MfaEnrollmentRequired

router = APIRouter(tags=["documents"], dependencies=[rate_limit("default")])
_AUTH_ERRORS = (NotAuthenticated, MfaEnrollmentRequired, RateLimited, PermissionDenied)
_CHANGE_ERRORS = (*_AUTH_ERRORS, NotFound, InvalidInput, Conflict)
_UUID = TypeAdapter(uuid.UUID)
_TYPE = TypeAdapter(DocumentType)

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "application_id": {
                            "type": "string",
                            "format": "uuid",
                            "description": "The application the document belongs to; leave "
                            "it out to upload first and attach later (chat). Send it before "
                            "the file to be refused before the upload.",
                        },
                        "document_type": {
                            "type": "string",
                            "enum": [t.value for t in DocumentType],
                            "description": "What the uploader says it is (optional).",
                        },
                        "file": {"type": "string", "format": "binary"},
                    },
                }
            }
        },
    }
}


@router.post(
    "/api/v1/documents",
    status_code=status.HTTP_201_CREATED,
    summary="Upload a document (multipart: application_id, file, optional document_type)",
    responses=error_responses(*_CHANGE_ERRORS, PayloadTooLarge, UnsupportedMediaType),
    openapi_extra=_UPLOAD_BODY,
)
async def upload_document(
    request: Request,
    response: Response,
    actor: CurrentActor,
    state: StateDep,
    origin: OriginDep,
) -> DocumentRead:
    """The file streams to encrypted storage as it arrives (never whole in memory, no database
    connection held meanwhile); its type is read from its content. The same file already on the
    application is not stored again: the existing document comes back with `duplicate: true`."""
    assert state.sessionmaker is not None, "lifespan not started"
    document = await document_service.upload(
        state.sessionmaker, actor, form_events(request), settings=state.settings, origin=origin
    )
    if document.duplicate:
        response.status_code = status.HTTP_200_OK
    return document


@router.get(
    "/api/v1/documents",
    summary="An application's documents, or (without application_id) your unattached uploads",
    responses=error_responses(*_AUTH_ERRORS, NotFound),
)
async def list_documents(
    actor: CurrentActor, session: SessionDep, application_id: uuid.UUID | None = None
) -> DocumentList:
    return await document_service.list_documents(session, actor, application_id=application_id)


@router.get(
    "/api/v1/documents/{document_id}",
    summary="A document's status, extracted fields (confidence, span), signals and history",
    responses=error_responses(*_AUTH_ERRORS, NotFound),
)
async def read_document(
    document_id: uuid.UUID, actor: CurrentActor, session: SessionDep
) -> DocumentRead:
    return await document_service.get(session, actor, document_id=document_id)


@router.get(
    "/api/v1/documents/{document_id}/content",
    summary="Download the file (decrypted as it streams)",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "The file."},
        **error_responses(*_AUTH_ERRORS, NotFound),
    },
)
async def download_document(
    document_id: uuid.UUID,
    actor: CurrentActor,
    session: SessionDep,
    state: StateDep,
    origin: OriginDep,
) -> StreamingResponse:
    document, stream = await document_service.download(
        session, actor, document_id=document_id, settings=state.settings, origin=origin
    )
    return StreamingResponse(
        stream,
        media_type=document.media_type,
        headers={
            "Content-Length": str(document.size_bytes),
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(document.filename)}",
            "Cache-Control": "no-store",
        },
    )


@router.post(
    "/api/v1/documents/{document_id}/verify",
    summary="Verify a document (brokers on their clients, platform administrators)",
    responses=error_responses(*_CHANGE_ERRORS),
)
async def verify_document(
    document_id: uuid.UUID, actor: CurrentActor, session: SessionDep, origin: OriginDep
) -> DocumentRead:
    return await document_service.verify(session, actor, document_id=document_id, origin=origin)


@router.post(
    "/api/v1/documents/{document_id}/reject",
    summary="Reject a document with a reason (brokers on their clients, platform administrators)",
    responses=error_responses(*_CHANGE_ERRORS),
)
async def reject_document(
    document_id: uuid.UUID,
    body: RejectRequest,
    actor: CurrentActor,
    session: SessionDep,
    origin: OriginDep,
) -> DocumentRead:
    return await document_service.reject(
        session, actor, document_id=document_id, reason=body.reason, origin=origin
    )


@router.post(
    "/api/v1/documents/{document_id}/type",
    summary="Correct a document's type; extraction runs again",
    responses=error_responses(*_CHANGE_ERRORS),
)
async def correct_document_type(
    document_id: uuid.UUID,
    body: TypeCorrection,
    actor: CurrentActor,
    session: SessionDep,
    origin: OriginDep,
) -> DocumentRead:
    return await document_service.correct_type(
        session, actor, document_id=document_id, document_type=body.document_type, origin=origin
    )


@router.post(
    "/api/v1/documents/{document_id}/attach",
    summary="Attach an unattached upload (e.g. from a chat) to an application",
    responses=error_responses(*_CHANGE_ERRORS),
)
async def attach_document(
    document_id: uuid.UUID,
    body: AttachRequest,
    actor: CurrentActor,
    session: SessionDep,
    state: StateDep,
    origin: OriginDep,
) -> DocumentRead:
    return await document_service.attach(
        session,
        actor,
        document_id=document_id,
        application_id=body.application_id,
        document_type=body.document_type,
        settings=state.settings,
        origin=origin,
    )


@router.get(
    "/api/v1/applications/{application_id}/documents",
    summary="An application's documents and which required ones are still missing",
    responses=error_responses(*_AUTH_ERRORS, NotFound),
)
async def application_documents(
    application_id: uuid.UUID, actor: CurrentActor, session: SessionDep
) -> ApplicationDocuments:
    return await document_service.application_documents(
        session, actor, application_id=application_id
    )
