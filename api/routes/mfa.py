"""Two-factor authentication (TOTP): status, enrolment, confirmation, recovery codes, turning off."""

from __future__ import annotations

from fastapi import APIRouter, status

from api.auth import CurrentActor, EnrollingActor, OriginDep
from api.deps import SessionDep, StateDep, StoreDep
from api.errors import error_responses
from api.ratelimit import rate_limit
from lending.errors import Conflict, InvalidInput, NotAuthenticated, RateLimited
from lending.identity.errors import MfaEnrollmentRequired, TooManyLoginAttempts
from lending.identity.schemas import MfaCode, MfaDisable, MfaEnrollment, MfaStatus, RecoveryCodes
from lending.identity.second_factor import mfa_service

router = APIRouter(prefix="/api/v1/mfa", tags=["mfa"], dependencies=[rate_limit("default")])


@router.get(
    "",
    summary="Whether two-factor authentication is on, pending or required",
    responses=error_responses(NotAuthenticated, RateLimited),
)
async def read_mfa(actor: EnrollingActor, session: SessionDep, state: StateDep) -> MfaStatus:
    return await mfa_service.status(session, actor, settings=state.settings)


@router.post(
    "/enroll",
    summary="Start enrolment: a new TOTP secret, its otpauth URI and a QR code",
    responses=error_responses(NotAuthenticated, Conflict, RateLimited),
)
async def enroll(
    actor: EnrollingActor, session: SessionDep, state: StateDep, origin: OriginDep
) -> MfaEnrollment:
    return await mfa_service.enroll(session, actor, settings=state.settings, origin=origin)


@router.post(
    "/confirm",
    summary="Turn two-factor authentication on with a first code; returns ten recovery codes",
    responses=error_responses(NotAuthenticated, Conflict, InvalidInput, RateLimited),
)
async def confirm(
    body: MfaCode,
    actor: EnrollingActor,
    session: SessionDep,
    store: StoreDep,
    state: StateDep,
    origin: OriginDep,
) -> RecoveryCodes:
    return await mfa_service.confirm(
        session, actor, store=store, settings=state.settings, code=body.code, origin=origin
    )


@router.post(
    "/disable",
    summary="Turn two-factor authentication off (password and a code)",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(
        NotAuthenticated,
        MfaEnrollmentRequired,
        Conflict,
        InvalidInput,
        TooManyLoginAttempts,
        RateLimited,
    ),
)
async def disable(
    body: MfaDisable,
    actor: CurrentActor,
    session: SessionDep,
    store: StoreDep,
    state: StateDep,
    origin: OriginDep,
) -> None:
    await mfa_service.disable(
        session,
        actor,
        store=store,
        settings=state.settings,
        password=body.password,
        code=body.code,
        origin=origin,
    )


@router.post(
    "/recovery-codes",
    summary="Replace your recovery codes (needs a current TOTP code)",
    responses=error_responses(
        NotAuthenticated,
        MfaEnrollmentRequired,
        Conflict,
        InvalidInput,
        TooManyLoginAttempts,
        RateLimited,
    ),
)
async def regenerate_recovery_codes(
    body: MfaCode,
    actor: CurrentActor,
    session: SessionDep,
    store: StoreDep,
    state: StateDep,
    origin: OriginDep,
) -> RecoveryCodes:
    return await mfa_service.regenerate_recovery_codes(
        session, actor, store=store, settings=state.settings, code=body.code, origin=origin
    )
