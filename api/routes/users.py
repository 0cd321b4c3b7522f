"""Users of your firm (broker managers) or of every organization (platform administrators)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from api.auth import CurrentActor, OriginDep
from api.deps import SessionDep, StoreDep
from api.errors import error_responses
from api.ratelimit import rate_limit
from lending.db import MAX_OFFSET
from lending.errors import InvalidInput, NotAuthenticated, NotFound, PermissionDenied, RateLimited
from lending.identity.errors import MfaEnrollmentRequired
from lending.identity.schemas import UserRead, UserUpdate
from lending.identity.sign_in import sign_in_service
from lending.identity.users import user_service
from lending.models.identity import Role

router = APIRouter(prefix="/api/v1/users", tags=["users"], dependencies=[rate_limit("default")])
_AUTH_ERRORS = (NotAuthenticated, MfaEnrollmentRequired, RateLimited)


@router.get(
    "",
    summary="Users you manage",
    responses=error_responses(*_AUTH_ERRORS, PermissionDenied, NotFound),
)
async def list_users(
    actor: CurrentActor,
    session: SessionDep,
    organization_id: uuid.UUID | None = None,
    role: Role | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[UserRead]:
    found = await user_service.list(
        session, actor, organization_id=organization_id, role=role, limit=limit, offset=offset
    )
    return [UserRead.model_validate(user) for user in found]


@router.get(
    "/{user_id}",
    summary="One user you manage",
    responses=error_responses(*_AUTH_ERRORS, PermissionDenied, NotFound),
)
async def read_user(user_id: uuid.UUID, actor: CurrentActor, session: SessionDep) -> UserRead:
    return UserRead.model_validate(await user_service.get(session, actor, user_id=user_id))


@router.patch(
    "/{user_id}",
    summary="Rename, deactivate or reactivate a user; grant a role (platform administrators)",
    responses=error_responses(*_AUTH_ERRORS, PermissionDenied, NotFound, InvalidInput),
)
async def update_user(
    user_id: uuid.UUID,
    body: UserUpdate,
    actor: CurrentActor,
    session: SessionDep,
    store: StoreDep,
    origin: OriginDep,
) -> UserRead:
    updated = await user_service.update(
        session, actor, store=store, user_id=user_id, data=body, origin=origin
    )
    return UserRead.model_validate(updated)


@router.post(
    "/{user_id}/sign-in-unlock",
    summary="Lift a user's sign-in lockout (platform administrators)",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(*_AUTH_ERRORS, PermissionDenied, NotFound),
)
async def unlock_sign_in(
    user_id: uuid.UUID, actor: CurrentActor, session: SessionDep, store: StoreDep, origin: OriginDep
) -> None:
    await sign_in_service.unlock_sign_in(
        session, actor, store=store, user_id=user_id, origin=origin
    )
