"""What our voice adapter and turn runner add between the end of the person's turn and the first
synthesized audio frame (issue 18; target p50 <= 50 ms).

LiveKit's AgentSession runs over our adapter (voice.adapter.RunnerLLM) and the real turn runner
(Postgres checkpointer, one tool call, then a 40-word streamed answer from the scripted
zero-latency model), with a zero-latency fake TTS and an audio sink that plays instantly
(devtools/voice_fakes.py). The turn is handed over as text (`session.run`), which is where a
finished STT transcript enters after the end of turn, so the figure excludes VAD/end-of-turn
delay and real STT/TTS latency: it is what we add.

Per turn it records:
- `end_of_turn_to_first_audio_ms`: from the user's text handed to the session to the first audio
  frame reaching the sink (LiveKit's pipeline + adapter + runner + fake TTS);
- `adapter_first_text_ms`: from the adapter's stream start to its first speakable sentence
  (adapter + runner alone);
- LiveKit's own per-message metrics (llm_node_ttft, playback_latency, ...) as it reports them.

Run from the repository root: `.venv/bin/python -m benchmarks.bench_voice` (BENCH_TURNS, default
200, after 20 warm-up turns). It creates its own database (`omnifin_bench_voice`) on the server
named by OMNIFIN_BENCH_DATABASE_URL, else on the embedded server of var/test. Results go to
benchmarks/results/voice.json and to stdout.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import platform
import statistics
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from livekit.agents import Agent, AgentSession
from livekit.agents.voice.run_result import RunResult

from agents.assistant import open_assistant
from agents.models import ModelBreaker, ModelPricing, ModelProvider
from agents.prompts.service import seed_default_prompts
from agents.scripted import ScriptedChatModel, tool_then_answer
from agents.threads import thread_service
from agents.turns import TurnDispatcher
from devtools.databases import recreate_database
from devtools.voice_fakes import FakeTTS, RecordingAudioOutput
from lending import migrations
from lending.config import Settings
from lending.db import create_engine, create_sessionmaker, transaction
from lending.identity.actor import Actor
from lending.identity.users import user_service
from lending.kv import MemoryStore
from lending.models.identity import Role
from voice.adapter import RunnerLLM, SpokenTurn

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "voice.json"
WARM_UP = 20
TURNS_PER_THREAD = 10
ANSWER = "Your payment would be about five hundred dollars a month. " + " ".join(
    f"word{i}" for i in range(30)
)
TOOL_ARGS = {"amount": "25000.00", "annual_rate": "7.5", "term_months": 60}


def _server_url() -> str:
    given = os.environ.get("OMNIFIN_BENCH_DATABASE_URL")
    if given:
        return given
    from lending.embedded_postgres import embedded_database_url

    return embedded_database_url(ROOT / "var" / "test")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(statistics.median(values), 3),
        "p95": _pct(values, 0.95),
        "p99": _pct(values, 0.99),
        "mean": round(statistics.fmean(values), 3),
        "max": round(max(values), 3),
    }


async def main() -> None:
    turns_wanted = int(os.environ.get("BENCH_TURNS", "200"))
    database_url = recreate_database(_server_url(), "omnifin_bench_voice")
    await asyncio.to_thread(migrations.upgrade, database_url)
    settings = Settings(environment="test", database_url=database_url)  # type: ignore[arg-type]
    engine = create_engine(settings, database_url)
    sessionmaker = create_sessionmaker(engine)
    async with transaction(sessionmaker) as session:
        user = await user_service.create(
            session,
            settings=settings,
            email=f"bench-voice-{uuid.uuid4().hex[:8]}@example.com",
            password="river-velvet-orchid-2026",
            full_name="Voice Tester",
            role=Role.BORROWER,
            organization_slug=None,
        )
        await seed_default_prompts(session)
        actor = Actor.for_user(user.id, user.role, user.organization_id)
        thread = await thread_service.create(session, actor, graph=None, channel="voice")
        thread_id = thread.id
    model = ScriptedChatModel(
        decide=tool_then_answer("compute_payment", TOOL_ARGS, ANSWER), keep_seen=False
    )
    provider = ModelProvider(
        models=[model],
        pricing=ModelPricing(Decimal("0"), Decimal("0")),
        breaker=ModelBreaker(failures=10**9),
    )
    spoken: list[SpokenTurn] = []
    end_to_audio: list[float] = []
    livekit_metrics: list[dict[str, Any]] = []
    try:
        async with open_assistant(
            settings, database_url=database_url, sessionmaker=sessionmaker, model=provider
        ) as runner:
            dispatcher = TurnDispatcher(runner, MemoryStore(), double_texting="queue", tasks=set())
            agent_llm = RunnerLLM(
                turns=dispatcher, actor=actor, thread_id=thread_id, on_turn=spoken.append
            )
            tts = FakeTTS(streaming=True)  # as ElevenLabs' WebSocket TTS
            sink = RecordingAudioOutput()
            session_: AgentSession[None] = AgentSession(llm=agent_llm, tts=tts, vad=None)
            session_.output.audio = sink
            await session_.start(Agent(instructions="benchmark"))
            for index in range(WARM_UP + turns_wanted):
                if index % TURNS_PER_THREAD == 0 and index:
                    # A fresh conversation every few turns, as bench_agent_turn: a history
                    # that grows for hundreds of turns is not a voice call.
                    async with transaction(sessionmaker) as session:
                        fresh = await thread_service.create(
                            session, actor, graph=None, channel="voice"
                        )
                    agent_llm.thread_id = fresh.id
                frames_before = len(sink.captured.first_frame_at)
                handed_over = time.perf_counter()
                result: RunResult[None] = await session_.run(
                    user_input="what would 25k at 7.5% over 5 years cost?"
                )
                assert len(sink.captured.first_frame_at) > frames_before, "no audio was produced"
                if index < WARM_UP:
                    continue
                first_audio = sink.captured.first_frame_at[frames_before]
                end_to_audio.append((first_audio - handed_over) * 1000)
                message = result.expect.next_event().is_message(role="assistant").event().item
                livekit_metrics.append(dict(message.metrics))
            await session_.aclose()
            await dispatcher.drain()
    finally:
        await engine.dispose()
    measured = spoken[WARM_UP:]
    adapter_first_text = [
        (turn.first_text_at - turn.started_at) * 1000
        for turn in measured
        if turn.first_text_at is not None
    ]
    ttft = [m["llm_node_ttft"] * 1000 for m in livekit_metrics if "llm_node_ttft" in m]
    result_doc = {
        "benchmark": "voice",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg(),
        },
        "turns": len(end_to_audio),
        "warm_up": WARM_UP,
        "target_p50_ms": 50,
        "end_of_turn_to_first_audio_ms": _summary(end_to_audio),
        "adapter_first_text_ms": _summary(adapter_first_text),
        "livekit_llm_node_ttft_ms": _summary(ttft) if ttft else None,
        "model_calls_per_turn": round(model.calls / max(1, len(spoken)), 2),
        "tts": "fake, streaming (as ElevenLabs' WebSocket TTS), zero latency",
        "per_turn_livekit_metrics_sample": livekit_metrics[:3],
        "meets_target": statistics.median(end_to_audio) <= 50,
    }
    RESULTS.write_text(json.dumps(result_doc, indent=2) + "\n")
    print(json.dumps(result_doc, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
