"""Process-local cache of what each (prompt, label) resolves to, kept fresh two ways.

1. Push: when a label moves or an experiment starts or stops, the change is published on the
   shared store's "prompts" channel once the transaction has committed; every process that
   started its cache drops that prompt's entries.
2. Pull: an entry expires `ttl_seconds` after it was loaded, so a process that missed a message
   (Redis restarted, a subscription still connecting) serves a stale prompt for seconds, not for
   its lifetime.

An invalidation that arrives while a miss is being loaded wins: the loaded value is not stored
(`generation` guards it), so a slow read cannot put the old version back.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from agents.prompts.template import Template
from lending.kv import Store
from lending.logs import get_logger

log = get_logger(__name__)

CHANNEL = "prompts"
DEFAULT_TTL_SECONDS = 5.0
MAX_RETRY_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class CompiledVersion:
    number: int  # 0: the built-in text of agents/prompts/defaults.py
    template: Template


@dataclass(frozen=True, slots=True)
class CompiledArm:
    name: str
    weight: int
    version: CompiledVersion


@dataclass(frozen=True, slots=True)
class CompiledExperiment:
    id: uuid.UUID
    arms: tuple[CompiledArm, ...]


@dataclass(frozen=True, slots=True)
class Resolution:
    """What rendering (name, label) uses: a version, or a running experiment's arms."""

    name: str
    label: str
    version: CompiledVersion | None
    experiment: CompiledExperiment | None
    source: Literal["registry", "default"] = "registry"


class PromptCache:
    """Resolved (prompt, label) → version, with pub/sub invalidation and a TTL.

    In the API lifespan: `await cache.start(store)` and, on shutdown, `await cache.stop()`.
    """

    def __init__(
        self,
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        ready_timeout_seconds: float = 1.0,
        retry_seconds: float = 1.0,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self.ready_timeout_seconds = ready_timeout_seconds
        self.retry_seconds = retry_seconds
        self._entries: dict[tuple[str, str], tuple[Resolution, float]] = {}
        self._generation = 0
        self._listener: asyncio.Task[None] | None = None
        self._hello: tuple[bytes, asyncio.Event] | None = None

    @property
    def generation(self) -> int:
        """Changes on every invalidation; read it before loading a miss, pass it to `put`."""
        return self._generation

    @property
    def listening(self) -> bool:
        return self._listener is not None and not self._listener.done()

    def get(self, name: str, label: str) -> Resolution | None:
        item = self._entries.get((name, label))
        if item is None:
            return None
        resolution, expires_at = item
        if self.clock() >= expires_at:
            del self._entries[(name, label)]
            return None
        return resolution

    def put(self, resolution: Resolution, *, generation: int) -> None:
        """Store a loaded resolution, unless an invalidation happened while it was loaded."""
        if generation != self._generation:
            return
        key = (resolution.name, resolution.label)
        self._entries[key] = (resolution, self.clock() + self.ttl_seconds)

    def invalidate(self, name: str | None = None) -> None:
        """Drop one prompt's entries (every label), or everything."""
        self._generation += 1
        if name is None:
            self._entries.clear()
        else:
            for key in [key for key in self._entries if key[0] == name]:
                del self._entries[key]

    async def start(self, store: Store) -> None:
        """Listen for invalidations on `store`; returns once the subscription is live, or after
        `ready_timeout_seconds` (with a warning: the TTL still bounds staleness)."""
        await self.stop()
        token = uuid.uuid4().hex.encode()
        ready = asyncio.Event()
        self._hello = (token, ready)
        self._listener = asyncio.create_task(self._listen(store), name="prompt-cache-listener")
        # A subscription is live only once the store has it: prove it with a message to
        # ourselves, resent until it comes back.
        deadline = time.monotonic() + self.ready_timeout_seconds
        while not ready.is_set() and time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                await store.publish(CHANNEL, orjson.dumps({"hello": token.decode()}))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ready.wait(), timeout=0.05)
        if not ready.is_set():
            log.warning(
                "prompt cache subscription not confirmed; entries expire after the TTL",
                store=store.backend,
                ttl_seconds=self.ttl_seconds,
            )

    async def stop(self) -> None:
        listener, self._listener = self._listener, None
        self._hello = None
        if listener is not None and not listener.get_loop().is_closed():
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
        self.invalidate()

    async def _listen(self, store: Store) -> None:
        delay = self.retry_seconds
        while True:
            try:
                async for message in store.subscribe(CHANNEL):
                    delay = self.retry_seconds  # a message came through: the link is healthy
                    self._receive(message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "prompt cache subscription lost; retrying",
                    store=store.backend,
                    error=str(exc),
                    retry_in_seconds=delay,
                )
            # Whatever was published while we were not listening is lost: start clean.
            self.invalidate()
            await asyncio.sleep(delay)
            # Back off during a long outage, so that it does not fill the log.
            delay = min(delay * 2, MAX_RETRY_SECONDS)

    def _receive(self, message: bytes) -> None:
        try:
            payload: dict[str, Any] = orjson.loads(message)
        except orjson.JSONDecodeError:
            log.warning("ignoring a malformed message on the prompts channel")
            return
        if "hello" in payload:
            if self._hello is not None and payload["hello"].encode() == self._hello[0]:
                self._hello[1].set()
            return
        name = payload.get("name")
        self.invalidate(name if isinstance(name, str) else None)


async def publish_invalidation(store: Store, name: str | None) -> None:
    """Tell every process to drop `name` (None: everything) from its cache."""
    await store.publish(CHANNEL, orjson.dumps({"name": name}))


_PENDING = "omnifin.prompt_invalidations"
# Publishes in flight; held so that the event loop does not drop them half-way.
_in_flight: set[asyncio.Task[None]] = set()


def invalidate_after_commit(
    session: AsyncSession, *, name: str, cache: PromptCache, store: Store | None
) -> None:
    """Invalidate `name` once `session` commits.

    Before the commit, another process told to reload would read the old row and cache it
    again for a whole TTL. A rolled-back change leaves its invalidation pending for the
    session's next commit, which costs a reload and nothing else.
    """
    sync_session = session.sync_session
    pending: list[tuple[str, PromptCache, Store | None]] | None = sync_session.info.get(_PENDING)
    if pending is None:
        pending = sync_session.info[_PENDING] = []
        event.listen(sync_session, "after_commit", _after_commit)
    pending.append((name, cache, store))


def _after_commit(sync_session: Session) -> None:
    pending: list[tuple[str, PromptCache, Store | None]] = sync_session.info.get(_PENDING, [])
    items, pending[:] = list(pending), []
    for name, cache, store in dict.fromkeys(items):
        cache.invalidate(name)
        if store is not None:
            task = asyncio.get_running_loop().create_task(_publish(store, name))
            _in_flight.add(task)
            task.add_done_callback(_in_flight.discard)


async def _publish(store: Store, name: str) -> None:
    try:
        await publish_invalidation(store, name)
    except Exception as exc:
        # Other processes will catch up when their entry expires.
        log.warning("could not publish a prompt invalidation", prompt=name, error=str(exc))
