"""Speech through the real voice pipeline: espeak-ng speaks a WAV, LiveKit's AgentSession hears it
through Silero VAD (weights from the plugin wheel) and our scripted STT, our adapter answers, and
a fake TTS (LiveKit's interface) synthesises into a recording sink. Asserts what happened in which
order (issue 18), and the turn's spans. Needs espeak-ng (.ci/run installs it)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
import uuid
import wave
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from livekit import rtc
from livekit.agents import Agent, AgentSession, llm
from livekit.agents.voice import io
from livekit.plugins import silero
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agents.events import Event, MessageCompleted, RunCompleted, RunStarted, Token
from agents.runner import TurnRequest
from devtools.voice_fakes import FakeTTS, RecordingAudioOutput, ScriptedSTT
from lending import tracing
from lending.identity.actor import Actor
from lending.models.identity import Role
from voice import spans as voice_spans
from voice.adapter import RunnerLLM
from voice.metrics import turn_metrics

FRAME_MS = 20


def _spoken_wav(text: str, path: Path) -> tuple[bytes, int]:
    espeak = shutil.which("espeak-ng")
    assert espeak is not None, "espeak-ng is needed (apt-get install espeak-ng; .ci/run does)"
    subprocess.run([espeak, "-v", "en", "-s", "160", "-w", str(path), text], check=True)
    with wave.open(str(path), "rb") as wav:
        assert wav.getnchannels() == 1
        assert wav.getsampwidth() == 2
        return wav.readframes(wav.getnframes()), wav.getframerate()


class WavInput(io.AudioInput):
    """A microphone that says the WAV, then stays silent, in real time (VAD and endpointing
    count time)."""

    def __init__(self, pcm: bytes, rate: int, silence_seconds: float) -> None:
        super().__init__(label="wav")
        self.rate = rate
        per_frame = rate * FRAME_MS // 1000
        pcm += b"\x00\x00" * int(rate * silence_seconds)
        self.frames = [pcm[i : i + per_frame * 2] for i in range(0, len(pcm), per_frame * 2)]
        self.started_at: float | None = None
        self.speech_ended_at: float | None = None
        self._speech_frames = 0
        self._index = 0
        self._speech_len = len(self.frames) - int(silence_seconds * 1000 / FRAME_MS)

    async def __anext__(self) -> rtc.AudioFrame:
        if self.started_at is None:
            self.started_at = time.perf_counter()
        if self._index >= len(self.frames):
            await asyncio.sleep(FRAME_MS / 1000)  # silence after the script: no more frames
            data = b"\x00\x00" * (self.rate * FRAME_MS // 1000)
        else:
            data = self.frames[self._index]
            due = self.started_at + self._index * FRAME_MS / 1000
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
        if self._index == self._speech_len:
            self.speech_ended_at = time.perf_counter()
        self._index += 1
        samples = len(data) // 2
        return rtc.AudioFrame(
            data=data, sample_rate=self.rate, num_channels=1, samples_per_channel=samples
        )


class _Turns:
    """Records each turn's request and answers it (the runner is covered by the behaviour tests;
    here the audio path is under test)."""

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.requests: list[tuple[float, TurnRequest]] = []

    async def start(self, request: TurnRequest) -> AsyncIterator[Event]:
        self.requests.append((time.perf_counter(), request))
        return self._events()

    async def _events(self) -> AsyncIterator[Event]:
        yield RunStarted(run_id="r1", thread_id="t1", graph="borrower", mode="llm")
        yield Token(text=self.reply)
        yield MessageCompleted(message_id="m1", text=self.reply)
        yield RunCompleted(latency_ms=1.0, tokens={"input_tokens": 1, "output_tokens": 1}, cost=0)  # type: ignore[arg-type]


@pytest.fixture
def exported() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    assert tracing.configure_tracing(exporter=exporter, environ={})
    try:
        yield exporter
    finally:
        tracing.shutdown_tracing()


async def test_speech_is_heard_transcribed_answered_and_spoken_in_order(
    tmp_path: Path, exported: InMemorySpanExporter
) -> None:
    pcm, rate = _spoken_wav("Hello. What are my loan offers today?", tmp_path / "ask.wav")
    microphone = WavInput(pcm, rate, silence_seconds=2.5)
    transcript = "what are my loan offers today"
    stt = ScriptedSTT([transcript])
    tts = FakeTTS(streaming=True)
    sink = RecordingAudioOutput()
    turns = _Turns("You have **two** offers; the lowest is $412.50 a month.")
    actor = Actor.for_user(uuid.uuid4(), Role.BORROWER, uuid.uuid4())
    agent_llm = RunnerLLM(turns=turns, actor=actor, thread_id=uuid.uuid4())
    log: list[tuple[float, str]] = []

    def note(name: str) -> Any:
        return lambda event: log.append((time.perf_counter(), f"{name}:{_state(event)}"))

    session: AgentSession[None] = AgentSession(
        stt=stt,
        vad=silero.VAD.load(),
        llm=agent_llm,
        tts=tts,
        turn_handling={
            "turn_detection": "vad",
            "endpointing": {"min_delay": 0.3, "max_delay": 1.0},
            "preemptive_generation": {"enabled": False},
        },
    )
    session.on("user_state_changed", note("user"))
    session.on("agent_state_changed", note("agent"))
    session.on("user_input_transcribed", note("transcribed"))
    replies: list[llm.ChatMessage] = []
    session.on(
        "conversation_item_added",
        lambda event: (
            replies.append(event.item)
            if isinstance(event.item, llm.ChatMessage) and event.item.role == "assistant"
            else None
        ),
    )
    session.input.audio = microphone
    session.output.audio = sink
    voice_spans.follow(agent_llm, session)
    await session.start(Agent(instructions="test"))
    async with asyncio.timeout(30):
        while not sink.captured.first_frame_at or not any(
            entry == "agent:listening" for _, entry in log[-1:]
        ):
            await asyncio.sleep(0.05)
    await session.aclose()

    events = [entry for _, entry in log]
    at = {entry: moment for moment, entry in reversed(log)}  # first time of each
    # Silero heard the speech start and end; the STT got one utterance of about its length.
    assert "user:speaking" in events
    assert "user:listening" in events
    assert len(stt.heard) == 1
    assert stt.heard[0] > 1.0
    assert events.index("user:speaking") < events.index("transcribed:final")
    # The transcript (and nothing else) became one voice turn of the conversation.
    [(asked_at, request)] = turns.requests
    assert request.message == transcript
    assert request.channel == "voice"
    assert microphone.speech_ended_at is not None
    assert asked_at > microphone.speech_ended_at
    # Then the agent thought, spoke the reply made speakable, and the audio reached the sink.
    assert at["agent:thinking"] < at["agent:speaking"]
    assert at["agent:thinking"] >= at["transcribed:final"] - 0.001
    assert sink.captured.first_frame_at[0] > asked_at
    spoken = " ".join(text.strip() for text in tts.texts)
    assert "412 dollars and 50 cents" in spoken
    assert "**" not in spoken
    assert "$" not in spoken
    # LiveKit measured every stage of this turn, as the recorder stores them with the run.
    [reply] = replies
    metrics = turn_metrics(session.history.items, reply)
    assert {"end_of_turn_delay", "llm_node_ttft", "tts_node_ttfb", "e2e_latency"} <= set(metrics)
    assert all(value >= 0 for value in metrics.values())
    assert metrics["e2e_latency"] >= metrics["llm_node_ttft"]
    # With tracing on, the turn is one span from the end of speech to the end of playout, its
    # phases children in order: the turn decision, the runner, then speech.
    found = {span.name: span for span in exported.get_finished_spans()}
    turn = found["voice.turn"]
    assert turn.context is not None
    for phase in ("voice.end_of_turn", "voice.llm", "voice.tts"):
        parent = found[phase].parent
        assert parent is not None
        assert parent.span_id == turn.context.span_id, phase
    assert (turn.start_time or 0) <= (found["voice.llm"].start_time or 0)
    assert (found["voice.llm"].start_time or 0) <= (found["voice.tts"].start_time or 0)
    assert (found["voice.tts"].end_time or 0) <= (turn.end_time or 0)
    assert (turn.attributes or {})["omnifin.run_id"] == "r1"


def _state(event: Any) -> str:
    if hasattr(event, "new_state"):
        return str(event.new_state)
    if hasattr(event, "is_final"):
        return "final" if event.is_final else "interim"
    return type(event).__name__
