"""Resending an invitation: only the code's hash is kept, so the old code cannot be sent again;
the old invitation is revoked and a new one for the same firm, role and address is issued, in
one transaction, through the invitation service (its permission checks and audit rows)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from lending.audit.schemas import Origin
from lending.audit.service import audit_service
from lending.config import Settings
from lending.errors import Conflict, NotFound
from lending.identity.actor import Actor
from lending.identity.invitations import invitation_service
from lending.identity.repository import InvitationRepository
from lending.identity.schemas import MAX_INVITATION_HOURS, InvitationCreate, InvitationCreated
from lending.identity.scopes import Scope


class InvitationResendService:
    async def resend(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        settings: Settings,
        invitation_id: uuid.UUID,
        origin: Origin | None = None,
    ) -> InvitationCreated:
        """A fresh code for an unused invitation, valid for as long as the first one was (from
        now); the old code stops working. Shown once, like any new invitation's code."""
        actor.require_any(Scope.USERS_MANAGE_FIRM, Scope.USERS_MANAGE_ALL)
        old = await InvitationRepository.from_session(session).get_readable(actor, invitation_id)
        if old is None:
            raise NotFound("No such invitation.")
        if old.used_at is not None:
            raise Conflict("This invitation was already used.")
        await invitation_service.revoke(session, actor, invitation_id=old.id, origin=origin)
        created = await invitation_service.create(
            session,
            actor,
            settings=settings,
            data=InvitationCreate(
                role=old.role,
                email=old.email,
                organization_id=old.organization_id,
                expires_in_hours=_lifetime_hours(old.created_at, old.expires_at),
            ),
            origin=origin,
        )
        await audit_service.record(
            session,
            actor,
            action="invitation.resent",
            origin=origin,
            organization_id=old.organization_id,
            subject_type="invitation",
            subject_id=created.id,
            details={"replaces": str(old.id)},
        )
        return created


def _lifetime_hours(created_at: datetime, expires_at: datetime) -> int:
    """The first invitation's lifetime in whole hours, within what an invitation may have."""
    hours = round((expires_at - created_at).total_seconds() / 3600)
    return min(max(hours, 1), MAX_INVITATION_HOURS)


invitation_resend_service = InvitationResendService()
