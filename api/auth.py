"""Who is calling: the bearer token resolved to an Actor once per request, and where from."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.state import AppState
from lending.audit.schemas import Origin
from lending.db import transaction
from lending.errors import NotAuthenticated
from lending.identity.actor import Actor
from lending.identity.errors import MfaEnrollmentRequired
from lending.identity.sessions import token_service
from lending.models.identity import TokenPurpose

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="BearerToken",
    description="An access token from POST /api/v1/auth/token.",
)


def app_state(request: Request) -> AppState:
    """The app's state, read from the request. Not StateDep/StoreDep in dependencies that run on
    every request: a synchronous dependency costs a hop through the thread pool."""
    state: AppState = request.app.state.omnifin
    return state


async def get_token_actor(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """The actor of any live token, including an enrolment-only one. FastAPI caches it per
    request, so the rate limiter and the route share one resolution."""
    if credentials is None:
        raise NotAuthenticated()
    state = app_state(request)
    assert state.store is not None, "lifespan not started"
    assert state.sessionmaker is not None, "lifespan not started"
    token = credentials.credentials
    actor = await token_service.cached_actor(
        store=state.store, settings=state.settings, token=token
    )
    if actor is None:
        # A miss: a short unit of work of its own, so the last-used write commits whatever the
        # route does, and a cache hit needs no session at all.
        async with transaction(state.sessionmaker) as session:
            actor = await token_service.authenticate(
                session, store=state.store, settings=state.settings, token=token
            )
    return actor


TokenActor = Annotated[Actor, Depends(get_token_actor)]


async def get_actor(actor: TokenActor) -> Actor:
    """The actor of a full access token; an enrolment-only token is refused (403)."""
    if actor.purpose is not TokenPurpose.ACCESS:
        raise MfaEnrollmentRequired()
    return actor


CurrentActor = Annotated[Actor, Depends(get_actor)]
# The MFA enrolment endpoints (and sign-out, and reading one's profile) also take the
# enrolment-only token a staff user gets before enrolling.
EnrollingActor = TokenActor


async def get_origin(request: Request) -> Origin:
    user_agent = request.headers.get("user-agent")
    return Origin(
        ip=request.client.host if request.client else None,
        request_id=getattr(request.state, "request_id", None),
        user_agent=user_agent[:200] if user_agent else None,
        channel="api",
    )


OriginDep = Annotated[Origin, Depends(get_origin)]
