"""A turn after one cut off (its run still `running`, its message kept with the run, no
checkpoint holding it) gives the kept message up only once it is in the conversation's state: a
process that stops in between leaves it kept, and the next turn restores it. On a committed
database with a real engine (the runner's records commit statement by statement there)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from agents.assistant import open_assistant
from agents.models import ModelBreaker, ModelPricing, ModelProvider
from agents.runner import TurnRequest, TurnRunner
from agents.scripted import ScriptedChatModel
from agents.threads import thread_service
from lending.config import Settings
from lending.db import create_engine, create_sessionmaker, driver_connection, transaction
from lending.identity.actor import Actor
from lending.models.chat import ChatRun
from lending.models.identity import Role
from tests.identity.factories import actor_of, create_user

DATABASE = "omnifin_turn_cut_off"
KEPT_TEXT = "a $20k car loan over 4 years"
KEPT: dict[str, Any] = {"id": "message-of-the-cut-off-turn", "text": KEPT_TEXT, "vault": {}}


@pytest.fixture
async def engine(committed_url: str, settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings, committed_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def runner(
    engine: AsyncEngine, settings: Settings, committed_url: str
) -> AsyncIterator[TurnRunner]:
    model = ScriptedChatModel(script=[AIMessage("Noted.")])
    provider = ModelProvider(
        models=[model], pricing=ModelPricing(Decimal("0"), Decimal("0")), breaker=ModelBreaker()
    )
    async with open_assistant(
        settings.model_copy(update={"agent_durability": "exit"}),
        database_url=committed_url,
        sessionmaker=create_sessionmaker(engine),
        model=provider,
    ) as opened:
        yield opened


async def _cut_off_turn(engine: AsyncEngine) -> tuple[Actor, uuid.UUID]:
    """A borrower's thread whose last run was cut off after keeping its message."""
    async with transaction(create_sessionmaker(engine)) as session:
        actor = actor_of(await create_user(session, role=Role.BORROWER, full_name="Sam Lee"))
        thread = await thread_service.create(session, actor)
        await thread_service.start_run(
            await driver_connection(session),
            thread.id,
            mode="llm",
            prompt_versions={},
            variant=None,
            user_text=KEPT_TEXT,
            resume_input=[KEPT],
        )
    return actor, thread.id


async def _runs(engine: AsyncEngine, thread_id: uuid.UUID) -> list[tuple[str, Any]]:
    async with transaction(create_sessionmaker(engine)) as session:
        rows = await session.execute(
            select(ChatRun.status, ChatRun.resume_input)
            .where(ChatRun.thread_id == thread_id)
            .order_by(ChatRun.started_at)
        )
        return [(status, kept) for status, kept in rows.all()]


async def _turn(runner: TurnRunner, actor: Actor, thread_id: uuid.UUID, text: str) -> list[Any]:
    request = TurnRequest(thread_id=thread_id, actor=actor, message=text)
    return [event async for event in runner.run(request)]


async def test_a_stop_while_restoring_leaves_the_message_kept(
    engine: AsyncEngine, runner: TurnRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    actor, thread_id = await _cut_off_turn(engine)
    graph = runner.graphs["borrower"]

    async def stopped(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("the process stopped")

    monkeypatch.setattr(graph, "aupdate_state", stopped)
    with pytest.raises(ConnectionError):
        await _turn(runner, actor, thread_id, "are you there?")
    # Nothing of the new turn was recorded, and the cut-off run still keeps its message.
    assert await _runs(engine, thread_id) == [("running", [KEPT])]

    monkeypatch.undo()
    events = await _turn(runner, actor, thread_id, "are you there?")
    assert events[-1].type == "run.completed"
    assert await _runs(engine, thread_id) == [("failed", None), ("completed", None)]
    state = await graph.aget_state({"configurable": {"thread_id": str(thread_id)}})
    people = [m for m in state.values["messages"] if isinstance(m, HumanMessage)]
    assert [(m.id, m.content) for m in people][0] == (KEPT["id"], KEPT["text"])
    assert people[-1].content == "are you there?"
