"""Queries of the identity domain. Reads meant for an actor go through `readable(actor)`
statements, so a caller only ever sees rows its role and organization allow."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Self

from sqlalchemy import Select, delete, false, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lending.identity.actor import Actor
from lending.identity.scopes import Scope
from lending.models.identity import (
    AccessToken,
    Invitation,
    MfaRecoveryCode,
    MfaResetRequest,
    MfaResetStatus,
    Organization,
    OrganizationKind,
    TokenPurpose,
    User,
)
from lending.pagination import Page, fetch_page


class _Repository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: AsyncSession) -> Self:
        return cls(session)


class OrganizationRepository(_Repository):
    def readable(self, actor: Actor) -> Select[Organization]:
        """Platform administrators see every organization; anyone else only their own."""
        statement = select(Organization)
        if not actor.has(Scope.ORGS_MANAGE):
            statement = statement.where(Organization.id == actor.organization_id)
        return statement

    async def get_readable(self, actor: Actor, organization_id: uuid.UUID) -> Organization | None:
        statement = self.readable(actor).where(Organization.id == organization_id)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def list_readable(self, actor: Actor) -> Sequence[Organization]:
        statement = self.readable(actor).order_by(Organization.kind.desc(), Organization.name)
        return (await self.session.execute(statement)).scalars().all()

    async def get(self, organization_id: uuid.UUID) -> Organization | None:
        return await self.session.get(Organization, organization_id)

    async def get_by_slug(self, slug: str) -> Organization | None:
        statement = select(Organization).where(Organization.slug == slug)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def get_platform(self) -> Organization:
        statement = select(Organization).where(Organization.kind == OrganizationKind.PLATFORM)
        return (await self.session.execute(statement)).scalar_one()

    async def add(self, organization: Organization) -> Organization:
        self.session.add(organization)
        await self.session.flush()
        return organization


class UserRepository(_Repository):
    def readable(self, actor: Actor) -> Select[User]:
        """All users for platform administrators, the firm's users for its manager, else oneself."""
        statement = select(User)
        if actor.has(Scope.USERS_MANAGE_ALL):
            return statement
        if actor.has(Scope.USERS_MANAGE_FIRM):
            return statement.where(User.organization_id == actor.organization_id)
        return statement.where(User.id == actor.user_id)

    async def get_readable(self, actor: Actor, user_id: uuid.UUID) -> User | None:
        statement = self.readable(actor).where(User.id == user_id)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def list_readable(
        self,
        actor: Actor,
        *,
        organization_id: uuid.UUID | None,
        role: str | None,
        limit: int,
        offset: int,
    ) -> Sequence[User]:
        statement = self.readable(actor).order_by(User.created_at, User.id)
        if organization_id is not None:
            statement = statement.where(User.organization_id == organization_id)
        if role is not None:
            statement = statement.where(User.role == role)
        statement = statement.limit(limit).offset(offset)
        return (await self.session.execute(statement)).scalars().all()

    async def page_readable(
        self,
        actor: Actor,
        *,
        role: str | None,
        search: str | None,
        cursor: str | None,
        limit: int,
    ) -> Page[User]:
        """Users `actor` may manage, newest first, by role and name or email (any case)."""
        statement = self.readable(actor)
        if role is not None:
            statement = statement.where(User.role == role)
        if search:
            escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            pattern = f"%{escaped}%"
            statement = statement.where(
                or_(
                    User.full_name.ilike(pattern, escape="\\"),
                    User.email.ilike(pattern, escape="\\"),
                )
            )
        return await fetch_page(
            self.session, statement, [User.created_at, User.id], cursor=cursor, limit=limit
        )

    async def get(self, user_id: uuid.UUID) -> User | None:
        return await self.session.get(User, user_id)

    async def get_by_email(self, email: str) -> User | None:
        statement = select(User).where(func.lower(User.email) == func.lower(email.strip()))
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def get_by_referral_code(self, code: str) -> User | None:
        statement = select(User).where(User.referral_code == code)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def add(self, user: User) -> User:
        self.session.add(user)
        await self.session.flush()
        return user

    async def claim_totp_step(self, user_id: uuid.UUID, step: int) -> bool:
        """Record `step` as used, unless it (or a later one) already was: one use per code, even
        for two requests racing with the same code."""
        statement = (
            update(User)
            .where(User.id == user_id)
            .where((User.mfa_last_used_step.is_(None)) | (User.mfa_last_used_step < step))
            .values(mfa_last_used_step=step)
            .returning(User.id)
            .execution_options(synchronize_session="fetch")
        )
        return (await self.session.execute(statement)).scalar_one_or_none() is not None


class TokenRepository(_Repository):
    async def add(self, token: AccessToken) -> AccessToken:
        self.session.add(token)
        await self.session.flush()
        return token

    async def resolve(
        self, token_hash: bytes, now: datetime
    ) -> tuple[AccessToken, User, Organization] | None:
        """The live token with this hash, its active user and their organization."""
        statement = (
            select(AccessToken, User, Organization)
            .join(User, User.id == AccessToken.user_id)
            .join(Organization, Organization.id == User.organization_id)
            .where(
                AccessToken.token_hash == token_hash,
                AccessToken.revoked_at.is_(None),
                AccessToken.expires_at > now,
            )
        )
        row = (await self.session.execute(statement)).one_or_none()
        return None if row is None else (row[0], row[1], row[2])

    async def touch(self, token_id: uuid.UUID, now: datetime) -> None:
        await self.session.execute(
            update(AccessToken)
            .where(AccessToken.id == token_id)
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )

    async def list_live(self, user_id: uuid.UUID, now: datetime) -> Sequence[AccessToken]:
        statement = (
            select(AccessToken)
            .where(
                AccessToken.user_id == user_id,
                AccessToken.revoked_at.is_(None),
                AccessToken.expires_at > now,
            )
            .order_by(AccessToken.created_at.desc())
        )
        return (await self.session.execute(statement)).scalars().all()

    async def get_live_own(
        self, actor: Actor, token_id: uuid.UUID, now: datetime
    ) -> AccessToken | None:
        statement = select(AccessToken).where(
            AccessToken.id == token_id,
            AccessToken.user_id == actor.user_id,
            AccessToken.revoked_at.is_(None),
            AccessToken.expires_at > now,
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def revoke(
        self,
        now: datetime,
        *,
        token_ids: Sequence[uuid.UUID] | None = None,
        user_ids: Sequence[uuid.UUID] | None = None,
        except_id: uuid.UUID | None = None,
        purpose: TokenPurpose | None = None,
    ) -> list[bytes]:
        """Revoke the live tokens matching every given filter; their hashes (to uncache)."""
        statement = update(AccessToken).where(AccessToken.revoked_at.is_(None))
        if token_ids is not None:
            statement = statement.where(AccessToken.id.in_(token_ids))
        if user_ids is not None:
            statement = statement.where(AccessToken.user_id.in_(user_ids))
        if except_id is not None:
            statement = statement.where(AccessToken.id != except_id)
        if purpose is not None:
            statement = statement.where(AccessToken.purpose == purpose)
        statement = (
            statement.values(revoked_at=now)
            .returning(AccessToken.token_hash)
            .execution_options(synchronize_session=False)
        )
        return list((await self.session.execute(statement)).scalars().all())

    async def live_hashes_in_organization(
        self, organization_id: uuid.UUID, now: datetime
    ) -> list[bytes]:
        statement = (
            select(AccessToken.token_hash)
            .join(User, User.id == AccessToken.user_id)
            .where(
                User.organization_id == organization_id,
                AccessToken.revoked_at.is_(None),
                AccessToken.expires_at > now,
            )
        )
        return list((await self.session.execute(statement)).scalars().all())

    async def live_hashes_of_user(self, user_id: uuid.UUID, now: datetime) -> list[bytes]:
        return [token.token_hash for token in await self.list_live(user_id, now)]


class InvitationRepository(_Repository):
    def readable(self, actor: Actor) -> Select[Invitation]:
        statement = select(Invitation)
        if actor.has(Scope.USERS_MANAGE_ALL):
            return statement
        if actor.has(Scope.USERS_MANAGE_FIRM):
            return statement.where(Invitation.organization_id == actor.organization_id)
        return statement.where(false())

    async def get_readable(self, actor: Actor, invitation_id: uuid.UUID) -> Invitation | None:
        statement = self.readable(actor).where(Invitation.id == invitation_id)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def list_readable(
        self, actor: Actor, *, organization_id: uuid.UUID | None, limit: int, offset: int
    ) -> Sequence[Invitation]:
        statement = self.readable(actor).order_by(Invitation.created_at.desc(), Invitation.id)
        if organization_id is not None:
            statement = statement.where(Invitation.organization_id == organization_id)
        statement = statement.limit(limit).offset(offset)
        return (await self.session.execute(statement)).scalars().all()

    async def get_by_code_hash(self, code_hash: bytes) -> Invitation | None:
        statement = select(Invitation).where(Invitation.code_hash == code_hash)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def add(self, invitation: Invitation) -> Invitation:
        self.session.add(invitation)
        await self.session.flush()
        return invitation

    async def claim(self, invitation_id: uuid.UUID, user_id: uuid.UUID, now: datetime) -> bool:
        """Mark the invitation used by `user_id`, unless it is no longer usable: single use even
        when two registrations race."""
        statement = (
            update(Invitation)
            .where(
                Invitation.id == invitation_id,
                Invitation.used_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > now,
            )
            .values(used_at=now, used_by_user_id=user_id)
            .returning(Invitation.id)
            .execution_options(synchronize_session="fetch")
        )
        return (await self.session.execute(statement)).scalar_one_or_none() is not None


class RecoveryCodeRepository(_Repository):
    async def replace(self, user_id: uuid.UUID, code_hashes: Sequence[bytes]) -> None:
        await self.delete_all(user_id)
        self.session.add_all(MfaRecoveryCode(user_id=user_id, code_hash=h) for h in code_hashes)
        await self.session.flush()

    async def delete_all(self, user_id: uuid.UUID) -> None:
        await self.session.execute(
            delete(MfaRecoveryCode).where(MfaRecoveryCode.user_id == user_id)
        )

    async def use(self, user_id: uuid.UUID, code_hash: bytes, now: datetime) -> bool:
        statement = (
            update(MfaRecoveryCode)
            .where(
                MfaRecoveryCode.user_id == user_id,
                MfaRecoveryCode.code_hash == code_hash,
                MfaRecoveryCode.used_at.is_(None),
            )
            .values(used_at=now)
            .returning(MfaRecoveryCode.id)
            .execution_options(synchronize_session=False)
        )
        return (await self.session.execute(statement)).scalar_one_or_none() is not None

    async def count_unused(self, user_id: uuid.UUID) -> int:
        statement = select(func.count()).where(
            MfaRecoveryCode.user_id == user_id, MfaRecoveryCode.used_at.is_(None)
        )
        return int((await self.session.execute(statement)).scalar_one())


class MfaResetRepository(_Repository):
    async def add(self, request: MfaResetRequest) -> MfaResetRequest:
        self.session.add(request)
        await self.session.flush()
        return request

    async def get(
        self, request_id: uuid.UUID, *, for_update: bool = False
    ) -> MfaResetRequest | None:
        return await self.session.get(MfaResetRequest, request_id, with_for_update=for_update)

    async def pending_for(self, user_id: uuid.UUID) -> MfaResetRequest | None:
        statement = select(MfaResetRequest).where(
            MfaResetRequest.user_id == user_id,
            MfaResetRequest.status == MfaResetStatus.PENDING,
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def page(
        self, *, status: MfaResetStatus | None, cursor: str | None, limit: int
    ) -> Page[MfaResetRequest]:
        statement = select(MfaResetRequest)
        if status is not None:
            statement = statement.where(MfaResetRequest.status == status)
        return await fetch_page(
            self.session,
            statement,
            [MfaResetRequest.created_at, MfaResetRequest.id],
            cursor=cursor,
            limit=limit,
        )
