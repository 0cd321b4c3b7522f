"""Identity services: sign-in, registration, tokens, MFA, organizations, users and invitations.

Services never commit: the caller owns the transaction (the request's session dependency, the
CLI's `transaction`). Every permission is checked here and not only in the routes, because the
assistant's tools call these same services. What an actor may not see is NotFound, never
PermissionDenied: PermissionDenied only answers "your role cannot do this at all".
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, NoReturn

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lending import crypto
from lending.audit.schemas import Origin
from lending.audit.service import audit
from lending.config import Settings
from lending.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from lending.identity import mfa as totp
from lending.identity import passwords, throttle
from lending.identity.actor import Actor
from lending.identity.errors import InvalidCredentials, InvalidOtp, LoginFailed, OtpRequired
from lending.identity.repository import (
    InvitationRepository,
    OrganizationRepository,
    RecoveryCodeRepository,
    TokenRepository,
    UserRepository,
)
from lending.identity.schemas import (
    InvitationCreate,
    InvitationCreated,
    InvitationRead,
    Me,
    MfaEnrollment,
    MfaStatus,
    OrganizationBrief,
    OrganizationCreate,
    OrganizationUpdate,
    RecoveryCodes,
    ReferralLink,
    RegisterRequest,
    TokenRead,
    TokenResponse,
    UserRead,
    UserUpdate,
)
from lending.identity.scopes import Scope
from lending.identity.tokens import (
    CachedToken,
    cache_key,
    digest,
    forget,
    new_access_token,
    new_invitation_code,
    new_referral_code,
)
from lending.identity.verification import email_verification
from lending.kv import Store
from lending.models.identity import (
    FIRM_ONLY_ROLES,
    PLATFORM_ONLY_ROLES,
    STAFF_ROLES,
    AccessToken,
    Invitation,
    Organization,
    OrganizationKind,
    OrganizationStatus,
    Role,
    TokenPurpose,
    User,
)
from lending.pagination import Page

# Roles whose referral link attributes a new borrower to them.
REFERRING_ROLES = frozenset({Role.BROKER, Role.BROKER_MANAGER})
# What a broker manager may invite into their firm; everything else takes a platform admin.
FIRM_INVITABLE_ROLES = frozenset({Role.BROKER, Role.BORROWER})
# Roles whose deactivation of a user only their like can undo.
_PLATFORM_DEACTIVATORS = frozenset({Role.PLATFORM_ADMIN.value})
_MAX_TOKEN_LENGTH = 200
_INVALID_TOKEN = "The access token is not valid, has expired or was revoked."


def _now() -> datetime:
    return datetime.now(UTC)


def _actor_of(user: User) -> Actor:
    return Actor.for_user(user.id, user.role, user.organization_id)


def mfa_required_roles(organization: Organization, settings: Settings) -> frozenset[Role]:
    """The staff roles that must use MFA in this organization (its own list, else the default)."""
    names = organization.mfa_required_roles
    if names is None:
        names = settings.mfa_required_roles
    return frozenset(role for role in STAFF_ROLES if role.value in names)


def _check_role_fits(role: Role, organization: Organization) -> None:
    if role in PLATFORM_ONLY_ROLES and organization.kind is not OrganizationKind.PLATFORM:
        raise InvalidInput(f"A {role.value} belongs to the platform organization, not a firm.")
    if role in FIRM_ONLY_ROLES and organization.kind is not OrganizationKind.BROKER_FIRM:
        raise InvalidInput(f"A {role.value} belongs to a broker firm.")


def totp_associated_data(user_id: uuid.UUID) -> bytes:
    """Binds a sealed TOTP secret to its user: copied to another row, it does not decrypt."""
    return f"user:{user_id}:totp".encode()


def _recovery_key(settings: Settings) -> bytes:
    secret = settings.secret("secret_key").get_secret_value().encode()
    return hmac.new(secret, b"omnifin/recovery-code-key", hashlib.sha256).digest()


@dataclass(frozen=True)
class IssuedToken:
    token: str  # the bearer value: returned once, never stored
    record: AccessToken

    def response(self) -> TokenResponse:
        return TokenResponse(
            access_token=self.token,
            expires_at=self.record.expires_at,
            mfa_enrollment_required=self.record.purpose is TokenPurpose.MFA_ENROLLMENT,
        )


class TokenService:
    async def issue(
        self,
        session: AsyncSession,
        user: User,
        *,
        settings: Settings,
        purpose: TokenPurpose = TokenPurpose.ACCESS,
        origin: Origin | None = None,
    ) -> IssuedToken:
        ttl = (
            settings.access_token_ttl_seconds
            if purpose is TokenPurpose.ACCESS
            else settings.mfa_enrollment_token_ttl_seconds
        )
        origin = origin or Origin()
        raw = new_access_token()
        record = AccessToken(
            id=uuid.uuid4(),
            user_id=user.id,
            token_hash=digest(raw),
            purpose=purpose,
            name=(origin.user_agent or origin.operator or "api")[:100],
            created_ip=origin.ip,
            created_at=_now(),
            expires_at=_now() + timedelta(seconds=ttl),
        )
        await TokenRepository.from_session(session).add(record)
        return IssuedToken(raw, record)

    async def cached_actor(self, *, store: Store, settings: Settings, token: str) -> Actor | None:
        """The actor of a token resolved in the last `token_cache_seconds`, from the store alone
        (no database); None when it is not cached."""
        if settings.token_cache_seconds <= 0 or not token or len(token) > _MAX_TOKEN_LENGTH:
            return None
        raw = await store.get(cache_key(digest(token)))
        cached = CachedToken.loads(raw) if raw is not None else None
        if cached is None or cached.expires_at <= time.time():
            return None
        return Actor.for_user(
            cached.user_id,
            cached.role,
            cached.organization_id,
            token_id=cached.token_id,
            purpose=cached.purpose,
        )

    async def authenticate(
        self, session: AsyncSession, *, store: Store, settings: Settings, token: str
    ) -> Actor:
        """The actor a bearer token stands for: from the cache, else from the database (and then
        cached briefly in the store under the token's hash)."""
        actor = await self.cached_actor(store=store, settings=settings, token=token)
        if actor is not None:
            return actor
        if not token or len(token) > _MAX_TOKEN_LENGTH:
            raise NotAuthenticated(_INVALID_TOKEN)
        token_hash = digest(token)
        now = time.time()
        repository = TokenRepository.from_session(session)
        found = await repository.resolve(token_hash, _now())
        if found is None:
            raise NotAuthenticated(_INVALID_TOKEN)
        record, user, organization = found
        if not user.is_active or organization.status is not OrganizationStatus.ACTIVE:
            raise NotAuthenticated(_INVALID_TOKEN)
        # Written at most once per resolution period (and only on cache misses): the hot path
        # stays read-only.
        last_used = record.last_used_at.timestamp() if record.last_used_at else None
        if last_used is None or now - last_used >= settings.token_last_used_resolution_seconds:
            await repository.touch(record.id, _now())
        expires_at = record.expires_at.timestamp()
        ttl = min(settings.token_cache_seconds, expires_at - now)
        if ttl > 0:
            entry = CachedToken(
                record.id, user.id, user.role, user.organization_id, record.purpose, expires_at
            )
            await store.set(cache_key(token_hash), entry.dumps(), ttl)
        return Actor.for_user(
            user.id, user.role, user.organization_id, token_id=record.id, purpose=record.purpose
        )

    async def list_own(self, session: AsyncSession, actor: Actor) -> list[TokenRead]:
        tokens = await TokenRepository.from_session(session).list_live(actor.user_id, _now())
        return [
            TokenRead.model_validate(token).model_copy(
                update={"current": token.id == actor.token_id}
            )
            for token in tokens
        ]

    async def revoke_own(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        store: Store,
        token_id: uuid.UUID,
        origin: Origin | None = None,
    ) -> None:
        repository = TokenRepository.from_session(session)
        if await repository.get_live_own(actor, token_id, _now()) is None:
            raise NotFound("No such token.")
        await forget(store, await repository.revoke(_now(), token_ids=[token_id]), session=session)
        await audit.record(
            session,
            actor,
            action="token.revoked",
            origin=origin,
            subject_type="access_token",
            subject_id=token_id,
        )

    async def logout(
        self, session: AsyncSession, actor: Actor, *, store: Store, origin: Origin | None = None
    ) -> None:
        """Revoke the token the request came with."""
        if actor.token_id is None:
            return
        repository = TokenRepository.from_session(session)
        await forget(
            store, await repository.revoke(_now(), token_ids=[actor.token_id]), session=session
        )
        await audit.record(
            session,
            actor,
            action="auth.logout",
            origin=origin,
            subject_type="access_token",
            subject_id=actor.token_id,
        )

    async def revoke_user(
        self,
        session: AsyncSession,
        *,
        store: Store,
        user_id: uuid.UUID,
        except_id: uuid.UUID | None = None,
        purpose: TokenPurpose | None = None,
    ) -> int:
        """Revoke a user's live tokens (all, or all but one, or one purpose); how many."""
        hashes = await TokenRepository.from_session(session).revoke(
            _now(), user_ids=[user_id], except_id=except_id, purpose=purpose
        )
        await forget(store, hashes, session=session)
        return len(hashes)


class AuthService:
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
            second_factor = await _mfa.check_second_factor(
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
        issued = await _tokens.issue(
            session, user, settings=settings, purpose=purpose, origin=origin
        )
        user.last_login_at = _now()
        await audit.record(
            session,
            _actor_of(user),
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
        await audit.record(
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
        user = await _users.get(session, actor, user_id=user_id)
        was_locked = await throttle.unlock_account(store, email=user.email)
        await audit.record(
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

    async def register(
        self,
        session: AsyncSession,
        *,
        settings: Settings,
        data: RegisterRequest,
        origin: Origin | None = None,
    ) -> User:
        """Create an account. Its role is borrower unless an invitation says otherwise; nobody
        picks their own role."""
        passwords.check_policy(
            data.password, settings, email=str(data.email), full_name=data.full_name
        )
        if data.invitation_code and data.referral_code:
            raise InvalidInput("Use an invitation code or a referral code, not both.")
        organization_repository = OrganizationRepository.from_session(session)
        users = UserRepository.from_session(session)
        invitation: Invitation | None = None
        referred_by: uuid.UUID | None = None
        if data.invitation_code:
            invitation = await _invitations.usable(
                session, code=data.invitation_code, email=data.email
            )
            role = invitation.role
            organization = await organization_repository.get(invitation.organization_id)
            if invitation.role is Role.BORROWER and invitation.created_by_user_id is not None:
                inviter = await users.get(invitation.created_by_user_id)
                if inviter is not None and inviter.role in REFERRING_ROLES:
                    referred_by = inviter.id
        elif data.referral_code:
            referrer = await users.get_by_referral_code(data.referral_code)
            if referrer is None or not referrer.is_active or referrer.role not in REFERRING_ROLES:
                raise InvalidInput("This referral link is not valid.")
            role, referred_by = Role.BORROWER, referrer.id
            organization = await organization_repository.get(referrer.organization_id)
        else:
            role, organization = Role.BORROWER, await organization_repository.get_platform()
        if organization is None or organization.status is not OrganizationStatus.ACTIVE:
            raise InvalidInput("This organization is not accepting new accounts.")

        user = await _users.add(
            session,
            settings=settings,
            email=str(data.email),
            password=data.password,
            full_name=data.full_name,
            role=role,
            organization=organization,
            referred_by_user_id=referred_by,
        )
        user.language = data.language
        # Unverified until the mailed link is opened (lending/identity/verification.py).
        await email_verification.start(session, user, settings=settings)
        if invitation is not None:
            if not await InvitationRepository.from_session(session).claim(
                invitation.id, user.id, _now()
            ):
                raise InvalidInput("This invitation has already been used.")
        await audit.record(
            session,
            _actor_of(user),
            action="user.registered",
            origin=origin,
            subject_type="user",
            subject_id=user.id,
            details={
                "role": role.value,
                "via": "invitation" if invitation else "referral" if referred_by else "direct",
                "invitation_id": invitation.id if invitation else None,
                "referred_by_user_id": referred_by,
            },
        )
        return user

    async def change_password(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        store: Store,
        settings: Settings,
        current_password: str,
        new_password: str,
        origin: Origin | None = None,
    ) -> None:
        """Change one's password; every other token of the account is revoked."""
        origin = origin or Origin()
        user = await _users.own(session, actor)
        await verify_own_password(
            session,
            user,
            store=store,
            settings=settings,
            password=current_password,
            origin=origin,
            field="current_password",
        )
        if new_password == current_password:
            raise InvalidInput(
                [
                    {
                        "loc": ["body", "new_password"],
                        "msg": "The new password must differ from the current one.",
                        "type": "password_policy",
                    }
                ]
            )
        passwords.check_policy(
            new_password, settings, field="new_password", email=user.email, full_name=user.full_name
        )
        user.password_hash = await passwords.hash_password(settings, new_password)
        user.password_changed_at = _now()
        revoked = await _tokens.revoke_user(
            session, store=store, user_id=user.id, except_id=actor.token_id
        )
        await audit.record(
            session,
            actor,
            action="auth.password_changed",
            origin=origin,
            subject_type="user",
            subject_id=user.id,
            details={"tokens_revoked": revoked},
        )


async def verify_own_password(
    session: AsyncSession,
    user: User,
    *,
    store: Store,
    settings: Settings,
    password: str,
    origin: Origin,
    field: str,
) -> None:
    """Re-check a signed-in user's password before a sensitive change. Counts towards the same
    lockout as sign-in, so a stolen token cannot be used to guess the password."""
    await throttle.ensure_allowed(store, email=user.email, ip=origin.ip)
    if not await passwords.verify_password(settings, user.password_hash, password):
        await throttle.record_failure(store, settings, email=user.email, ip=origin.ip)
        raise InvalidInput(
            [{"loc": ["body", field], "msg": "The password is incorrect.", "type": "password"}]
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
        ok = await _mfa._check_totp(session, user, settings=settings, code=code)
        found: Literal["totp", "recovery_code"] | None = "totp" if ok else None
    else:
        found = await _mfa.check_second_factor(session, user, settings=settings, code=code)
    if found is None:
        await throttle.record_failure(store, settings, email=user.email, ip=origin.ip)
        raise InvalidInput(
            [{"loc": ["body", "code"], "msg": "The code is not valid.", "type": "otp"}]
        )
    return found


class MfaService:
    async def status(self, session: AsyncSession, actor: Actor, *, settings: Settings) -> MfaStatus:
        user = await _users.own(session, actor)
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
        user = await _users.own(session, actor)
        if user.mfa_enabled:
            raise Conflict("Two-factor authentication is already on; turn it off first.")
        secret = totp.new_secret()
        user.mfa_secret_encrypted = crypto.encryptor(settings).encrypt(
            secret.encode(), totp_associated_data(user.id)
        )
        user.mfa_last_used_step = None
        uri = totp.provisioning_uri(secret, account=user.email, issuer=settings.mfa_issuer)
        await audit.record(
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
        user = await _users.own(session, actor)
        if user.mfa_enabled:
            raise Conflict("Two-factor authentication is already on.")
        if user.mfa_secret_encrypted is None:
            raise Conflict("Start with POST /api/v1/mfa/enroll.")
        if not await self._check_totp(session, user, settings=settings, code=code):
            raise InvalidInput(
                [{"loc": ["body", "code"], "msg": "The code is not valid.", "type": "otp"}]
            )
        user.mfa_enabled_at = _now()
        codes = await self._new_recovery_codes(session, user, settings)
        # Enrolment-only tokens have served their purpose: sign in again with a code.
        await _tokens.revoke_user(
            session, store=store, user_id=user.id, purpose=TokenPurpose.MFA_ENROLLMENT
        )
        await audit.record(
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
        user = await _users.own(session, actor)
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
        await audit.record(
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
        user = await _users.own(session, actor)
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
        await audit.record(
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
        code_hash = totp.recovery_code_hash(code, key=_recovery_key(settings))
        used = await RecoveryCodeRepository.from_session(session).use(user.id, code_hash, _now())
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
        key = _recovery_key(settings)
        await RecoveryCodeRepository.from_session(session).replace(
            user.id, [totp.recovery_code_hash(code, key=key) for code in codes]
        )
        return RecoveryCodes(recovery_codes=codes)


class OrganizationService:
    async def list(self, session: AsyncSession, actor: Actor) -> Sequence[Organization]:
        return await OrganizationRepository.from_session(session).list_readable(actor)

    async def get(
        self, session: AsyncSession, actor: Actor, *, organization_id: uuid.UUID
    ) -> Organization:
        organization = await OrganizationRepository.from_session(session).get_readable(
            actor, organization_id
        )
        if organization is None:
            raise NotFound("No such organization.")
        return organization

    async def create(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        data: OrganizationCreate,
        origin: Origin | None = None,
    ) -> Organization:
        """Create a broker firm (the platform organization exists once, from the migration)."""
        actor.require(Scope.ORGS_MANAGE)
        repository = OrganizationRepository.from_session(session)
        if await repository.get_by_slug(data.slug) is not None:
            raise Conflict(f"The slug {data.slug!r} is taken.")
        organization = Organization(
            name=data.name,
            slug=data.slug,
            kind=OrganizationKind.BROKER_FIRM,
            licence_number=data.licence_number,
            status=OrganizationStatus.ACTIVE,
            mfa_required_roles=list(data.mfa_required_roles)
            if data.mfa_required_roles is not None
            else None,
        )
        try:
            async with session.begin_nested():
                await repository.add(organization)
        except IntegrityError:
            raise Conflict(f"The slug {data.slug!r} is taken.") from None
        await audit.record(
            session,
            actor,
            action="organization.created",
            origin=origin,
            organization_id=organization.id,
            subject_type="organization",
            subject_id=organization.id,
            details={"slug": organization.slug},
        )
        return organization

    async def update(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        store: Store,
        settings: Settings,
        organization_id: uuid.UUID,
        data: OrganizationUpdate,
        origin: Origin | None = None,
    ) -> Organization:
        actor.require(Scope.ORGS_MANAGE)
        organization = await self.get(session, actor, organization_id=organization_id)
        # Null clears the licence number and the MFA list (back to the platform default); for the
        # name and status it means "no change".
        changes = {
            key: value
            for key, value in data.model_dump(exclude_unset=True).items()
            if value is not None or key in {"licence_number", "mfa_required_roles"}
        }
        if (
            changes.get("status") is OrganizationStatus.SUSPENDED
            and organization.kind is OrganizationKind.PLATFORM
        ):
            raise Conflict("The platform organization cannot be suspended.")
        before = mfa_required_roles(organization, settings)
        for field, value in changes.items():
            setattr(organization, field, value)
        await session.flush()
        token_repository = TokenRepository.from_session(session)
        if "status" in changes:
            # Suspension takes effect on the next request, not when cached entries expire.
            await forget(
                store,
                await token_repository.live_hashes_in_organization(organization.id, _now()),
                session=session,
            )
        newly_required = mfa_required_roles(organization, settings) - before
        if newly_required:
            # Tokens obtained without MFA by people who now need it stop working: they sign in
            # again and get an enrolment-only token.
            for user in await UserRepository.from_session(session).list_readable(
                actor, organization_id=organization.id, role=None, limit=10_000, offset=0
            ):
                if user.role in newly_required and not user.mfa_enabled:
                    await _tokens.revoke_user(session, store=store, user_id=user.id)
        await audit.record(
            session,
            actor,
            action="organization.updated",
            origin=origin,
            organization_id=organization.id,
            subject_type="organization",
            subject_id=organization.id,
            details={"changes": changes},
        )
        return organization


class UserService:
    async def own(self, session: AsyncSession, actor: Actor) -> User:
        user = await UserRepository.from_session(session).get(actor.user_id)
        if user is None:
            raise NotFound("No such user.")
        return user

    async def me(self, session: AsyncSession, actor: Actor, *, settings: Settings) -> Me:
        user = await self.own(session, actor)
        organization = await OrganizationRepository.from_session(session).get(user.organization_id)
        assert organization is not None
        return Me(
            **UserRead.model_validate(user).model_dump(),
            organization=OrganizationBrief.model_validate(organization),
            scopes=sorted(scope.value for scope in actor.scopes),
            mfa_required=user.role in mfa_required_roles(organization, settings),
            voice_enabled=settings.voice_configured,
        )

    async def update_me(
        self, session: AsyncSession, actor: Actor, *, settings: Settings, full_name: str
    ) -> Me:
        """Change one's own profile: the name, and nothing that grants anything."""
        user = await self.own(session, actor)
        user.full_name = full_name
        await session.flush()
        return await self.me(session, actor, settings=settings)

    async def referral_link(
        self, session: AsyncSession, actor: Actor, *, settings: Settings
    ) -> ReferralLink:
        actor.require(Scope.REFERRALS_SHARE)
        user = await self.own(session, actor)
        if user.referral_code is None:  # a role granted before codes were handed out
            user.referral_code = new_referral_code()
            await session.flush()
        url = f"{settings.public_url.rstrip('/')}/register?ref={user.referral_code}"
        return ReferralLink(code=user.referral_code, url=url)

    async def list(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        organization_id: uuid.UUID | None = None,
        role: Role | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Sequence[User]:
        actor.require_any(Scope.USERS_MANAGE_FIRM, Scope.USERS_MANAGE_ALL)
        if organization_id is not None:
            await _organizations.get(session, actor, organization_id=organization_id)
        return await UserRepository.from_session(session).list_readable(
            actor, organization_id=organization_id, role=role, limit=limit, offset=offset
        )

    async def page(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        role: Role | None = None,
        search: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page[User]:
        """A keyset page of the users `actor` manages, newest first, by role and name/email."""
        actor.require_any(Scope.USERS_MANAGE_FIRM, Scope.USERS_MANAGE_ALL)
        return await UserRepository.from_session(session).page_readable(
            actor,
            role=role.value if role else None,
            search=search,
            cursor=cursor,
            limit=limit,
        )

    async def get(self, session: AsyncSession, actor: Actor, *, user_id: uuid.UUID) -> User:
        actor.require_any(Scope.USERS_MANAGE_FIRM, Scope.USERS_MANAGE_ALL)
        user = await UserRepository.from_session(session).get_readable(actor, user_id)
        if user is None:
            raise NotFound("No such user.")
        return user

    async def update(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        store: Store,
        user_id: uuid.UUID,
        data: UserUpdate,
        origin: Origin | None = None,
    ) -> User:
        """Change a user: name and active flag (firm manager, platform admin); role and
        organization (platform admin only). Nobody changes their own role, organization or
        active flag."""
        user = await self.get(session, actor, user_id=user_id)
        # An explicit null means "no change" for every field here.
        changes = {k: v for k, v in data.model_dump(exclude_unset=True).items() if v is not None}
        granting = {"role", "organization_id"} & changes.keys()
        if user.id == actor.user_id and (granting or "is_active" in changes):
            raise PermissionDenied("You cannot change your own role, organization or status.")
        if granting and not actor.has(Scope.USERS_MANAGE_ALL):
            raise PermissionDenied("Only a platform administrator changes roles and organizations.")
        if user.role is Role.BROKER_MANAGER and not actor.has(Scope.USERS_MANAGE_ALL):
            raise PermissionDenied("Only a platform administrator changes a broker manager.")
        if (
            changes.get("is_active") is True
            and not user.is_active
            and user.deactivated_by_role in _PLATFORM_DEACTIVATORS
            and not actor.has(Scope.USERS_MANAGE_ALL)
        ):
            raise PermissionDenied(
                "A platform administrator deactivated this user; only one can re-activate them."
            )

        before = {"role": user.role.value, "organization_id": str(user.organization_id)}
        if granting:
            role = changes.get("role") or user.role
            organization = await _organizations.get(
                session,
                actor,
                organization_id=changes.get("organization_id") or user.organization_id,
            )
            _check_role_fits(role, organization)
            user.role, user.organization_id = role, organization.id
            if role in REFERRING_ROLES and user.referral_code is None:
                user.referral_code = new_referral_code()
        if "full_name" in changes:
            user.full_name = changes["full_name"]
        if "is_active" in changes and changes["is_active"] != user.is_active:
            user.is_active = changes["is_active"]
            user.deactivated_by_role = None if user.is_active else actor.role.value
        await session.flush()

        after = {"role": user.role.value, "organization_id": str(user.organization_id)}
        if after != before or changes.get("is_active") is False:
            # Signs the user out everywhere: the next sign-in applies the new role and its
            # MFA requirement; a disabled user keeps nothing.
            revoked = await _tokens.revoke_user(session, store=store, user_id=user.id)
        else:
            revoked = 0
        if after != before:
            await audit.record(
                session,
                actor,
                action="user.role_granted",
                origin=origin,
                organization_id=user.organization_id,
                subject_type="user",
                subject_id=user.id,
                details={"before": before, "after": after, "tokens_revoked": revoked},
            )
        if "is_active" in changes:
            await audit.record(
                session,
                actor,
                action="user.activated" if user.is_active else "user.deactivated",
                origin=origin,
                organization_id=user.organization_id,
                subject_type="user",
                subject_id=user.id,
                details={"tokens_revoked": revoked},
            )
        return user

    async def create(
        self,
        session: AsyncSession,
        *,
        settings: Settings,
        email: str,
        password: str,
        full_name: str,
        role: Role,
        organization_slug: str | None = None,
        origin: Origin | None = None,
    ) -> User:
        """Create a user with any role, for operators (the CLI): whoever runs it already holds
        the database. Audited with `origin.operator`."""
        passwords.check_policy(password, settings, email=email, full_name=full_name)
        repository = OrganizationRepository.from_session(session)
        if organization_slug is None:
            organization = await repository.get_platform()
        else:
            found = await repository.get_by_slug(organization_slug)
            if found is None:
                raise NotFound(f"No organization with the slug {organization_slug!r}.")
            organization = found
        _check_role_fits(role, organization)
        user = await self.add(
            session,
            settings=settings,
            email=email,
            password=password,
            full_name=full_name,
            role=role,
            organization=organization,
        )
        await audit.record(
            session,
            None,
            action="user.created",
            origin=origin,
            organization_id=organization.id,
            subject_type="user",
            subject_id=user.id,
            details={"role": role.value},
        )
        return user

    async def add(
        self,
        session: AsyncSession,
        *,
        settings: Settings,
        email: str,
        password: str,
        full_name: str,
        role: Role,
        organization: Organization,
        referred_by_user_id: uuid.UUID | None = None,
    ) -> User:
        """Insert a user whose fields were already checked; Conflict when the email is taken."""
        repository = UserRepository.from_session(session)
        taken = Conflict("An account with this email address already exists.")
        if await repository.get_by_email(email) is not None:
            raise taken
        user = User(
            email=email.strip(),
            full_name=full_name,
            role=role,
            organization_id=organization.id,
            password_hash=await passwords.hash_password(settings, password),
            password_changed_at=_now(),
            referred_by_user_id=referred_by_user_id,
            referral_code=new_referral_code() if role in REFERRING_ROLES else None,
        )
        try:
            async with session.begin_nested():  # a concurrent registration of the same address
                await repository.add(user)
        except IntegrityError:
            raise taken from None
        return user


class InvitationService:
    async def list(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        organization_id: uuid.UUID | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Sequence[Invitation]:
        actor.require_any(Scope.USERS_MANAGE_FIRM, Scope.USERS_MANAGE_ALL)
        if organization_id is not None:
            await _organizations.get(session, actor, organization_id=organization_id)
        return await InvitationRepository.from_session(session).list_readable(
            actor, organization_id=organization_id, limit=limit, offset=offset
        )

    async def create(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        settings: Settings,
        data: InvitationCreate,
        origin: Origin | None = None,
    ) -> InvitationCreated:
        """Invite someone into an organization with a role. A broker manager invites brokers and
        borrowers into their own firm; a platform administrator anyone anywhere."""
        actor.require_any(Scope.USERS_MANAGE_FIRM, Scope.USERS_MANAGE_ALL)
        organization = await _organizations.get(
            session, actor, organization_id=data.organization_id or actor.organization_id
        )
        # get() above already kept a manager inside their own firm (404 elsewhere).
        if not actor.has(Scope.USERS_MANAGE_ALL) and data.role not in FIRM_INVITABLE_ROLES:
            raise PermissionDenied("A broker manager invites brokers and borrowers only.")
        _check_role_fits(data.role, organization)
        if organization.status is not OrganizationStatus.ACTIVE:
            raise Conflict("This organization is suspended.")
        if data.email and await UserRepository.from_session(session).get_by_email(str(data.email)):
            raise Conflict("An account with this email address already exists.")
        code = new_invitation_code()
        hours = data.expires_in_hours or settings.invitation_ttl_hours
        invitation = Invitation(
            id=uuid.uuid4(),
            organization_id=organization.id,
            role=data.role,
            email=str(data.email) if data.email else None,
            code_hash=digest(code),
            created_by_user_id=actor.user_id,
            created_at=_now(),
            expires_at=_now() + timedelta(hours=hours),
        )
        await InvitationRepository.from_session(session).add(invitation)
        await audit.record(
            session,
            actor,
            action="invitation.created",
            origin=origin,
            organization_id=organization.id,
            subject_type="invitation",
            subject_id=invitation.id,
            details={"role": data.role.value, "email_bound": data.email is not None},
        )
        url = f"{settings.public_url.rstrip('/')}/register?invitation={code}"
        return InvitationCreated(
            **InvitationRead.model_validate(invitation).model_dump(), code=code, url=url
        )

    async def revoke(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        invitation_id: uuid.UUID,
        origin: Origin | None = None,
    ) -> None:
        actor.require_any(Scope.USERS_MANAGE_FIRM, Scope.USERS_MANAGE_ALL)
        invitation = await InvitationRepository.from_session(session).get_readable(
            actor, invitation_id
        )
        if invitation is None:
            raise NotFound("No such invitation.")
        if invitation.used_at is not None:
            raise Conflict("This invitation was already used.")
        if invitation.revoked_at is None:
            invitation.revoked_at = _now()
            await session.flush()
            await audit.record(
                session,
                actor,
                action="invitation.revoked",
                origin=origin,
                organization_id=invitation.organization_id,
                subject_type="invitation",
                subject_id=invitation.id,
            )

    async def usable(self, session: AsyncSession, *, code: str, email: str) -> Invitation:
        """The invitation behind `code`, if `email` may register with it now."""
        invitation = await InvitationRepository.from_session(session).get_by_code_hash(digest(code))
        if invitation is None or invitation.revoked_at is not None:
            raise InvalidInput("This invitation code is not valid.")
        if invitation.used_at is not None:
            raise InvalidInput("This invitation has already been used.")
        if invitation.expires_at <= _now():
            raise InvalidInput("This invitation has expired; ask for a new one.")
        if invitation.email and invitation.email.strip().lower() != email.strip().lower():
            raise InvalidInput("This invitation is for a different email address.")
        return invitation


_auth = AuthService()
_tokens = TokenService()
_mfa = MfaService()
_organizations = OrganizationService()
_users = UserService()
_invitations = InvitationService()

# The singletons, named after their noun; callers import them with a suffix, e.g.
# `from lending.identity.service import user as user_service`.
auth = _auth
token = _tokens
mfa = _mfa
organization = _organizations
user = _users
invitation = _invitations
