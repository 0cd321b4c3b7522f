"""Our checkpointer and LangGraph's own saver read each other's rows (real PostgreSQL).

agents/checkpoint.py writes LangGraph's tables with its own statements and builds on private
names of the library's serializer; the checkpoint packages are pinned exactly for that, and this
test is what a version bump must pass: what `TurnCheckpointer` writes, `AsyncPostgresSaver`
reads back unchanged, and the reverse.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver, Checkpoint, empty_checkpoint
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

from agents.checkpoint import open_checkpointer
from lending.db import libpq_url


@pytest.fixture
async def library_saver(database_url: str) -> AsyncIterator[AsyncPostgresSaver]:
    async with AsyncPostgresSaver.from_conn_string(libpq_url(database_url)) as saver:
        yield saver


def _conversation(step: int) -> tuple[Checkpoint, dict[str, Any]]:
    checkpoint = empty_checkpoint()
    messages = [
        HumanMessage("What would 12,000 over 36 months cost?", id=f"h{step}"),
        AIMessage(
            "",
            id=f"a{step}",
            tool_calls=[{"name": "compute_payment", "args": {"amount": "12000"}, "id": "c1"}],
        ),
        ToolMessage('{"payment": "372.86"}', tool_call_id="c1", id=f"t{step}"),
        AIMessage("About $372.86 a month.", id=f"b{step}"),
    ]
    checkpoint["channel_values"] = {"messages": messages, "turns": step, "mode": "guided"}
    checkpoint["channel_versions"] = {"messages": step, "turns": step, "mode": 1}
    metadata: dict[str, Any] = {"source": "loop", "step": step, "parents": {}}
    return checkpoint, metadata


async def _write(saver: BaseCheckpointSaver[Any], thread_id: str) -> RunnableConfig:
    checkpoint, metadata = _conversation(2)
    config: RunnableConfig = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    stored = await saver.aput(config, checkpoint, metadata, checkpoint["channel_versions"])  # type: ignore[arg-type]
    await saver.aput_writes(
        stored,
        [("messages", [HumanMessage("And over 48?", id="next")]), ("turns", 3)],
        task_id="task-1",
    )
    return stored


async def _assert_reads_back(saver: BaseCheckpointSaver[Any], stored: RunnableConfig) -> None:
    expected, metadata = _conversation(2)
    found = await saver.aget_tuple(stored)
    assert found is not None
    assert found.checkpoint["id"] == stored["configurable"]["checkpoint_id"]
    assert found.checkpoint["channel_values"] == expected["channel_values"]
    assert found.checkpoint["channel_versions"] == expected["channel_versions"]
    assert found.metadata["step"] == metadata["step"]
    assert found.metadata["source"] == "loop"
    assert [(task, channel, value) for task, channel, value in found.pending_writes or []] == [
        ("task-1", "messages", [HumanMessage("And over 48?", id="next")]),
        ("task-1", "turns", 3),
    ]


async def test_the_library_reads_what_ours_writes(
    database_url: str, library_saver: AsyncPostgresSaver, thread_ids: list[str]
) -> None:
    thread_ids.append(f"compat-{uuid.uuid4()}")
    async with open_checkpointer(database_url, min_size=1, max_size=2) as ours:
        stored = await _write(ours, thread_ids[0])
    await _assert_reads_back(library_saver, stored)


async def test_ours_reads_what_the_library_writes(
    database_url: str, library_saver: AsyncPostgresSaver, thread_ids: list[str]
) -> None:
    thread_ids.append(f"compat-{uuid.uuid4()}")
    stored = await _write(library_saver, thread_ids[0])
    async with open_checkpointer(database_url, min_size=1, max_size=2) as ours:
        await _assert_reads_back(ours, stored)
