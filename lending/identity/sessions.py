"""Sessions: bearer tokens issued, resolved (cached briefly in the store), listed and revoked."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from lending.audit.schemas import Origin
from lending.audit.service import audit_service
from lending.config import Settings
from lending.errors import NotAuthenticated, NotFound
from lending.identity.actor import Actor
from lending.identity.repository import (
    TokenRepository,
)
from lending.identity.rules import now
from lending.identity.schemas import (
    TokenRead,
    TokenResponse,
)
from lending.identity.tokens import (
    CachedToken,
    cache_key,
    digest,
    forget,
    new_access_token,
)
from lending.kv import Store
from lending.models.identity import (
    AccessToken,
    OrganizationStatus,
    TokenPurpose,
    User,
)

_MAX_TOKEN_LENGTH = 200
_INVALID_TOKEN = "The access token is not valid, has expired or was revoked."


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
            created_at=now(),
            expires_at=now() + timedelta(seconds=ttl),
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
        clock = time.time()
        repository = TokenRepository.from_session(session)
        found = await repository.resolve(token_hash, now())
        if found is None:
            raise NotAuthenticated(_INVALID_TOKEN)
        record, user, organization = found
        if not user.is_active or organization.status is not OrganizationStatus.ACTIVE:
            raise NotAuthenticated(_INVALID_TOKEN)
        # Written at most once per resolution period (and only on cache misses): the hot path
        # stays read-only.
        last_used = record.last_used_at.timestamp() if record.last_used_at else None
        if last_used is None or clock - last_used >= settings.token_last_used_resolution_seconds:
            await repository.touch(record.id, now())
        expires_at = record.expires_at.timestamp()
        ttl = min(settings.token_cache_seconds, expires_at - clock)
        if ttl > 0:
            entry = CachedToken(
                record.id, user.id, user.role, user.organization_id, record.purpose, expires_at
            )
            await store.set(cache_key(token_hash), entry.dumps(), ttl)
        return Actor.for_user(
            user.id, user.role, user.organization_id, token_id=record.id, purpose=record.purpose
        )

    async def list_own(self, session: AsyncSession, actor: Actor) -> list[TokenRead]:
        tokens = await TokenRepository.from_session(session).list_live(actor.user_id, now())
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
        if await repository.get_live_own(actor, token_id, now()) is None:
            raise NotFound("No such token.")
        await forget(store, await repository.revoke(now(), token_ids=[token_id]), session=session)
        await audit_service.record(
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
            store, await repository.revoke(now(), token_ids=[actor.token_id]), session=session
        )
        await audit_service.record(
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
            now(), user_ids=[user_id], except_id=except_id, purpose=purpose
        )
        await forget(store, hashes, session=session)
        return len(hashes)


token_service = TokenService()
