"""Opaque secrets (bearer tokens, invitation codes) stored as SHA-256, and the resolved-token cache.

A bearer token is `omf_` + 43 URL-safe characters (256 random bits); the prefix lets secret
scanners recognise a leaked one. Only its SHA-256 is stored: with that much entropy a fast hash
is enough, and a lookup stays one indexed equality.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from lending.db import after_commit
from lending.kv import Store
from lending.models.identity import Role, TokenPurpose

ACCESS_TOKEN_PREFIX = "omf_"
INVITATION_CODE_PREFIX = "omfi_"


def new_access_token() -> str:
    return ACCESS_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_invitation_code() -> str:
    return INVITATION_CODE_PREFIX + secrets.token_urlsafe(24)


def new_referral_code() -> str:
    # Public (it is in the link a broker shares), so short; unique by constraint.
    return secrets.token_urlsafe(9)


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


@dataclass(frozen=True, slots=True)
class CachedToken:
    """What a bearer token resolves to, kept briefly in the shared store."""

    token_id: uuid.UUID
    user_id: uuid.UUID
    role: Role
    organization_id: uuid.UUID
    purpose: TokenPurpose
    expires_at: float  # epoch seconds

    def dumps(self) -> bytes:
        return orjson.dumps(
            [
                str(self.token_id),
                str(self.user_id),
                self.role.value,
                str(self.organization_id),
                self.purpose.value,
                self.expires_at,
            ]
        )

    @classmethod
    def loads(cls, raw: bytes) -> CachedToken | None:
        try:
            token_id, user_id, role, organization_id, purpose, expires_at = orjson.loads(raw)
            return cls(
                uuid.UUID(token_id),
                uuid.UUID(user_id),
                Role(role),
                uuid.UUID(organization_id),
                TokenPurpose(purpose),
                float(expires_at),
            )
        except (ValueError, TypeError):  # an entry from an older release: treat as a miss
            return None


def cache_key(token_hash: bytes) -> str:
    return "auth:token:" + token_hash.hex()


async def forget(store: Store, token_hashes: Iterable[bytes], *, session: AsyncSession) -> None:
    """Drop cached resolutions, so that a revoked token or a changed role takes effect now.

    Dropped now and again after the session commits: between the two, a concurrent request
    still reads the old committed row and may cache it again; the second drop removes that.
    (Outside `transaction`/the request's session nothing runs the second: the cache entry then
    lives at most `token_cache_seconds`.)"""
    hashes = list(token_hashes)

    async def forget_tokens() -> None:
        for token_hash in hashes:
            await store.delete(cache_key(token_hash))

    await forget_tokens()
    if hashes:
        after_commit(session, forget_tokens)
