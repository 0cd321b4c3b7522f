"""Users: one's own profile and referral link, and managing the users of a firm or the platform."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lending.audit.schemas import Origin
from lending.audit.service import audit_service
from lending.config import Settings
from lending.errors import Conflict, NotFound, PermissionDenied
from lending.identity import passwords, throttle
from lending.identity.actor import Actor
from lending.identity.links import app_link
from lending.identity.organizations import organization_service
from lending.identity.repository import (
    OrganizationRepository,
    UserRepository,
)
from lending.identity.rules import REFERRING_ROLES, check_role_fits, mfa_required_roles, now
from lending.identity.schemas import (
    Me,
    OrganizationBrief,
    ReferralLink,
    UserRead,
    UserUpdate,
)
from lending.identity.scopes import Scope
from lending.identity.sessions import token_service
from lending.identity.tokens import (
    new_referral_code,
)
from lending.kv import Store
from lending.mail.service import mail_service
from lending.models.identity import (
    Organization,
    Role,
    User,
)
from lending.pagination import Page

# Roles whose deactivation of a user only their like can undo.
_PLATFORM_DEACTIVATORS = frozenset({Role.PLATFORM_ADMIN.value})


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
        url = app_link(settings, f"/register?ref={user.referral_code}")
        return ReferralLink(code=user.referral_code, url=url)

    async def send_referral_link(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        store: Store,
        settings: Settings,
        email: str,
        language: str,
        origin: Origin | None = None,
    ) -> str:
        """Mail one's referral link to a prospective borrower, in the language chosen.
        Throttled per recipient and per sender like a reset request; the address is not
        audited (only that a link was sent).

        Raises:
            PermissionDenied: the role has no referral link.
            TooManyMailRequests: too many sent.
        """
        link = await self.referral_link(session, actor, settings=settings)
        user = await self.own(session, actor)
        ip = origin.ip if origin else None
        await throttle.count_mail_request(store, settings, kind="referral", email=email, ip=ip)
        await throttle.count_mail_request(
            store, settings, kind="referral_sender", email=user.email, ip=None
        )
        organization = await OrganizationRepository.from_session(session).get(user.organization_id)
        await mail_service.queue(
            session,
            settings=settings,
            to_address=email.strip(),
            kind="referral",
            language=language,
            context={
                "inviter": user.full_name,
                "organization": organization.name if organization else "Omnifin",
                "link": link.url,
            },
        )
        await audit_service.record(
            session,
            actor,
            action="referral.sent",
            origin=origin,
            subject_type="user",
            subject_id=user.id,
        )
        return "Your referral link is on its way."

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
            await organization_service.get(session, actor, organization_id=organization_id)
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
            organization = await organization_service.get(
                session,
                actor,
                organization_id=changes.get("organization_id") or user.organization_id,
            )
            check_role_fits(role, organization)
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
            revoked = await token_service.revoke_user(session, store=store, user_id=user.id)
        else:
            revoked = 0
        if after != before:
            await audit_service.record(
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
            await audit_service.record(
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
        check_role_fits(role, organization)
        user = await self.add(
            session,
            settings=settings,
            email=email,
            password=password,
            full_name=full_name,
            role=role,
            organization=organization,
        )
        await audit_service.record(
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
            password_changed_at=now(),
            referred_by_user_id=referred_by_user_id,
            referral_code=new_referral_code() if role in REFERRING_ROLES else None,
        )
        try:
            async with session.begin_nested():  # a concurrent registration of the same address
                await repository.add(user)
        except IntegrityError:
            raise taken from None
        return user


user_service = UserService()
