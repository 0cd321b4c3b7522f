"""The borrower profile and consents: your own (borrowers), or a client's (brokers, staff)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from api.auth import CurrentActor, OriginDep
from api.deps import SessionDep, StateDep
from api.errors import error_responses
from api.ratelimit import rate_limit
from lending.applications.profile import borrower_profile_service
from lending.applications.schemas import (
    BorrowerProfileRead,
    BorrowerProfileUpdate,
    ConsentCreate,
    ConsentRead,
)
from lending.errors import InvalidInput, NotAuthenticated, NotFound, PermissionDenied, RateLimited
from lending.identity.errors import MfaEnrollmentRequired

router = APIRouter(prefix="/api/v1", tags=["profile"], dependencies=[rate_limit("default")])
_AUTH_ERRORS = (NotAuthenticated, MfaEnrollmentRequired, RateLimited, PermissionDenied)


@router.get(
    "/profile",
    summary="Your borrower profile (SSN: last four digits only)",
    responses=error_responses(*_AUTH_ERRORS, InvalidInput, NotFound),
)
async def read_own_profile(actor: CurrentActor, session: SessionDep) -> BorrowerProfileRead:
    return await borrower_profile_service.get(session, actor)


@router.patch(
    "/profile",
    summary="Set fields of your borrower profile",
    responses=error_responses(*_AUTH_ERRORS, InvalidInput, NotFound),
)
async def update_own_profile(
    body: BorrowerProfileUpdate,
    actor: CurrentActor,
    session: SessionDep,
    state: StateDep,
    origin: OriginDep,
) -> BorrowerProfileRead:
    return await borrower_profile_service.update(
        session, actor, data=body, settings=state.settings, origin=origin
    )


@router.post(
    "/profile/consents",
    status_code=status.HTTP_201_CREATED,
    summary="Give or withdraw a consent (the borrower, after reading its current text)",
    responses=error_responses(*_AUTH_ERRORS, InvalidInput),
)
async def record_consent(
    body: ConsentCreate, actor: CurrentActor, session: SessionDep, origin: OriginDep
) -> ConsentRead:
    return await borrower_profile_service.record_consent(
        session, actor, data=body, channel="web", origin=origin
    )


@router.get(
    "/borrowers/{user_id}/profile",
    summary="A borrower's profile (yours, or a client's)",
    responses=error_responses(*_AUTH_ERRORS, NotFound),
)
async def read_borrower_profile(
    user_id: uuid.UUID, actor: CurrentActor, session: SessionDep
) -> BorrowerProfileRead:
    return await borrower_profile_service.get(session, actor, user_id=user_id)


@router.patch(
    "/borrowers/{user_id}/profile",
    summary="Set fields of a borrower's profile (yours, or a client's)",
    responses=error_responses(*_AUTH_ERRORS, InvalidInput, NotFound),
)
async def update_borrower_profile(
    user_id: uuid.UUID,
    body: BorrowerProfileUpdate,
    actor: CurrentActor,
    session: SessionDep,
    state: StateDep,
    origin: OriginDep,
) -> BorrowerProfileRead:
    return await borrower_profile_service.update(
        session, actor, user_id=user_id, data=body, settings=state.settings, origin=origin
    )
