"""Turns that outlive the request that started them: each runs in a task of its own feeding a
queue, one at a time per thread; chat SSE, `/v1`, voice and evals read the queue.

A client that disconnects (or a network drop) does not lose the turn: its events go on into the
thread's records and the client reads the result from the thread's history when it reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, Literal

from agents.events import Event, RunError
from agents.runner import TurnRequest, TurnRunner
from lending.errors import Conflict, ServiceUnavailable
from lending.kv import Store

_QUEUE_WAIT_SECONDS = 60.0
_RETRY_AFTER_SECONDS = 5


class TurnDispatcher:
    """Starts turns for one process and lets them finish at shutdown.

    At most `max_concurrent` turns run at once in the process; more wait for a place, in the
    order they came, holding nothing (no database connection, no pool slot). Without that
    bound, 50 turns at once on a loaded 2-core machine held the connection pools long enough
    that other requests waited out the 30 s pool timeout (benchmarks/bench_load.py): turns
    failed half-way and dashboard reads were 500s.
    """

    def __init__(
        self,
        runner: TurnRunner,
        store: Store,
        *,
        double_texting: Literal["reject", "queue"],
        tasks: set[asyncio.Task[Any]],
        max_concurrent: int = 8,
        wait_seconds: float = 120.0,
        lease_seconds: float = 30.0,
    ) -> None:
        self.runner = runner
        self.store = store
        self.double_texting = double_texting
        self.tasks = tasks
        self.places = asyncio.Semaphore(max_concurrent)
        self.wait_seconds = wait_seconds
        self.lease_seconds = lease_seconds

    async def start(self, request: TurnRequest) -> TurnEvents:
        """Start a turn in its own task and return its events as they come.

        One turn at a time per thread (double-texting): a second message is refused with 409,
        or waits its turn when `OMNIFIN_CHAT_DOUBLE_TEXTING=queue`. A refusal before the turn
        began (unknown thread, an approval that is not the caller's) is raised here, so it
        becomes the request's error response rather than an event in a 200 stream.

        The thread's lease is short and renewed while the turn runs: a process killed mid-turn
        leaves it to expire within `lease_seconds`, and the thread takes messages again.
        """
        lease = f"chat:thread:{request.thread_id}:turn"
        if not await self.store.acquire(lease, self.lease_seconds):
            if self.double_texting == "reject":
                raise Conflict(
                    "The assistant is still answering your previous message; wait for it to finish."
                )
            async with asyncio.timeout(_QUEUE_WAIT_SECONDS):
                while not await self.store.acquire(lease, self.lease_seconds):
                    await asyncio.sleep(0.05)
        renewal = asyncio.create_task(self._renew(lease), name=f"lease-{request.thread_id}")
        try:
            async with asyncio.timeout(self.wait_seconds):
                await self.places.acquire()
        except BaseException as exc:
            await _stop(renewal)
            await self.store.delete(lease)
            if isinstance(exc, TimeoutError):
                raise ServiceUnavailable(
                    "The assistant is busy; try again shortly.",
                    headers={"Retry-After": str(_RETRY_AFTER_SECONDS)},
                ) from None
            raise
        queue: asyncio.Queue[Event | Exception | None] = asyncio.Queue()

        async def produce() -> None:
            try:
                async for event in self.runner.run(request):
                    queue.put_nowait(event)
            except Exception as exc:  # refused before the turn began
                queue.put_nowait(exc)
            finally:
                self.places.release()
                await _stop(renewal)  # before the delete: a late renewal must not set it again
                await self.store.delete(lease)
                queue.put_nowait(None)

        task = asyncio.create_task(produce(), name=f"turn-{request.thread_id}")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        first = await queue.get()
        if isinstance(first, Exception):
            raise first
        return TurnEvents(first, queue)

    async def _renew(self, lease: str) -> None:
        """Keep the thread's lease while its turn runs (cancelled when the turn ends)."""
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            with contextlib.suppress(Exception):  # a store hiccup: the next renewal may do
                await self.store.set(lease, b"1", self.lease_seconds)

    async def drain(self, timeout: float = 10) -> None:
        """Let running turns finish (bounded), then cancel what is left."""
        if not self.tasks:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await asyncio.gather(*self.tasks, return_exceptions=True)
        for task in list(self.tasks):
            task.cancel()


async def _stop(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


class TurnEvents:
    """A turn's events as they come: one by one (`async for`), or in batches of all that are
    ready (`batches()`), never waiting to fill one."""

    def __init__(self, first: Event | Exception | None, queue: asyncio.Queue[Any]) -> None:
        self._first = first
        self._queue = queue

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._events()

    async def _events(self) -> AsyncIterator[Event]:
        async for batch in self.batches():
            for event in batch:
                yield event

    async def batches(self) -> AsyncIterator[list[Event]]:
        item, queue = self._first, self._queue
        while item is not None:
            batch = [_event(item)]
            while not queue.empty():
                item = queue.get_nowait()
                if item is None:
                    break
                batch.append(_event(item))
            yield batch
            if item is not None:
                item = await queue.get()


def _event(item: Event | Exception) -> Event:
    if isinstance(item, Exception):
        detail = getattr(item, "detail", None)
        return RunError(error=type(item).__name__, detail=str(detail or "The turn failed."))
    return item
