"""Sign-in: credentials (and a second factor) exchanged for a token, throttled and audited, and
the administrator's unlock."""

from __future__ import annotations

import uuid
from typing import NoReturn

from sqlalchemy.ext.asyncio import AsyncSession

from lending.audit.schemas import Origin
from lending.audit.service import audit_service
from lending.config import Settings
from lending.identity import passwords, throttle
from lending.identity.actor import Actor
from lending.identity.errors import InvalidCredentials, InvalidOtp, LoginFailed, OtpRequired
from lending.identity.repository import (
    OrganizationRepository,
    UserRepository,
)
from lending.identity.rules import actor_of, mfa_required_roles, now
from lending.identity.schemas import (
    TokenResponse,
)
from lending.identity.scopes import Scope
from lending.identity.second_factor import mfa_service
from lending.identity.sessions import token_service
from lending.identity.users import user_service
from lending.kv import Store
from lending.models.identity import (
    OrganizationStatus,
    TokenPurpose,
    User,
)


class SignInService:
    async def login(
        self,
        session: AsyncSession,
        *,
        store: Store,
        settings: Settings,
        email: str,
        password: str,
        otp: str | None = None,
        origin: Origin | None = None,
    ) -> TokenResponse:
        """Exchange credentials (and a second factor when MFA is on) for a bearer token.

        Raises:
            TooManyLoginAttempts: the account or the IP is locked out (429, Retry-After).
            InvalidCredentials: unknown email, wrong password, or a disabled account, alike.
            OtpRequired: the password was right and MFA is on, but no code was sent.
            InvalidOtp: the code was wrong or already used.
        Failures are audited in the session: a caller that refuses the request must still
        commit it (see api/routes/auth.py).
        """
        origin = origin or Origin()
        await throttle.ensure_allowed(store, email=email, ip=origin.ip)
        users = UserRepository.from_session(session)
        user = await users.get_by_email(email)
        if user is None:
            await passwords.verify_nothing(settings, password)
            await self._refuse(session, store, settings, email, origin, None, "unknown_email")
        if not await passwords.verify_password(settings, user.password_hash, password):
            await self._refuse(session, store, settings, email, origin, user, "wrong_password")
        organization = await OrganizationRepository.from_session(session).get(user.organization_id)
        assert organization is not None
        if not user.is_active or organization.status is not OrganizationStatus.ACTIVE:
            await self._refuse(session, store, settings, email, origin, user, "inactive")

        second_factor = None
        if user.mfa_enabled:
            if not otp:
                raise OtpRequired()
            second_factor = await mfa_service.check_second_factor(
                session, user, settings=settings, code=otp
            )
            if second_factor is None:
                await self._refuse(
                    session, store, settings, email, origin, user, "wrong_otp", InvalidOtp()
                )

        await throttle.record_success(store, email=email, ip=origin.ip)
        if passwords.needs_rehash(settings, user.password_hash):
            user.password_hash = await passwords.hash_password(settings, password)
        must_enrol = not user.mfa_enabled and user.role in mfa_required_roles(
            organization, settings
        )
        purpose = TokenPurpose.MFA_ENROLLMENT if must_enrol else TokenPurpose.ACCESS
        issued = await token_service.issue(
            session, user, settings=settings, purpose=purpose, origin=origin
        )
        user.last_login_at = now()
        await audit_service.record(
            session,
            actor_of(user),
            action="auth.login",
            origin=origin,
            subject_type="access_token",
            subject_id=issued.record.id,
            details={"purpose": purpose.value, "second_factor": second_factor},
        )
        return issued.response()

    async def _refuse(
        self,
        session: AsyncSession,
        store: Store,
        settings: Settings,
        email: str,
        origin: Origin,
        user: User | None,
        reason: str,
        error: LoginFailed | None = None,
    ) -> NoReturn:
        locked = await throttle.record_failure(store, settings, email=email, ip=origin.ip)
        await audit_service.record(
            session,
            None,
            action="auth.login_failed",
            origin=origin,
            organization_id=user.organization_id if user else None,
            subject_type="user" if user else None,
            subject_id=user.id if user else None,
            details={"reason": reason, "locked": locked},
        )
        raise error or InvalidCredentials()

    async def unlock_sign_in(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        store: Store,
        user_id: uuid.UUID,
        origin: Origin | None = None,
    ) -> bool:
        """Lift a user's sign-in lockout (the account-wide one and every address's), for a
        platform administrator; whether the account was locked. Audited either way (an
        administrator acted). Locks on an address stay: they are about the address."""
        actor.require(Scope.USERS_MANAGE_ALL)
        user = await user_service.get(session, actor, user_id=user_id)
        was_locked = await throttle.unlock_account(store, email=user.email)
        await audit_service.record(
            session,
            actor,
            action="auth.sign_in_unlocked",
            origin=origin,
            organization_id=user.organization_id,
            subject_type="user",
            subject_id=user.id,
            details={"was_locked": was_locked},
        )
        return was_locked


sign_in_service = SignInService()
