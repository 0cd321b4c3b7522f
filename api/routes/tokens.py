"""Your own access tokens: list them, revoke one."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from api.auth import CurrentActor, OriginDep
from api.deps import SessionDep, StoreDep
from api.errors import error_responses
from api.ratelimit import rate_limit
from lending.errors import NotAuthenticated, NotFound, RateLimited
from lending.identity.errors import MfaEnrollmentRequired
from lending.identity.schemas import TokenRead
from lending.identity.sessions import token_service

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"], dependencies=[rate_limit("default")])
_AUTH_ERRORS = (NotAuthenticated, MfaEnrollmentRequired, RateLimited)


@router.get(
    "",
    summary="Your live tokens (the one this request uses is marked current)",
    responses=error_responses(*_AUTH_ERRORS),
)
async def list_tokens(actor: CurrentActor, session: SessionDep) -> list[TokenRead]:
    return await token_service.list_own(session, actor)


@router.delete(
    "/{token_id}",
    summary="Revoke one of your tokens",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(*_AUTH_ERRORS, NotFound),
)
async def revoke_token(
    token_id: uuid.UUID,
    actor: CurrentActor,
    session: SessionDep,
    store: StoreDep,
    origin: OriginDep,
) -> None:
    await token_service.revoke_own(session, actor, store=store, token_id=token_id, origin=origin)
