"""Accounts: registration (direct, by invitation or by referral) and changing one's password."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from lending.audit.schemas import Origin
from lending.audit.service import audit_service
from lending.config import Settings
from lending.errors import InvalidInput
from lending.identity import passwords
from lending.identity.actor import Actor
from lending.identity.invitations import invitation_service
from lending.identity.repository import (
    InvitationRepository,
    OrganizationRepository,
    UserRepository,
)
from lending.identity.rules import REFERRING_ROLES, actor_of, now, verify_own_password
from lending.identity.schemas import (
    RegisterRequest,
)
from lending.identity.sessions import token_service
from lending.identity.users import user_service
from lending.identity.verification import email_verification_service
from lending.kv import Store
from lending.models.identity import (
    Invitation,
    OrganizationStatus,
    Role,
    User,
)


class AccountService:
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
            invitation = await invitation_service.usable(
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

        user = await user_service.add(
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
        await email_verification_service.start(session, user, settings=settings)
        if invitation is not None:
            if not await InvitationRepository.from_session(session).claim(
                invitation.id, user.id, now()
            ):
                raise InvalidInput("This invitation has already been used.")
        await audit_service.record(
            session,
            actor_of(user),
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
        user = await user_service.own(session, actor)
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
        user.password_changed_at = now()
        revoked = await token_service.revoke_user(
            session, store=store, user_id=user.id, except_id=actor.token_id
        )
        await audit_service.record(
            session,
            actor,
            action="auth.password_changed",
            origin=origin,
            subject_type="user",
            subject_id=user.id,
            details={"tokens_revoked": revoked},
        )


account_service = AccountService()
