"""A turn's read ahead of its thread's latest checkpoint (TurnCheckpointer.prefetch): the
graph's first read takes it instead of a round trip, once; a write to the thread drops it, so
nothing read before a write is served after it; a turn that does not take it drops it (real
PostgreSQL, statements counted on the pool)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import empty_checkpoint

from agents.checkpoint import TurnCheckpointer, open_checkpointer


@pytest.fixture
def thread_id(thread_ids: list[str]) -> str:
    """A thread for the test, its rows deleted afterwards (`thread_ids`)."""
    thread_ids.append(f"ahead-{uuid.uuid4()}")
    return thread_ids[0]


class _Recorded:
    """A cursor that records the first word of every statement it sends."""

    def __init__(self, cursor: Any, sent: list[str]) -> None:
        self._cursor, self._sent = cursor, sent

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)

    async def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        self._sent.append(str(query).split()[0].upper())
        return await self._cursor.execute(query, *args, **kwargs)


@pytest.fixture
async def saver(database_url: str) -> AsyncIterator[tuple[TurnCheckpointer, list[str]]]:
    """Our checkpointer, with every statement it sends recorded."""
    async with open_checkpointer(database_url, min_size=1, max_size=2) as checkpointer:
        sent: list[str] = []
        original = checkpointer._cursor

        @contextlib.asynccontextmanager
        async def counted(*, pipeline: bool = False) -> AsyncIterator[Any]:
            async with original(pipeline=pipeline) as cursor:
                yield _Recorded(cursor, sent)

        checkpointer._cursor = counted  # type: ignore[method-assign]
        yield checkpointer, sent


async def _put(saver: TurnCheckpointer, thread_id: str, turns: int) -> RunnableConfig:
    checkpoint = empty_checkpoint()
    checkpoint["channel_values"] = {"turns": turns}
    checkpoint["channel_versions"] = {"turns": turns}
    config: RunnableConfig = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    return await saver.aput(config, checkpoint, {"source": "loop", "step": turns}, {"turns": turns})


def _latest(thread_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}


async def _turns(saver: TurnCheckpointer, config: RunnableConfig) -> Any:
    found = await saver.aget_tuple(config)
    assert found is not None
    return found.checkpoint["channel_values"]["turns"]


async def test_the_first_read_of_the_latest_takes_the_read_ahead_once(
    saver: tuple[TurnCheckpointer, list[str]], thread_id: str
) -> None:
    checkpointer, sent = saver
    await _put(checkpointer, thread_id, 1)
    checkpointer.prefetch(thread_id)
    checkpointer.prefetch(thread_id)  # one read ahead per thread
    assert await _turns(checkpointer, _latest(thread_id)) == 1
    assert await _turns(checkpointer, _latest(thread_id)) == 1  # a second read asks again
    assert sent == ["INSERT", "SELECT", "SELECT"]


async def test_a_write_drops_the_read_ahead(
    saver: tuple[TurnCheckpointer, list[str]], thread_id: str
) -> None:
    checkpointer, _ = saver
    stored = await _put(checkpointer, thread_id, 1)
    checkpointer.prefetch(thread_id)
    await _read_ahead_done(checkpointer, thread_id)  # it read turn 1
    await _put(checkpointer, thread_id, 2)
    assert await _turns(checkpointer, _latest(thread_id)) == 2
    checkpointer.prefetch(thread_id)
    await _read_ahead_done(checkpointer, thread_id)
    await checkpointer.aput_writes(stored, [("turns", 4)], task_id="task-1")
    assert not checkpointer._ahead  # a task's writes drop it too


async def _read_ahead_done(checkpointer: TurnCheckpointer, thread_id: str) -> None:
    await asyncio.wait({checkpointer._ahead[thread_id]})


async def test_a_read_of_a_given_checkpoint_or_another_thread_leaves_it(
    saver: tuple[TurnCheckpointer, list[str]], thread_id: str
) -> None:
    checkpointer, sent = saver
    first = await _put(checkpointer, thread_id, 1)
    checkpointer.prefetch(thread_id)
    assert await _turns(checkpointer, first) == 1  # by its id: read, the read ahead kept
    assert await checkpointer.aget_tuple(_latest(f"other-{uuid.uuid4()}")) is None
    sent.clear()
    assert await _turns(checkpointer, _latest(thread_id)) == 1
    assert sent == []  # taken, no statement


async def test_a_read_ahead_not_taken_is_forgotten(
    saver: tuple[TurnCheckpointer, list[str]], thread_id: str
) -> None:
    checkpointer, sent = saver
    await _put(checkpointer, thread_id, 1)
    checkpointer.prefetch(thread_id)
    checkpointer.forget(thread_id)
    checkpointer.forget(thread_id)  # nothing left to forget
    await _put(checkpointer, thread_id, 2)
    sent.clear()
    assert await _turns(checkpointer, _latest(thread_id)) == 2
    assert sent == ["SELECT"]
