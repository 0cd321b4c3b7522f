"""The voice worker's spans: one `voice.turn` per turn, the runner's `chat.turn` continuing under
its `voice.llm` phase, and the speech phases LiveKit timed written as children once the reply
has played; nothing said is put in a span."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from langchain_core.messages import AIMessage
from livekit.agents import Agent, AgentSession
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agents.scripted import ScriptedChatModel
from agents.threads import thread_service
from lending import tracing
from lending.config import Settings
from lending.models.chat import ChatRun
from tests.agents.sse import borrower_with_token
from tests.identity.factories import actor_of
from tests.voice.conftest import OpenTurns
from voice import spans as voice_spans
from voice.adapter import RunnerLLM
from voice.recorder import VoiceRecorder


@pytest.fixture
def exported() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    assert tracing.configure_tracing(exporter=exporter, environ={})
    try:
        yield exporter
    finally:
        tracing.shutdown_tracing()


def _one(found: list[ReadableSpan], name: str) -> ReadableSpan:
    named = [s for s in found if s.name == name]
    assert len(named) == 1, [s.name for s in found]
    return named[0]


def _parent_of(found: list[ReadableSpan], child: ReadableSpan) -> ReadableSpan:
    assert child.parent is not None, child.name
    return next(s for s in found if s.context and s.context.span_id == child.parent.span_id)


async def test_a_voice_turn_is_one_span_tree_continuing_into_the_runners_turn(
    exported: InMemorySpanExporter, with_turns: OpenTurns, session: AsyncSession, settings: Settings
) -> None:
    borrower, _ = await borrower_with_token(session, settings)
    thread = await thread_service.create(session, actor_of(borrower), graph=None, channel="voice")
    await session.commit()
    model = ScriptedChatModel(script=[AIMessage(content="Your rate is 6.49%.")])
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
            voice_spans.follow(agent_llm, voice)
            await voice.start(Agent(instructions="test"))
            await voice.run(user_input="my SSN is 123-45-6789, what is my rate?")
            await recorder.drain()
    found = list(exported.get_finished_spans())

    turn = _one(found, "voice.turn")
    assert turn.parent is None
    llm_phase = _one(found, "voice.llm")
    chat_turn = _one(found, "chat.turn")
    assert _parent_of(found, llm_phase) is turn
    assert _parent_of(found, chat_turn) is llm_phase  # the runner continues the voice turn
    assert turn.context is not None
    assert {s.context.trace_id for s in found if s.context} == {turn.context.trace_id}
    run = await session.scalar(select(ChatRun).where(ChatRun.thread_id == thread.id))
    assert run is not None
    assert (turn.attributes or {})["omnifin.run_id"] == str(run.id)
    assert run.trace_id == f"{turn.context.trace_id:032x}"
    assert (turn.attributes or {})["omnifin.voice.interrupted"] is False
    # What LiveKit measured for the reply is on the turn's span, in milliseconds.
    assert "omnifin.voice.llm_node_ttft_ms" in (turn.attributes or {})
    # Nothing the person said or heard is in any span.
    for span in found:
        for value in (span.attributes or {}).values():
            assert "123-45-6789" not in str(value)
            assert "6.49" not in str(value)


def test_the_speech_phases_are_written_with_livekits_times(
    exported: InMemorySpanExporter,
) -> None:
    stopped = time.time() - 2.0
    turn = voice_spans.begin_turn(uuid.uuid4(), {"stopped_speaking_at": stopped})
    stages = {
        "end_of_turn_delay": 0.2,
        "transcription_delay": 0.15,
        "llm_node_ttft": 0.03,
        "tts_node_ttfb": 0.08,
    }
    first_text = stopped + 0.25
    played_until = stopped + 1.5
    voice_spans.end_turn(
        turn,
        stages=stages,
        user_report={"stopped_speaking_at": stopped},
        reply_report={
            "started_speaking_at": first_text + 0.08,
            "stopped_speaking_at": played_until,
        },
        first_text_at=first_text,
        run_id="run-1",
        interrupted=True,
    )
    found = list(exported.get_finished_spans())

    def seconds(span: ReadableSpan) -> tuple[float, float]:
        assert span.start_time is not None
        assert span.end_time is not None
        return span.start_time / 1e9, span.end_time / 1e9

    root = _one(found, "voice.turn")
    assert seconds(root) == pytest.approx((stopped, played_until), abs=1e-6)
    stt = _one(found, "voice.stt")
    assert _parent_of(found, stt) is root
    assert seconds(stt) == pytest.approx((stopped, stopped + 0.15), abs=1e-6)
    assert seconds(_one(found, "voice.end_of_turn")) == pytest.approx(
        (stopped, stopped + 0.2), abs=1e-6
    )
    tts = _one(found, "voice.tts")
    assert seconds(tts) == pytest.approx((first_text, played_until), abs=1e-6)
    assert (tts.attributes or {})["omnifin.voice.tts_node_ttfb_ms"] == 80.0
    assert (root.attributes or {})["omnifin.voice.interrupted"] is True
    assert (root.attributes or {})["omnifin.voice.end_of_turn_delay_ms"] == 200.0


def test_without_tracing_a_voice_turn_has_no_span() -> None:
    assert not tracing.enabled()
    assert voice_spans.begin_turn(uuid.uuid4(), {}) is None
