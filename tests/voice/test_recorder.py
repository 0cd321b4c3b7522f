"""What the voice recorder stores with a run: LiveKit's per-stage metrics of a played reply, and
for a reply the person cut off, what was heard (with a marker) in place of the whole reply."""

from __future__ import annotations

import uuid

import pytest
from langchain_core.messages import AIMessage
from livekit.agents import Agent, AgentSession, llm
from livekit.agents.voice.events import ConversationItemAddedEvent
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agents.scripted import ScriptedChatModel
from agents.threads import cut_off, thread_service
from lending.config import Settings
from lending.errors import NotFound
from lending.models.chat import ChatMessage, ChatRun
from tests.agents.sse import borrower_with_token
from tests.identity.factories import actor_of
from tests.voice.conftest import OpenTurns
from voice.adapter import RunnerLLM
from voice.recorder import VoiceRecorder


async def _replies(session: AsyncSession, thread_id: uuid.UUID) -> list[str]:
    return list(
        (
            await session.scalars(
                select(ChatMessage.content)
                .where(ChatMessage.thread_id == thread_id, ChatMessage.role == "assistant")
                .order_by(ChatMessage.id)
            )
        ).all()
    )


async def _run_of(session: AsyncSession, thread_id: uuid.UUID) -> ChatRun:
    run = await session.scalar(select(ChatRun).where(ChatRun.thread_id == thread_id))
    assert run is not None
    await session.refresh(run)
    return run


async def test_a_played_reply_stores_livekits_stage_metrics_with_the_run(
    with_turns: OpenTurns, session: AsyncSession, settings: Settings
) -> None:
    borrower, _ = await borrower_with_token(session, settings)
    thread = await thread_service.create(session, actor_of(borrower), graph=None, channel="voice")
    await session.commit()
    model = ScriptedChatModel(script=[AIMessage(content="Your rate is 6.49%.")])
    items: list[llm.ChatMessage] = []
    async with with_turns(model) as dispatcher:
        recorder = VoiceRecorder(dispatcher.runner.sessionmaker)
        agent_llm = RunnerLLM(
            turns=dispatcher,
            actor=actor_of(borrower),
            thread_id=thread.id,
            on_turn=recorder.on_turn,
        )
        async with AgentSession(llm=agent_llm) as voice:
            recorder.follow(agent_llm, voice)
            voice.on(
                "conversation_item_added",
                lambda event: (
                    items.append(event.item)
                    if isinstance(event.item, llm.ChatMessage) and event.item.role == "assistant"
                    else None
                ),
            )
            await voice.start(Agent(instructions="test"))
            await voice.run(user_input="what is my rate?")
            await recorder.drain()
    [item] = items
    # What LiveKit measured for this reply is what the run holds (text mode: no audio stages).
    expected = {
        stage: round(value, 6)
        for stage, value in dict(item.metrics).items()
        if stage in ("end_of_turn_delay", "llm_node_ttft", "tts_node_ttfb", "e2e_latency")
        and isinstance(value, float)
    }
    assert "llm_node_ttft" in expected
    run = await _run_of(session, thread.id)
    assert run.voice is not None
    assert {k: v for k, v in run.voice["metrics"].items() if k in expected} == expected
    assert run.voice["metrics"]["llm_node_ttft"] >= 0
    assert "interrupted" not in run.voice
    # Played whole: the thread keeps the written reply, exact figures included.
    assert await _replies(session, thread.id) == ["Your rate is 6.49%."]


async def test_a_reply_cut_mid_speech_keeps_what_was_heard_and_the_audio_metrics(
    with_turns: OpenTurns, session: AsyncSession, settings: Settings
) -> None:
    """LiveKit's interface: the interrupted assistant item (what was played out before the
    person spoke) as the session adds it after a barge-in."""
    borrower, _ = await borrower_with_token(session, settings)
    thread = await thread_service.create(session, actor_of(borrower), graph=None, channel="voice")
    await session.commit()
    model = ScriptedChatModel(script=[AIMessage(content="A long answer. It goes on and on.")])
    async with with_turns(model) as dispatcher:
        recorder = VoiceRecorder(dispatcher.runner.sessionmaker)
        agent_llm = RunnerLLM(turns=dispatcher, actor=actor_of(borrower), thread_id=thread.id)
        async with AgentSession(llm=agent_llm) as voice:
            await voice.start(Agent(instructions="test"))
            await voice.run(user_input="tell me")
            # Now as LiveKit reports a cut reply: followed from here on.
            recorder.follow(agent_llm, voice)
            heard = llm.ChatMessage(
                role="assistant",
                content=["A long answer."],
                interrupted=True,
                metrics={
                    "end_of_turn_delay": 0.31,
                    "llm_node_ttft": 0.02,
                    "tts_node_ttfb": 0.12,
                    "e2e_latency": 0.52,
                    "playback_latency": 0.01,
                },
            )
            voice.emit("conversation_item_added", ConversationItemAddedEvent(item=heard))
            await recorder.drain()
    run = await _run_of(session, thread.id)
    assert run.voice == {
        "metrics": {
            "end_of_turn_delay": 0.31,
            "llm_node_ttft": 0.02,
            "tts_node_ttfb": 0.12,
            "e2e_latency": 0.52,
        },
        "interrupted": True,
        "unspoken_chars": len(" It goes on and on."),
    }
    assert await _replies(session, thread.id) == ["A long answer. … [interrupted]"]


def test_the_cut_off_marker_follows_the_replys_language() -> None:
    assert cut_off("First part.", "First part. Second part.") == "First part. … [interrupted]"
    assert cut_off("", "Anything.") == "[interrupted]"
    assert cut_off("您的利率是", "您的利率是百分之六点四九。") == "您的利率是……［被打断］"


async def test_recording_a_run_that_does_not_exist_is_refused(session: AsyncSession) -> None:
    with pytest.raises(NotFound):
        await thread_service.record_voice(
            session, run_id=uuid.uuid4(), metrics={"e2e_latency": 1.0}
        )


async def test_what_was_heard_is_stored_with_personal_numbers_masked(
    with_turns: OpenTurns, session: AsyncSession, settings: Settings
) -> None:
    borrower, _ = await borrower_with_token(session, settings)
    thread = await thread_service.create(session, actor_of(borrower), graph=None, channel="voice")
    await session.commit()
    model = ScriptedChatModel(script=[AIMessage(content="I have your details. Next step.")])
    async with with_turns(model) as dispatcher:
        agent_llm = RunnerLLM(turns=dispatcher, actor=actor_of(borrower), thread_id=thread.id)
        async with AgentSession(llm=agent_llm) as voice:
            await voice.start(Agent(instructions="test"))
            await voice.run(user_input="go on")
    run = await _run_of(session, thread.id)
    await thread_service.record_voice(
        session, run_id=run.id, metrics={}, heard="Your SSN is 123-45-6789 and"
    )
    await session.commit()
    [reply] = await _replies(session, thread.id)
    assert "123-45-6789" not in reply
    assert reply.endswith("… [interrupted]")
