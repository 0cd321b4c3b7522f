"""Two-factor authentication: TOTP enrolment, recovery codes, and the second-factor checks of
sign-in and of sensitive changes."""

from __future__ import annotations

from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from lending import crypto
from lending.audit.schemas import Origin
from lending.audit.service import audit_service
from lending.config import Settings
from lending.errors import Conflict, InvalidInput
from lending.identity import mfa as totp
from lending.identity import throttle
from lending.identity.actor import Actor
from lending.identity.repository import (
    OrganizationRepository,
    RecoveryCodeRepository,
    UserRepository,
)
from lending.identity.rules import (
    mfa_required_roles,
    now,
    recovery_key,
    totp_associated_data,
    verify_own_password,
)
from lending.identity.schemas import (
    MfaEnrollment,
    MfaStatus,
    RecoveryCodes,
)
from lending.identity.sessions import token_service
from lending.identity.users import user_service
from lending.kv import Store
from lending.models.identity import (
    TokenPurpose,
    User,
)


async def check_own_code(
    session: AsyncSession,
    user: User,
    *,
    store: Store,
    settings: Settings,
    code: str,
    origin: Origin,
    totp_only: bool = False,
) -> Literal["totp", "recovery_code"]:
    """Check a signed-in user's second factor before a sensitive change, throttled like
    sign-in (the same counters): a stolen token cannot be used to guess codes."""
    await throttle.ensure_allowed(store, email=user.email, ip=origin.ip)
    if totp_only:
        ok = await mfa_service._check_totp(session, user, settings=settings, code=code)
        found: Literal["totp", "recovery_code"] | None = "totp" if ok else None
    else:
        found = await mfa_service.check_second_factor(session, user, settings=settings, code=code)
    if found is None:
        await throttle.record_failure(store, settings, email=user.email, ip=origin.ip)
        raise InvalidInput(
            [{"loc": ["body", "code"], "msg": "The code is not valid.", "type": "otp"}]
        )
    return found


class MfaService:
    async def status(self, session: AsyncSession, actor: Actor, *, settings: Settings) -> MfaStatus:
        user = await user_service.own(session, actor)
        organization = await OrganizationRepository.from_session(session).get(user.organization_id)
        assert organization is not None
        remaining = await RecoveryCodeRepository.from_session(session).count_unused(user.id)
        return MfaStatus(
            enabled=user.mfa_enabled,
            pending=not user.mfa_enabled and user.mfa_secret_encrypted is not None,
            required=user.role in mfa_required_roles(organization, settings),
            recovery_codes_remaining=remaining,
        )

    async def enroll(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        settings: Settings,
        origin: Origin | None = None,
    ) -> MfaEnrollment:
        """Start (or restart) enrolment: a new secret, not in force until confirmed."""
        user = await user_service.own(session, actor)
        if user.mfa_enabled:
            raise Conflict("Two-factor authentication is already on; turn it off first.")
        secret = totp.new_secret()
        user.mfa_secret_encrypted = crypto.encryptor(settings).encrypt(
            secret.encode(), totp_associated_data(user.id)
        )
        user.mfa_last_used_step = None
        uri = totp.provisioning_uri(secret, account=user.email, issuer=settings.mfa_issuer)
        await audit_service.record(
            session,
            actor,
            action="mfa.enrollment_started",
            origin=origin,
            subject_type="user",
            subject_id=user.id,
        )
        return MfaEnrollment(
            secret=secret, otpauth_uri=uri, qr_svg_data_uri=totp.qr_svg_data_uri(uri)
        )

    async def confirm(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        store: Store,
        settings: Settings,
        code: str,
        origin: Origin | None = None,
    ) -> RecoveryCodes:
        """Turn MFA on with a first code; returns the ten recovery codes (shown once)."""
        user = await user_service.own(session, actor)
        if user.mfa_enabled:
            raise Conflict("Two-factor authentication is already on.")
        if user.mfa_secret_encrypted is None:
            raise Conflict("Start with POST /api/v1/mfa/enroll.")
        if not await self._check_totp(session, user, settings=settings, code=code):
            raise InvalidInput(
                [{"loc": ["body", "code"], "msg": "The code is not valid.", "type": "otp"}]
            )
        user.mfa_enabled_at = now()
        codes = await self._new_recovery_codes(session, user, settings)
        # Enrolment-only tokens have served their purpose: sign in again with a code.
        await token_service.revoke_user(
            session, store=store, user_id=user.id, purpose=TokenPurpose.MFA_ENROLLMENT
        )
        await audit_service.record(
            session,
            actor,
            action="mfa.enabled",
            origin=origin,
            subject_type="user",
            subject_id=user.id,
        )
        return codes

    async def disable(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        store: Store,
        settings: Settings,
        password: str,
        code: str,
        origin: Origin | None = None,
    ) -> None:
        origin = origin or Origin()
        user = await user_service.own(session, actor)
        if not user.mfa_enabled:
            raise Conflict("Two-factor authentication is not on.")
        organization = await OrganizationRepository.from_session(session).get(user.organization_id)
        assert organization is not None
        if user.role in mfa_required_roles(organization, settings):
            raise Conflict(
                "Your organization requires two-factor authentication for your role; it cannot "
                "be turned off."
            )
        await verify_own_password(
            session,
            user,
            store=store,
            settings=settings,
            password=password,
            origin=origin,
            field="password",
        )
        await check_own_code(
            session, user, store=store, settings=settings, code=code, origin=origin
        )
        user.mfa_secret_encrypted = None
        user.mfa_enabled_at = None
        user.mfa_last_used_step = None
        await RecoveryCodeRepository.from_session(session).delete_all(user.id)
        await audit_service.record(
            session,
            actor,
            action="mfa.disabled",
            origin=origin,
            subject_type="user",
            subject_id=user.id,
        )

    async def regenerate_recovery_codes(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        store: Store,
        settings: Settings,
        code: str,
        origin: Origin | None = None,
    ) -> RecoveryCodes:
        """Replace every recovery code (after one was used, or lost); needs a current TOTP code."""
        origin = origin or Origin()
        user = await user_service.own(session, actor)
        if not user.mfa_enabled:
            raise Conflict("Two-factor authentication is not on.")
        await check_own_code(
            session,
            user,
            store=store,
            settings=settings,
            code=code,
            origin=origin,
            totp_only=True,
        )
        codes = await self._new_recovery_codes(session, user, settings)
        await audit_service.record(
            session,
            actor,
            action="mfa.recovery_codes_regenerated",
            origin=origin,
            subject_type="user",
            subject_id=user.id,
        )
        return codes

    async def check_second_factor(
        self, session: AsyncSession, user: User, *, settings: Settings, code: str
    ) -> Literal["totp", "recovery_code"] | None:
        """Accept a TOTP code (once) or an unused recovery code (used up now); which, or None."""
        if totp.is_totp_code(code):
            ok = await self._check_totp(session, user, settings=settings, code=code)
            return "totp" if ok else None
        code_hash = totp.recovery_code_hash(code, key=recovery_key(settings))
        used = await RecoveryCodeRepository.from_session(session).use(user.id, code_hash, now())
        return "recovery_code" if used else None

    async def _check_totp(
        self, session: AsyncSession, user: User, *, settings: Settings, code: str
    ) -> bool:
        if user.mfa_secret_encrypted is None:
            return False
        secret = crypto.encryptor(settings).decrypt(
            user.mfa_secret_encrypted, totp_associated_data(user.id)
        )
        step = totp.matching_step(secret.decode(), code)
        if step is None:
            return False
        return await UserRepository.from_session(session).claim_totp_step(user.id, step)

    async def _new_recovery_codes(
        self, session: AsyncSession, user: User, settings: Settings
    ) -> RecoveryCodes:
        codes = totp.new_recovery_codes()
        key = recovery_key(settings)
        await RecoveryCodeRepository.from_session(session).replace(
            user.id, [totp.recovery_code_hash(code, key=key) for code in codes]
        )
        return RecoveryCodes(recovery_codes=codes)


mfa_service = MfaService()
