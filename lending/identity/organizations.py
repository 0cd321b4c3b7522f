"""Organizations: the platform and broker firms, their status and MFA requirements."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lending.audit.schemas import Origin
from lending.audit.service import audit_service
from lending.config import Settings
from lending.errors import Conflict, NotFound
from lending.identity.actor import Actor
from lending.identity.repository import (
    OrganizationRepository,
    TokenRepository,
    UserRepository,
)
from lending.identity.rules import mfa_required_roles, now
from lending.identity.schemas import (
    OrganizationCreate,
    OrganizationUpdate,
)
from lending.identity.scopes import Scope
from lending.identity.sessions import token_service
from lending.identity.tokens import (
    forget,
)
from lending.kv import Store
from lending.models.identity import (
    Organization,
    OrganizationKind,
    OrganizationStatus,
)


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
        await audit_service.record(
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
                await token_repository.live_hashes_in_organization(organization.id, now()),
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
                    await token_service.revoke_user(session, store=store, user_id=user.id)
        await audit_service.record(
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


organization_service = OrganizationService()
