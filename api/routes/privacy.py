"""A person's rights: a copy of their data (a ZIP), and erasure requests with their review."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, status
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from api.auth import CurrentActor, OriginDep
from api.deps import SessionDep, StateDep, StoreDep
from api.errors import error_responses
from api.ratelimit import rate_limit
from lending.errors import Conflict, NotAuthenticated, NotFound, PermissionDenied, RateLimited
from lending.identity.errors import MfaEnrollmentRequired
from lending.models.privacy import ErasureStatus
from lending.privacy.schemas import (
    DataExport,
    ErasureRequestCreate,
    ErasureRequestRead,
    ErasureReview,
)
from lending.privacy.service import privacy_service

router = APIRouter(prefix="/api/v1/privacy", tags=["privacy"], dependencies=[rate_limit("default")])
_AUTH = (NotAuthenticated, MfaEnrollmentRequired, PermissionDenied, RateLimited)
_ZIP: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/zip": {}}, "description": "A ZIP of JSON and files."}
}


def _send(export: DataExport) -> FileResponse:
    return FileResponse(
        export.path,
        media_type="application/zip",
        filename=export.filename,
        headers={"Cache-Control": "no-store"},
        background=BackgroundTask(export.path.unlink, missing_ok=True),
    )


@router.get(
    "/export",
    summary="Download everything held about you (a ZIP of JSON and your original files)",
    response_class=FileResponse,
    responses={**_ZIP, **error_responses(*_AUTH)},
)
async def export_my_data(
    actor: CurrentActor, session: SessionDep, state: StateDep, origin: OriginDep
) -> FileResponse:
    return _send(
        await privacy_service.export(session, actor, settings=state.settings, origin=origin)
    )


@router.get(
    "/export/{user_id}",
    summary="Staff: download everything held about a person (audited)",
    response_class=FileResponse,
    responses={**_ZIP, **error_responses(*_AUTH, NotFound)},
)
async def export_person_data(
    user_id: uuid.UUID, actor: CurrentActor, session: SessionDep, state: StateDep, origin: OriginDep
) -> FileResponse:
    return _send(
        await privacy_service.export(
            session, actor, settings=state.settings, user_id=user_id, origin=origin
        )
    )


@router.post(
    "/erasure-requests",
    status_code=status.HTTP_201_CREATED,
    summary="Ask for your data (or, staff, a person's) to be erased; an administrator reviews it",
    responses=error_responses(*_AUTH, NotFound, Conflict),
)
async def request_erasure(
    body: ErasureRequestCreate, actor: CurrentActor, session: SessionDep, origin: OriginDep
) -> ErasureRequestRead:
    request = await privacy_service.request_erasure(session, actor, data=body, origin=origin)
    return ErasureRequestRead.model_validate(request)


@router.get(
    "/erasure-requests",
    summary="Erasure requests: all of them for staff, your own otherwise",
    responses=error_responses(*_AUTH),
)
async def list_erasure_requests(
    actor: CurrentActor, session: SessionDep, status: ErasureStatus | None = None
) -> list[ErasureRequestRead]:
    rows = await privacy_service.list_requests(session, actor, status=status)
    return [ErasureRequestRead.model_validate(row) for row in rows]


@router.post(
    "/erasure-requests/{request_id}/review",
    summary="Approve (the erasure then runs) or reject a request; never one you asked for",
    responses=error_responses(*_AUTH, NotFound, Conflict),
)
async def review_erasure_request(
    request_id: uuid.UUID,
    body: ErasureReview,
    actor: CurrentActor,
    session: SessionDep,
    state: StateDep,
    store: StoreDep,
    origin: OriginDep,
) -> ErasureRequestRead:
    request = await privacy_service.review(
        session,
        actor,
        request_id=request_id,
        data=body,
        settings=state.settings,
        store=store,
        origin=origin,
    )
    return ErasureRequestRead.model_validate(request)
