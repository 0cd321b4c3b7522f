"""The LiveKit Agents worker: `omnifin voice dev|start`.

LiveKit dispatches the worker (agent name `omnifin-voice`) into a room when the person joins with
the token from `POST /api/v1/voice/sessions`. For each room the worker:

1. reads the thread from the room's name and the person from the participant's identity, which
   LiveKit verified against our signature, and loads them from the database
   (agents.voice_sessions.actor_for_room): a participant who is not the thread's owner is refused;
2. runs an AgentSession whose language model is our turn runner (voice.adapter.RunnerLLM), with
   Silero VAD (weights in the plugin wheel), the local end-of-turn model (weights in the
   livekit-local-inference wheel), ElevenLabs speech and an OpenAI-compatible transcriber.

Preemptive generation is off: a turn runs tools, so it starts only on the person's finished turn,
never on a guess of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from typing import Any, Final

from livekit.agents import Agent, AgentServer, AgentSession, JobContext, cli, inference
from livekit.agents.types import NOT_GIVEN
from livekit.plugins import elevenlabs, openai, silero

from agents.assistant import open_assistant
from agents.prompts.service import prompt_cache
from agents.turns import TurnDispatcher
from agents.voice_sessions import AGENT_NAME, voice_sessions
from lending import tracing
from lending.config import Settings, get_settings
from lending.db import create_engine, create_sessionmaker, resolve_database_url, transaction
from lending.error_reporting import configure_error_reporting
from lending.errors import OmnifinError
from lending.kv import create_store
from lending.logs import get_logger
from voice import spans
from voice.adapter import RunnerLLM
from voice.recorder import VoiceRecorder

log = get_logger(__name__)

# Raw PCM from ElevenLabs: no MP3 decoding between the first byte and the first frame.
TTS_ENCODING: Final = "pcm_24000"

INSTRUCTIONS = (
    "Omnifin's assistant. The conversation, its tools and its rules live in the turn runner; "
    "these instructions are not sent to any model."
)


def not_configured(settings: Settings) -> list[str]:
    """The settings voice still needs (empty when voice is configured)."""
    missing = []
    if not settings.voice_room_configured:
        missing.append("OMNIFIN_LIVEKIT_URL, OMNIFIN_LIVEKIT_API_KEY, OMNIFIN_LIVEKIT_API_SECRET")
    if not settings.elevenlabs_api_key:
        missing.append("OMNIFIN_ELEVENLABS_API_KEY")
    if not (settings.voice_stt_base_url or settings.voice_stt_api_key):
        missing.append("OMNIFIN_VOICE_STT_BASE_URL or OMNIFIN_VOICE_STT_API_KEY")
    return missing


def speech_components(settings: Settings) -> dict[str, Any]:
    """STT, TTS, VAD and turn detection from the settings (no network until used)."""
    assert settings.elevenlabs_api_key is not None
    tts = elevenlabs.TTS(
        api_key=settings.elevenlabs_api_key.get_secret_value(),
        voice_id=settings.elevenlabs_voice_id,
        model=settings.elevenlabs_model,
        encoding=TTS_ENCODING,
        base_url=settings.elevenlabs_base_url or NOT_GIVEN,
    )
    stt_key = settings.voice_stt_api_key.get_secret_value() if settings.voice_stt_api_key else "-"
    stt = openai.STT(
        model=settings.voice_stt_model,
        detect_language=True,  # English and Chinese
        api_key=stt_key,
        use_realtime=False,
        base_url=settings.voice_stt_base_url or NOT_GIVEN,
    )
    return {
        "stt": stt,
        "tts": tts,
        "vad": silero.VAD.load(),
        "turn_handling": {
            "turn_detection": inference.TurnDetector(version="v1-mini"),
            "preemptive_generation": {"enabled": False},
        },
    }


@contextlib.asynccontextmanager
async def open_turns(settings: Settings) -> AsyncIterator[TurnDispatcher]:
    """The turn runner of this job's process, as the API opens it (same database, store,
    prompts); a second utterance while a turn runs waits its turn (never refused)."""
    database_url = resolve_database_url(settings)
    engine = create_engine(settings, database_url)
    tracing.instrument_engine(engine)  # when tracing is on
    store = create_store(settings)
    try:
        sessionmaker = create_sessionmaker(engine)
        await prompt_cache.start(store)
        try:
            async with open_assistant(
                settings, database_url=database_url, sessionmaker=sessionmaker
            ) as runner:
                dispatcher = TurnDispatcher(runner, store, double_texting="queue", tasks=set())
                try:
                    yield dispatcher
                finally:
                    await dispatcher.drain()
        finally:
            await prompt_cache.stop()
    finally:
        await store.close()
        await engine.dispose()


async def entrypoint(ctx: JobContext) -> None:
    settings = get_settings()
    # Off unless the OTEL_* variables ask: a voice.turn span per turn (voice.spans).
    tracing.configure_tracing(service_name="omnifin-voice")
    configure_error_reporting(settings, service_name="omnifin-voice")  # off without a DSN
    await ctx.connect()
    participant = await ctx.wait_for_participant()
    async with open_turns(settings) as turns:
        try:
            async with transaction(turns.runner.sessionmaker) as session:
                actor, thread_id = await voice_sessions.actor_for_room(
                    session, room=ctx.room.name, identity=participant.identity
                )
        except OmnifinError as exc:
            log.warning("voice participant refused", room=ctx.room.name, error=type(exc).__name__)
            ctx.shutdown(reason="participant refused")
            return
        recorder = VoiceRecorder(turns.runner.sessionmaker)
        agent_llm = RunnerLLM(
            turns=turns,
            actor=actor,
            thread_id=thread_id,
            progress_after=settings.voice_progress_after_seconds,
            on_turn=recorder.on_turn,
        )
        voice_session: AgentSession[Any] = AgentSession(
            llm=agent_llm, **speech_components(settings)
        )
        # What was heard (barge-in) and the per-stage metrics, stored with each run.
        recorder.follow(agent_llm, voice_session)
        spans.follow(agent_llm, voice_session)  # a voice.turn span per turn, when tracing is on
        closed = asyncio.Event()
        voice_session.on("close", lambda _event: closed.set())
        await voice_session.start(Agent(instructions=INSTRUCTIONS), room=ctx.room)
        # The turn runner's database and store stay open until the session ends.
        await closed.wait()
        await recorder.drain()
        tracing.flush()


def build_server(settings: Settings) -> AgentServer:
    assert settings.livekit_api_secret is not None
    server = AgentServer(
        ws_url=settings.livekit_worker_url or settings.livekit_url,
        api_key=settings.livekit_api_key,
        api_secret=settings.livekit_api_secret.get_secret_value(),
    )
    server.rtc_session(entrypoint, agent_name=AGENT_NAME)
    return server


def run(mode: str) -> None:
    """Run the worker (`dev`: one process, reloads; `start`: production)."""
    settings = get_settings()
    missing = not_configured(settings)
    if missing:
        raise SystemExit("Voice is not configured: set " + "; ".join(missing) + ".")
    sys.argv = [sys.argv[0], mode]
    cli.run_app(build_server(settings))
