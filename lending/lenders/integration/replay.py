"""Replay protection for webhooks: remember each lender event id, so a second delivery is known."""

from __future__ import annotations

from typing import Protocol

from lending.kv import Store


class WebhookReplayGuard(Protocol):
    """Where seen webhook event ids are kept. It must be shared by every instance of the API."""

    async def claim(self, key: str, ttl_seconds: float) -> bool:
        """Record `key`; True the first time within `ttl_seconds`, False for a repeat."""
        ...

    async def release(self, key: str) -> None:
        """Forget `key` (its processing failed, so the next delivery must be processed)."""
        ...


class StoreReplayGuard:
    """The guard on the shared store: Redis across instances, in process without Redis.

    A claim is a one-hit rate limit on the key, which both stores apply atomically, so two
    instances receiving the same delivery at once cannot both claim it.
    """

    def __init__(self, store: Store, *, prefix: str = "lender-webhook:") -> None:
        self._store = store
        self._prefix = prefix

    async def claim(self, key: str, ttl_seconds: float) -> bool:
        decision = await self._store.hit(self._prefix + key, limit=1, window_seconds=ttl_seconds)
        return decision.allowed

    async def release(self, key: str) -> None:
        await self._store.reset(self._prefix + key)
