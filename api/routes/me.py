"""The signed-in user's own profile and referral link."""

from __future__ import annotations

from fastapi import APIRouter, status

from api.auth import CurrentActor, EnrollingActor, OriginDep
from api.deps import SessionDep, StateDep, StoreDep
from api.errors import error_responses
from api.ratelimit import rate_limit
from lending.errors import NotAuthenticated, PermissionDenied, RateLimited
from lending.identity.errors import MfaEnrollmentRequired, TooManyMailRequests
from lending.identity.schemas import Accepted, Me, MeUpdate, ReferralLink, ReferralSend
from lending.identity.users import user_service

router = APIRouter(prefix="/api/v1/me", tags=["me"], dependencies=[rate_limit("default")])


@router.get(
    "",
    summary="Your profile, organization and scopes",
    responses=error_responses(NotAuthenticated, RateLimited),
)
async def read_me(actor: EnrollingActor, session: SessionDep, state: StateDep) -> Me:
    return await user_service.me(session, actor, settings=state.settings)


@router.patch(
    "",
    summary="Change your name (role and organization are not yours to change)",
    responses=error_responses(NotAuthenticated, MfaEnrollmentRequired, RateLimited),
)
async def update_me(
    body: MeUpdate, actor: CurrentActor, session: SessionDep, state: StateDep
) -> Me:
    return await user_service.update_me(
        session, actor, settings=state.settings, full_name=body.full_name
    )


@router.get(
    "/referral",
    summary="Your referral link (brokers): borrowers who register with it are attributed to you",
    responses=error_responses(
        NotAuthenticated, MfaEnrollmentRequired, PermissionDenied, RateLimited
    ),
)
async def read_referral_link(
    actor: CurrentActor, session: SessionDep, state: StateDep
) -> ReferralLink:
    return await user_service.referral_link(session, actor, settings=state.settings)


@router.post(
    "/referral/send",
    summary="Mail your referral link to a prospective borrower (brokers), in their language",
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(
        NotAuthenticated, MfaEnrollmentRequired, PermissionDenied, TooManyMailRequests, RateLimited
    ),
)
async def send_referral_link(
    body: ReferralSend,
    actor: CurrentActor,
    session: SessionDep,
    store: StoreDep,
    state: StateDep,
    origin: OriginDep,
) -> Accepted:
    detail = await user_service.send_referral_link(
        session,
        actor,
        store=store,
        settings=state.settings,
        email=str(body.email),
        language=body.language,
        origin=origin,
    )
    return Accepted(detail=detail)
