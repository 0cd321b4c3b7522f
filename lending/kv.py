"""Shared fast state: cache, rate-limit counters and pub/sub, on Redis or in process.

With `OMNIFIN_REDIS_URL` set, every instance of the API and the workers share one Redis; without it
an in-process store gives the same behaviour for a single process (the demo, a laptop).
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis

from lending.config import Settings


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    retry_after_seconds: int  # 0 when allowed


class Store(Protocol):
    backend: str

    async def get(self, key: str) -> bytes | None: ...
    async def set(self, key: str, value: bytes, ttl_seconds: float | None = None) -> None: ...
    async def delete(self, key: str) -> None: ...
    async def hit(self, key: str, limit: int, window_seconds: float) -> RateDecision: ...
    async def reset(self, key: str) -> None: ...
    async def acquire(self, key: str, ttl_seconds: float) -> bool: ...
    async def publish(self, channel: str, message: bytes) -> None: ...
    def subscribe(self, channel: str) -> AsyncIterator[bytes]: ...
    async def ping(self) -> None: ...
    async def close(self) -> None: ...


class MemoryStore:
    """In-process store for a single process; same semantics as RedisStore.

    Memory is bounded: expired values and rate windows whose hits are all older than their
    window are swept (at most every `sweep_interval_seconds`, on writes), and past `max_keys`
    the entries closest to expiry (values without a TTL last) are evicted, as Redis does under
    `volatile-ttl`. A sign-in failure counter evicted early only forgets failures."""

    backend = "memory"

    def __init__(self, *, max_keys: int = 100_000, sweep_interval_seconds: float = 30.0) -> None:
        self._values: dict[str, tuple[bytes, float | None]] = {}
        self._windows: dict[str, tuple[deque[float], float]] = {}
        self._subscribers: dict[str, set[asyncio.Queue[bytes]]] = {}
        self._max_keys = max_keys
        self._sweep_interval = sweep_interval_seconds
        self._last_sweep = time.monotonic()

    def size(self) -> int:
        """How many values and rate windows are held (expired ones until the next sweep). Not
        `__len__`: an empty store must stay truthy (`store or MemoryStore()`)."""
        return len(self._values) + len(self._windows)

    def sweep(self) -> None:
        """Drop what has expired; then, while over `max_keys`, what expires soonest."""
        now = time.monotonic()
        self._last_sweep = now
        for key in [k for k, (_, exp) in self._values.items() if exp is not None and exp <= now]:
            del self._values[key]
        for key in [k for k, (hits, w) in self._windows.items() if not hits or hits[-1] <= now - w]:
            del self._windows[key]
        excess = self.size() - self._max_keys
        if excess > 0:
            # Rate windows end at their last hit + window; values at their expiry (none: last).
            ends = [(hits[-1] + w, "w", k) for k, (hits, w) in self._windows.items()]
            ends += [
                (exp if exp is not None else math.inf, "v", k)
                for k, (_, exp) in self._values.items()
            ]
            for _, kind, key in sorted(ends)[:excess]:
                (self._windows if kind == "w" else self._values).pop(key, None)

    def _maybe_sweep(self) -> None:
        if (
            self.size() > self._max_keys
            or time.monotonic() - self._last_sweep >= self._sweep_interval
        ):
            self.sweep()

    async def get(self, key: str) -> bytes | None:
        item = self._values.get(key)
        if item is None:
            return None
        value, expires_at = item
        if expires_at is not None and expires_at <= time.monotonic():
            del self._values[key]
            return None
        return value

    async def set(self, key: str, value: bytes, ttl_seconds: float | None = None) -> None:
        expires_at = time.monotonic() + ttl_seconds if ttl_seconds else None
        self._values[key] = (value, expires_at)
        self._maybe_sweep()

    async def delete(self, key: str) -> None:
        self._values.pop(key, None)

    async def hit(self, key: str, limit: int, window_seconds: float) -> RateDecision:
        now = time.monotonic()
        window, _ = self._windows.setdefault(key, (deque(), window_seconds))
        self._windows[key] = (window, window_seconds)
        while window and window[0] <= now - window_seconds:
            window.popleft()
        if len(window) >= limit:
            retry = max(1, math.ceil(window[0] + window_seconds - now))
            return RateDecision(False, limit, 0, retry)
        window.append(now)
        self._maybe_sweep()
        return RateDecision(True, limit, limit - len(window), 0)

    async def reset(self, key: str) -> None:
        self._windows.pop(key, None)

    async def acquire(self, key: str, ttl_seconds: float) -> bool:
        """Set `key` only if it is not set (a lease that expires): True when this call got it."""
        if await self.get(key) is not None:
            return False
        await self.set(key, b"1", ttl_seconds)
        return True

    async def publish(self, channel: str, message: bytes) -> None:
        for queue in self._subscribers.get(channel, ()):
            queue.put_nowait(message)

    async def subscribe(self, channel: str) -> AsyncIterator[bytes]:
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._subscribers.setdefault(channel, set()).add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._subscribers[channel].discard(queue)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._values.clear()
        self._windows.clear()


# Sliding window log in one round trip: drop old hits, count, add this hit when under the limit,
# else report when the oldest hit leaves the window.
_SLIDING_WINDOW = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count >= limit then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return {0, count, tostring(tonumber(oldest[2]) + window - now)}
end
redis.call('ZADD', key, now, ARGV[4])
redis.call('PEXPIRE', key, math.ceil(window * 1000))
return {1, count + 1, '0'}
"""


class RedisStore:
    """Store on Redis, shared by every process that points at the same server."""

    backend = "redis"

    def __init__(self, url: str, prefix: str = "omnifin:") -> None:
        self._redis: Redis = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._prefix = prefix
        self._window_script = self._redis.register_script(_SLIDING_WINDOW)

    def _k(self, key: str) -> str:
        return self._prefix + key

    async def get(self, key: str) -> bytes | None:
        value = await self._redis.get(self._k(key))
        return value.encode() if isinstance(value, str) else value

    async def set(self, key: str, value: bytes, ttl_seconds: float | None = None) -> None:
        if ttl_seconds:
            await self._redis.set(self._k(key), value, px=max(1, int(ttl_seconds * 1000)))
        else:
            await self._redis.set(self._k(key), value)

    async def delete(self, key: str) -> None:
        await self._redis.delete(self._k(key))

    async def hit(self, key: str, limit: int, window_seconds: float) -> RateDecision:
        now = time.time()
        allowed, count, retry = await self._window_script(
            keys=[self._k("rate:" + key)],
            args=[repr(now), repr(window_seconds), limit, f"{now}:{uuid.uuid4().hex}"],
        )
        if int(allowed):
            return RateDecision(True, limit, max(0, limit - int(count)), 0)
        return RateDecision(False, limit, 0, max(1, math.ceil(float(retry))))

    async def reset(self, key: str) -> None:
        await self._redis.delete(self._k("rate:" + key))

    async def acquire(self, key: str, ttl_seconds: float) -> bool:
        """Set `key` only if it is not set (a lease that expires): True when this call got it."""
        got = await self._redis.set(self._k(key), b"1", nx=True, px=max(1, int(ttl_seconds * 1000)))
        return bool(got)

    async def publish(self, channel: str, message: bytes) -> None:
        await self._redis.publish(self._k(channel), message)

    async def subscribe(self, channel: str) -> AsyncIterator[bytes]:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(self._k(channel))
        try:
            async for item in pubsub.listen():
                if item.get("type") == "message":
                    yield item["data"]
        finally:
            await pubsub.unsubscribe()
            await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def ping(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()


def create_store(settings: Settings, prefix: str = "omnifin:") -> Store:
    if settings.redis_url is None:
        return MemoryStore()
    return RedisStore(settings.redis_url.get_secret_value(), prefix=prefix)
