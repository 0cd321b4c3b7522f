"""The live bell: one LISTEN connection per process wakes the event streams of the people whose
notifications changed, and each stream reads what is new in a short session of its own.

A trigger on `notification` (migration 0031) sends NOTIFY with the person's id, which Postgres
delivers at commit and drops on rollback, so whichever process wrote the notification (a request,
the job worker, the CLI's demo seed), every API process hears of it and nothing uncommitted is
ever announced. When the LISTEN connection drops, every stream is woken once it is back and reads
again, so nothing written meanwhile is missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import orjson
import psycopg

from lending.db import SessionMaker, libpq_url, transaction
from lending.identity.actor import Actor
from lending.logs import get_logger
from lending.notifications.service import notification_service

CHANNEL = "omnifin_notification"
HEARTBEAT_SECONDS = 15.0
# A stream ends after this long and the client reconnects (with Last-Event-ID, losing nothing):
# the reconnection is authenticated again, so a revoked token stops hearing within this time.
STREAM_SECONDS = 300.0
_RECONNECT_SECONDS = (0.5, 1.0, 2.0, 5.0)

_log = get_logger(__name__)


class NotificationFeed:
    """Wake-ups by person, fed by `LISTEN omnifin_notification` on a connection of its own."""

    def __init__(self, database_url: str) -> None:
        self._url = libpq_url(database_url)
        self._watchers: dict[uuid.UUID, set[asyncio.Event]] = {}
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    @classmethod
    @contextlib.asynccontextmanager
    async def running(cls, database_url: str) -> AsyncIterator[NotificationFeed]:
        feed = cls(database_url)
        feed._task = asyncio.create_task(feed._listen(), name="omnifin-notification-feed")
        try:
            yield feed
        finally:
            feed._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await feed._task

    @contextlib.contextmanager
    def watch(self, user_id: uuid.UUID) -> Iterator[asyncio.Event]:
        """An event set whenever the person's notifications may have changed."""
        woken = asyncio.Event()
        self._watchers.setdefault(user_id, set()).add(woken)
        try:
            yield woken
        finally:
            watchers = self._watchers.get(user_id, set())
            watchers.discard(woken)
            if not watchers:
                self._watchers.pop(user_id, None)

    def _wake(self, user_id: uuid.UUID) -> None:
        for woken in self._watchers.get(user_id, ()):
            woken.set()

    def _wake_everyone(self) -> None:
        for watchers in self._watchers.values():
            for woken in watchers:
                woken.set()

    async def _listen(self) -> None:
        failures = 0
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._url, autocommit=True
                ) as connection:
                    await connection.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    failures = 0
                    self._wake_everyone()  # whatever was written while nobody listened
                    async for message in connection.notifies():
                        try:
                            self._wake(uuid.UUID(message.payload))
                        except ValueError:
                            _log.warning("notification_feed_bad_payload")
            except (psycopg.Error, OSError) as exc:
                self.listening.clear()
                delay = _RECONNECT_SECONDS[min(failures, len(_RECONNECT_SECONDS) - 1)]
                failures += 1
                _log.warning("notification_feed_reconnecting", error=repr(exc), delay=delay)
                await asyncio.sleep(delay)


def _frame(event: str, data: dict[str, Any], event_id: uuid.UUID | None) -> bytes:
    lines = [f"event: {event}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append("data: " + orjson.dumps(data).decode())
    return ("\n".join(lines) + "\n\n").encode()


def _cursor(last_event_id: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(last_event_id) if last_event_id else None
    except ValueError:
        return None


async def live_events(
    sessionmaker: SessionMaker,
    feed: NotificationFeed,
    actor: Actor,
    *,
    last_event_id: str | None,
    heartbeat_seconds: float = HEARTBEAT_SECONDS,
    stream_seconds: float = STREAM_SECONDS,
) -> AsyncIterator[bytes]:
    """The person's bell as Server-Sent Events: `unread` ({"unread_count"}) at the start and
    whenever it changes, `notification` (one NotificationRead) for each one written after the
    stream's cursor. Every event's id is the cursor (the newest notification sent): a client that
    reconnects with it as Last-Event-ID receives what it missed. A comment line keeps the
    connection alive; the stream ends after `stream_seconds` for the client to reconnect."""
    cursor = _cursor(last_event_id)
    loop = asyncio.get_running_loop()
    ends_at = loop.time() + stream_seconds
    last_count: int | None = None
    first = True
    with feed.watch(actor.user_id) as woken:
        yield b"retry: 2000\n\n"
        while True:
            woken.clear()
            async with transaction(sessionmaker) as session:
                # After the first read, no cursor means the person had none: all is new.
                changes = await notification_service.changes_since(
                    session, actor, after=cursor, from_start=not first
                )
            first = False
            for item in changes.items:
                yield _frame("notification", item.model_dump(mode="json"), item.id)
            cursor = changes.cursor or cursor
            if changes.unread_count != last_count:
                last_count = changes.unread_count
                yield _frame("unread", {"unread_count": last_count}, cursor)
            if loop.time() >= ends_at:
                return
            if changes.more:
                continue
            while not woken.is_set():
                left = ends_at - loop.time()
                if left <= 0:
                    return
                try:
                    await asyncio.wait_for(woken.wait(), min(heartbeat_seconds, left))
                except TimeoutError:
                    yield b": keep-alive\n\n"
