"""Invitations into a firm (broker managers) or anywhere (platform administrators)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from api.auth import CurrentActor, OriginDep
from api.deps import SessionDep, StateDep
from api.errors import error_responses
from api.ratelimit import rate_limit
from lending.db import MAX_OFFSET
from lending.errors import (
    Conflict,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from lending.identity.errors import MfaEnrollmentRequired
from lending.identity.invitations import invitation_service
from lending.identity.schemas import InvitationCreate, InvitationCreated, InvitationRead

router = APIRouter(
    prefix="/api/v1/invitations", tags=["invitations"], dependencies=[rate_limit("default")]
)
_AUTH_ERRORS = (NotAuthenticated, MfaEnrollmentRequired, RateLimited)


@router.get(
    "",
    summary="Invitations of your firm (all for platform administrators)",
    responses=error_responses(*_AUTH_ERRORS, PermissionDenied, NotFound),
)
async def list_invitations(
    actor: CurrentActor,
    session: SessionDep,
    organization_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[InvitationRead]:
    found = await invitation_service.list(
        session, actor, organization_id=organization_id, limit=limit, offset=offset
    )
    return [InvitationRead.model_validate(invitation) for invitation in found]


@router.post(
    "",
    summary="Invite someone; the code is in the answer only",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(*_AUTH_ERRORS, PermissionDenied, NotFound, Conflict, InvalidInput),
)
async def create_invitation(
    body: InvitationCreate,
    actor: CurrentActor,
    session: SessionDep,
    state: StateDep,
    origin: OriginDep,
) -> InvitationCreated:
    return await invitation_service.create(
        session, actor, settings=state.settings, data=body, origin=origin
    )


@router.delete(
    "/{invitation_id}",
    summary="Revoke an unused invitation",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(*_AUTH_ERRORS, PermissionDenied, NotFound, Conflict),
)
async def revoke_invitation(
    invitation_id: uuid.UUID, actor: CurrentActor, session: SessionDep, origin: OriginDep
) -> None:
    await invitation_service.revoke(session, actor, invitation_id=invitation_id, origin=origin)
