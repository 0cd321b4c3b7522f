"""The audit log, for platform administrators: events, newest first, and the chain check."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from api.auth import CurrentActor
from api.deps import SessionDep
from api.errors import error_responses
from api.ratelimit import rate_limit
from lending.audit.schemas import AuditEventRead, ChainReport
from lending.audit.service import audit_service
from lending.errors import NotAuthenticated, PermissionDenied, RateLimited
from lending.identity.errors import MfaEnrollmentRequired

router = APIRouter(prefix="/api/v1/audit", tags=["audit"], dependencies=[rate_limit("default")])
_ERRORS = (NotAuthenticated, MfaEnrollmentRequired, PermissionDenied, RateLimited)


@router.get(
    "/events",
    summary="Audit events, newest first (page with before_id)",
    responses=error_responses(*_ERRORS),
)
async def list_audit_events(
    actor: CurrentActor,
    session: SessionDep,
    before_id: int | None = None,
    action: str | None = None,
    actor_user_id: uuid.UUID | None = None,
    organization_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[AuditEventRead]:
    events = await audit_service.list_events(
        session,
        actor,
        before_id=before_id,
        action=action,
        actor_user_id=actor_user_id,
        organization_id=organization_id,
        limit=limit,
    )
    return [AuditEventRead.model_validate(event) for event in events]


@router.get(
    "/verify",
    summary="Walk the hash chain and report the first broken link",
    responses=error_responses(*_ERRORS),
)
async def verify_audit_chain(actor: CurrentActor, session: SessionDep) -> ChainReport:
    return await audit_service.verify(session, actor)
