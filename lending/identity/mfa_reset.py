"""MFA reset with maker-checker: a platform administrator asks for a person's second factor to
be turned off (someone lost their phone and recovery codes), another approves. Approval
removes the TOTP secret and the recovery codes and ends every session; a person whose role
requires a second factor is then asked to enrol again at the next sign-in. Every step is
audited; the approver can be neither the requester nor the person reset."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lending.audit.schemas import Origin
from lending.audit.service import audit_service
from lending.errors import Conflict, NotFound, PermissionDenied
from lending.identity.actor import Actor
from lending.identity.repository import MfaResetRepository, RecoveryCodeRepository, UserRepository
from lending.identity.schemas import MfaResetCreate, MfaResetRead
from lending.identity.scopes import Scope
from lending.identity.sessions import token_service
from lending.kv import Store
from lending.models.identity import MfaResetRequest, MfaResetStatus
from lending.pagination import Page, map_page


class MfaResetMakerChecker(PermissionDenied):
    message = (
        "Maker-checker: another platform administrator must approve this MFA reset (not the one "
        "who asked for it, nor the person it resets)."
    )


class MfaResetService:
    async def request(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        user_id: uuid.UUID,
        data: MfaResetCreate,
        origin: Origin | None = None,
    ) -> MfaResetRead:
        """Ask for a person's second factor to be reset (pending until another admin approves)."""
        actor.require(Scope.USERS_MANAGE_ALL)
        user = await UserRepository.from_session(session).get_readable(actor, user_id)
        if user is None:
            raise NotFound("No such user.")
        if not user.mfa_enabled:
            raise Conflict("Two-factor authentication is not on for this account.")
        repository = MfaResetRepository.from_session(session)
        if await repository.pending_for(user.id) is not None:
            raise Conflict("An MFA reset for this account is already waiting for approval.")
        request = MfaResetRequest(
            id=uuid.uuid4(),
            user_id=user.id,
            reason=data.reason,
            status=MfaResetStatus.PENDING,
            requested_by_user_id=actor.user_id,
        )
        try:
            async with session.begin_nested():
                await repository.add(request)
        except IntegrityError:
            raise Conflict(
                "An MFA reset for this account is already waiting for approval."
            ) from None
        await session.refresh(request)
        await audit_service.record(
            session,
            actor,
            action="mfa_reset.requested",
            origin=origin,
            organization_id=user.organization_id,
            subject_type="user",
            subject_id=user.id,
            details={"request_id": str(request.id)},
        )
        return MfaResetRead.model_validate(request)

    async def approve(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        store: Store,
        request_id: uuid.UUID,
        origin: Origin | None = None,
    ) -> MfaResetRead:
        """The checker's approval: the second factor is removed and every session ends."""
        actor.require(Scope.USERS_MANAGE_ALL)
        request = await self._pending(session, request_id)
        if actor.user_id in (request.requested_by_user_id, request.user_id):
            raise MfaResetMakerChecker()
        user = await UserRepository.from_session(session).get_readable(actor, request.user_id)
        if user is None:
            raise NotFound("No such user.")
        user.mfa_secret_encrypted = None
        user.mfa_enabled_at = None
        user.mfa_last_used_step = None
        await RecoveryCodeRepository.from_session(session).delete_all(user.id)
        request.status = MfaResetStatus.APPROVED
        request.decided_by_user_id = actor.user_id
        request.decided_at = datetime.now(UTC)
        await session.flush()
        await token_service.revoke_user(session, store=store, user_id=user.id)
        await audit_service.record(
            session,
            actor,
            action="mfa_reset.approved",
            origin=origin,
            organization_id=user.organization_id,
            subject_type="user",
            subject_id=user.id,
            details={"request_id": str(request.id)},
        )
        return MfaResetRead.model_validate(request)

    async def cancel(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        request_id: uuid.UUID,
        origin: Origin | None = None,
    ) -> MfaResetRead:
        """Withdraw a pending request (any platform administrator, the requester included)."""
        actor.require(Scope.USERS_MANAGE_ALL)
        request = await self._pending(session, request_id)
        request.status = MfaResetStatus.CANCELLED
        request.decided_by_user_id = actor.user_id
        request.decided_at = datetime.now(UTC)
        await session.flush()
        await audit_service.record(
            session,
            actor,
            action="mfa_reset.cancelled",
            origin=origin,
            subject_type="user",
            subject_id=request.user_id,
            details={"request_id": str(request.id)},
        )
        return MfaResetRead.model_validate(request)

    async def pending_for(
        self, session: AsyncSession, actor: Actor, *, user_id: uuid.UUID
    ) -> MfaResetRead | None:
        actor.require(Scope.USERS_MANAGE_ALL)
        found = await MfaResetRepository.from_session(session).pending_for(user_id)
        return MfaResetRead.model_validate(found) if found else None

    async def page(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        status: MfaResetStatus | None = MfaResetStatus.PENDING,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page[MfaResetRead]:
        """Requests, newest first (pending ones by default: the checker's queue)."""
        actor.require(Scope.USERS_MANAGE_ALL)
        page = await MfaResetRepository.from_session(session).page(
            status=status, cursor=cursor, limit=limit
        )
        return map_page(page, MfaResetRead.model_validate)

    async def _pending(self, session: AsyncSession, request_id: uuid.UUID) -> MfaResetRequest:
        request = await MfaResetRepository.from_session(session).get(request_id, for_update=True)
        if request is None:
            raise NotFound("No such MFA reset request.")
        if request.status is not MfaResetStatus.PENDING:
            raise Conflict(f"This MFA reset request is already {request.status.value}.")
        return request


mfa_reset_service = MfaResetService()
