"""The turn dispatcher under load and after a crash: at most `max_concurrent` turns run at once
(the rest wait their turn holding nothing, then run to `run.completed`); a turn that cannot get
a place in time is a 503 with Retry-After that frees its thread; the thread's lease is short and
renewed while a turn runs (a process killed mid-turn leaves one that lapses: tests/reliability/
test_api_crash.py).

Found by benchmarks/bench_load.py: with every turn admitted at once, 50 conversations on a
loaded machine held the connection pools until other requests timed out (500s), and turns
failed half-way (streams without `run.completed`)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any, cast

import pytest

from agents.events import Event, RunCompleted, RunStarted, Usage
from agents.runner import TurnRequest, TurnRunner
from agents.turns import TurnDispatcher, TurnEvents
from lending.errors import ServiceUnavailable
from lending.identity.actor import Actor
from lending.kv import MemoryStore
from lending.models.identity import Role


class _HeldRunner:
    """Stands for the turn runner: each turn starts, then waits for `release`."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.running = 0
        self.most_at_once = 0
        self.entered = 0

    async def run(self, request: TurnRequest) -> AsyncIterator[Event]:
        self.entered += 1
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            yield RunStarted(run_id="r", thread_id=str(request.thread_id), graph="g", mode="guided")
            await self.release.wait()
            yield RunCompleted(latency_ms=1.0, tokens=Usage(), cost=Decimal("0"))
        finally:
            self.running -= 1


def _dispatcher(
    runner: _HeldRunner, store: MemoryStore, **options: Any
) -> tuple[TurnDispatcher, set[asyncio.Task[Any]]]:
    tasks: set[asyncio.Task[Any]] = set()
    dispatcher = TurnDispatcher(
        cast(TurnRunner, runner), store, double_texting="reject", tasks=tasks, **options
    )
    return dispatcher, tasks


def _request() -> TurnRequest:
    actor = Actor.for_user(uuid.uuid4(), Role.BORROWER, uuid.uuid4())
    return TurnRequest(thread_id=uuid.uuid4(), actor=actor, message="hello")


async def _all_events(events: TurnEvents) -> list[str]:
    return [event.type async for event in events]


async def _settle(runner: _HeldRunner, entered: int) -> None:
    async with asyncio.timeout(10):
        while runner.entered < entered:
            await asyncio.sleep(0)
    for _ in range(100):  # every waiting start gets many chances to run
        await asyncio.sleep(0)


async def test_turns_beyond_the_bound_wait_their_turn_then_complete() -> None:
    runner, store = _HeldRunner(), MemoryStore()
    dispatcher, tasks = _dispatcher(runner, store, max_concurrent=2)
    starts = [asyncio.create_task(dispatcher.start(_request())) for _ in range(5)]
    await _settle(runner, 2)
    assert runner.entered == 2  # three wait, holding nothing
    assert sum(start.done() for start in starts) == 2
    runner.release.set()
    streams = await asyncio.gather(*starts)
    outcomes = await asyncio.gather(*(_all_events(events) for events in streams))
    await asyncio.gather(*tasks)
    assert outcomes == [["run.started", "run.completed"]] * 5
    assert runner.most_at_once == 2


async def test_a_turn_that_waits_too_long_is_a_503_and_frees_its_thread() -> None:
    runner, store = _HeldRunner(), MemoryStore()
    dispatcher, tasks = _dispatcher(runner, store, max_concurrent=1, wait_seconds=0.05)
    first = await dispatcher.start(_request())
    late = _request()
    with pytest.raises(ServiceUnavailable) as refused:
        await dispatcher.start(late)
    assert int(refused.value.headers["Retry-After"]) >= 1
    assert await store.get(f"chat:thread:{late.thread_id}:turn") is None
    assert runner.entered == 1
    runner.release.set()
    assert await _all_events(first) == ["run.started", "run.completed"]
    await asyncio.gather(*tasks)


async def test_the_threads_lease_is_renewed_while_its_turn_runs_and_freed_after() -> None:
    runner, store = _HeldRunner(), MemoryStore()
    dispatcher, tasks = _dispatcher(runner, store, lease_seconds=0.3)
    request = _request()
    lease = f"chat:thread:{request.thread_id}:turn"
    events = await dispatcher.start(request)
    await asyncio.sleep(1.0)  # three leases long: held only if renewed
    assert await store.get(lease) is not None
    runner.release.set()
    assert await _all_events(events) == ["run.started", "run.completed"]
    await asyncio.gather(*tasks)
    assert await store.get(lease) is None
