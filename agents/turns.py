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
from lending.errors import Conflict
from lending.kv import Store

_LEASE_SECONDS = 300.0
_QUEUE_WAIT_SECONDS = 60.0


class TurnDispatcher:
    """Starts turns for one process and lets them finish at shutdown."""

    def __init__(
        self,
        runner: TurnRunner,
        store: Store,
        *,
        double_texting: Literal["reject", "queue"],
        tasks: set[asyncio.Task[Any]],
    ) -> None:
        self.runner = runner
        self.store = store
        self.double_texting = double_texting
        self.tasks = tasks

    async def start(self, request: TurnRequest) -> TurnEvents:
        """Start a turn in its own task and return its events as they come.

        One turn at a time per thread (double-texting): a second message is refused with 409,
        or waits its turn when `OMNIFIN_CHAT_DOUBLE_TEXTING=queue`. A refusal before the turn
        began (unknown thread, an approval that is not the caller's) is raised here, so it
        becomes the request's error response rather than an event in a 200 stream.
        """
        lease = f"chat:thread:{request.thread_id}:turn"
        if not await self.store.acquire(lease, _LEASE_SECONDS):
            if self.double_texting == "reject":
                raise Conflict(
                    "The assistant is still answering your previous message; wait for it to finish."
                )
            async with asyncio.timeout(_QUEUE_WAIT_SECONDS):
                while not await self.store.acquire(lease, _LEASE_SECONDS):
                    await asyncio.sleep(0.05)
        queue: asyncio.Queue[Event | Exception | None] = asyncio.Queue()

        async def produce() -> None:
            try:
                async for event in self.runner.run(request):
                    queue.put_nowait(event)
            except Exception as exc:  # refused before the turn began
                queue.put_nowait(exc)
            finally:
                await self.store.delete(lease)
                queue.put_nowait(None)

        task = asyncio.create_task(produce(), name=f"turn-{request.thread_id}")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        first = await queue.get()
        if isinstance(first, Exception):
            raise first
        return TurnEvents(first, queue)

    async def drain(self, timeout: float = 10) -> None:
        """Let running turns finish (bounded), then cancel what is left."""
        if not self.tasks:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await asyncio.gather(*self.tasks, return_exceptions=True)
        for task in list(self.tasks):
            task.cancel()


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
