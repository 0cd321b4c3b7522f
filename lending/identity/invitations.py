"""Invitations into an organization with a role: created, listed, revoked, and checked at
registration."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from lending.audit.schemas import Origin
from lending.audit.service import audit_service
from lending.config import Settings
from lending.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from lending.identity.actor import Actor
from lending.identity.links import app_link
from lending.identity.organizations import organization_service
from lending.identity.repository import (
    InvitationRepository,
    UserRepository,
)
from lending.identity.rules import FIRM_INVITABLE_ROLES, check_role_fits, now
from lending.identity.schemas import (
    InvitationCreate,
    InvitationCreated,
    InvitationRead,
)
from lending.identity.scopes import Scope
from lending.identity.tokens import (
    digest,
    new_invitation_code,
)
from lending.identity.users import user_service
from lending.mail.service import mail_service
from lending.models.identity import Invitation, OrganizationStatus, Role

_ROLE_WORDS: dict[str, dict[Role, str]] = {
    "en": {
        Role.BORROWER: "a borrower",
        Role.BROKER: "a broker",
        Role.BROKER_MANAGER: "a broker manager",
        Role.PLATFORM_ADMIN: "a platform administrator",
    },
    "zh": {
        Role.BORROWER: "借款人",
        Role.BROKER: "经纪人",
        Role.BROKER_MANAGER: "经纪经理",
        Role.PLATFORM_ADMIN: "平台管理员",
    },
}


def role_words(role: Role, language: str | None) -> str:
    words = _ROLE_WORDS["zh" if language == "zh" else "en"]
    return words.get(role, role.value.replace("_", " "))


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
            await organization_service.get(session, actor, organization_id=organization_id)
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
        organization = await organization_service.get(
            session, actor, organization_id=data.organization_id or actor.organization_id
        )
        # get() above already kept a manager inside their own firm (404 elsewhere).
        if not actor.has(Scope.USERS_MANAGE_ALL) and data.role not in FIRM_INVITABLE_ROLES:
            raise PermissionDenied("A broker manager invites brokers and borrowers only.")
        check_role_fits(data.role, organization)
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
            created_at=now(),
            expires_at=now() + timedelta(hours=hours),
        )
        await InvitationRepository.from_session(session).add(invitation)
        await audit_service.record(
            session,
            actor,
            action="invitation.created",
            origin=origin,
            organization_id=organization.id,
            subject_type="invitation",
            subject_id=invitation.id,
            details={"role": data.role.value, "email_bound": data.email is not None},
        )
        url = app_link(settings, f"/register?invitation={code}")
        if invitation.email is not None:
            inviter = await user_service.own(session, actor)
            language = data.language or inviter.language
            await mail_service.queue(
                session,
                settings=settings,
                to_address=invitation.email,
                kind="invitation",
                language=language,
                context={
                    "inviter": inviter.full_name,
                    "organization": organization.name,
                    "role": role_words(data.role, language),
                    "link": url,
                    "hours": hours,
                },
            )
        return InvitationCreated(
            **InvitationRead.model_validate(invitation).model_dump(),
            code=code,
            url=url,
            emailed=invitation.email is not None,
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
            invitation.revoked_at = now()
            await session.flush()
            await audit_service.record(
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
        if invitation.expires_at <= now():
            raise InvalidInput("This invitation has expired; ask for a new one.")
        if invitation.email and invitation.email.strip().lower() != email.strip().lower():
            raise InvalidInput("This invitation is for a different email address.")
        return invitation


invitation_service = InvitationService()
