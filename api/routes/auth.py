"""Sign-in, sign-out, registration and password change."""

from __future__ import annotations

from fastapi import APIRouter, status

from api.auth import CurrentActor, EnrollingActor, OriginDep
from api.deps import SessionDep, StateDep, StoreDep
from api.errors import error_responses
from api.ratelimit import rate_limit, rate_limit_anonymous
from lending.errors import Conflict, InvalidInput, NotAuthenticated, RateLimited
from lending.identity.accounts import account_service
from lending.identity.email_change import email_change_service
from lending.identity.errors import (
    InvalidCredentials,
    InvalidOtp,
    LoginFailed,
    MfaEnrollmentRequired,
    OtpRequired,
    TooManyLoginAttempts,
    TooManyMailRequests,
)
from lending.identity.password_reset import password_reset_service
from lending.identity.schemas import (
    Accepted,
    EmailChangeRequest,
    EmailVerificationConfirm,
    PasswordChange,
    PasswordResetConfirm,
    PasswordResetRequest,
    RegisterRequest,
    TokenRequest,
    TokenResponse,
    UserRead,
)
from lending.identity.sessions import token_service
from lending.identity.sign_in import sign_in_service
from lending.identity.verification import email_verification_service
from lending.models.identity import User

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post(
    "/token",
    summary="Exchange email, password (and a one-time code) for a bearer token",
    dependencies=[rate_limit_anonymous("auth")],
    responses=error_responses(
        InvalidCredentials, OtpRequired, InvalidOtp, TooManyLoginAttempts, RateLimited
    ),
)
async def issue_token(
    body: TokenRequest, session: SessionDep, store: StoreDep, state: StateDep, origin: OriginDep
) -> TokenResponse:
    try:
        return await sign_in_service.login(
            session,
            store=store,
            settings=state.settings,
            email=body.email,
            password=body.password,
            otp=body.otp,
            origin=origin,
        )
    except LoginFailed:
        # The refusal's audit event must outlive the refused request.
        await session.commit()
        raise


@router.post(
    "/register",
    summary="Create a borrower account (or join a firm with an invitation or referral code)",
    status_code=status.HTTP_201_CREATED,
    dependencies=[rate_limit_anonymous("auth")],
    responses=error_responses(InvalidInput, Conflict, RateLimited),
)
async def register(
    body: RegisterRequest, session: SessionDep, state: StateDep, origin: OriginDep
) -> UserRead:
    user: User = await account_service.register(
        session, settings=state.settings, data=body, origin=origin
    )
    return UserRead.model_validate(user)


@router.post(
    "/logout",
    summary="Revoke the token this request carries",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[rate_limit("default")],
    responses=error_responses(NotAuthenticated, RateLimited),
)
async def logout(
    actor: EnrollingActor, session: SessionDep, store: StoreDep, origin: OriginDep
) -> None:
    await token_service.logout(session, actor, store=store, origin=origin)


@router.post(
    "/password",
    summary="Change your password (signs out every other session)",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[rate_limit("default")],
    responses=error_responses(
        NotAuthenticated, MfaEnrollmentRequired, InvalidInput, TooManyLoginAttempts, RateLimited
    ),
)
async def change_password(
    body: PasswordChange,
    actor: CurrentActor,
    session: SessionDep,
    store: StoreDep,
    state: StateDep,
    origin: OriginDep,
) -> None:
    await account_service.change_password(
        session,
        actor,
        store=store,
        settings=state.settings,
        current_password=body.current_password,
        new_password=body.new_password,
        origin=origin,
    )


@router.post(
    "/password-reset",
    summary="Mail a single-use password reset link (the same answer whether or not the "
    "address has an account)",
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[rate_limit_anonymous("auth")],
    responses=error_responses(TooManyMailRequests, RateLimited),
)
async def request_password_reset(
    body: PasswordResetRequest,
    session: SessionDep,
    store: StoreDep,
    state: StateDep,
    origin: OriginDep,
) -> Accepted:
    detail = await password_reset_service.request(
        session, store=store, settings=state.settings, email=body.email, origin=origin
    )
    return Accepted(detail=detail)


@router.post(
    "/password-reset/confirm",
    summary="Set a new password with a reset link's token (signs out every session)",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[rate_limit_anonymous("auth")],
    responses=error_responses(InvalidInput, RateLimited),
)
async def confirm_password_reset(
    body: PasswordResetConfirm,
    session: SessionDep,
    store: StoreDep,
    state: StateDep,
    origin: OriginDep,
) -> None:
    await password_reset_service.confirm(
        session,
        store=store,
        settings=state.settings,
        token=body.token,
        new_password=body.new_password,
        origin=origin,
    )


@router.post(
    "/verify-email/confirm",
    summary="Confirm your e-mail address with the link's token (a registration's, or a new "
    "address's: that one signs out every session)",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[rate_limit_anonymous("auth")],
    responses=error_responses(InvalidInput, RateLimited),
)
async def confirm_email(
    body: EmailVerificationConfirm,
    session: SessionDep,
    store: StoreDep,
    state: StateDep,
    origin: OriginDep,
) -> None:
    await email_change_service.confirm_link(
        session, store=store, settings=state.settings, token=body.token, origin=origin
    )


@router.post(
    "/verify-email/resend",
    summary="Mail yourself a new e-mail confirmation link",
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[rate_limit("default")],
    responses=error_responses(
        NotAuthenticated, MfaEnrollmentRequired, Conflict, TooManyMailRequests, RateLimited
    ),
)
async def resend_confirmation(
    actor: CurrentActor, session: SessionDep, store: StoreDep, state: StateDep, origin: OriginDep
) -> Accepted:
    detail = await email_verification_service.resend(
        session, actor, store=store, settings=state.settings, origin=origin
    )
    return Accepted(detail=detail)


@router.post(
    "/email-change",
    summary="Change your e-mail address: a link goes to the new address, and nothing changes "
    "until it is opened",
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[rate_limit("default")],
    responses=error_responses(
        NotAuthenticated,
        MfaEnrollmentRequired,
        InvalidInput,
        Conflict,
        TooManyLoginAttempts,
        TooManyMailRequests,
        RateLimited,
    ),
)
async def request_email_change(
    body: EmailChangeRequest,
    actor: CurrentActor,
    session: SessionDep,
    store: StoreDep,
    state: StateDep,
    origin: OriginDep,
) -> Accepted:
    detail = await email_change_service.request(
        session,
        actor,
        store=store,
        settings=state.settings,
        new_email=str(body.new_email),
        password=body.password,
        origin=origin,
    )
    return Accepted(detail=detail)
