"""Keeps a voice thread true to what was said, and stores LiveKit's per-stage metrics per run.

LiveKit adds the assistant's reply to its conversation as it was played out: the whole reply, or,
when the person spoke over it, only the part that was heard, flagged `interrupted`; its
`metrics` carry the turn's stage timings. The turn runner has already stored the whole reply, so
once the turn has ended (`SpokenTurn.done`) the recorder stores on the run (chat_run.voice) the
stage timings and, for a cut reply, replaces the stored reply with what was heard and a marker
(agents.threads.cut_off). A reply cut before any of it was sent to speech was not heard at all.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, Final

from livekit.agents import AgentSession, llm
from livekit.agents.voice.events import ConversationItemAddedEvent

from agents.threads import thread_service
from lending.db import SessionMaker, transaction
from lending.logs import get_logger
from voice.adapter import RunnerLLM, SpokenTurn
from voice.metrics import turn_metrics

log = get_logger(__name__)

# How long a cut turn may still run (its tools) before the recorder gives up on it.
TURN_WAIT_SECONDS: Final = 120.0


class VoiceRecorder:
    def __init__(self, sessionmaker: SessionMaker) -> None:
        self.sessionmaker = sessionmaker
        self.llm: RunnerLLM | None = None
        self.session: AgentSession[Any] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def follow(self, agent_llm: RunnerLLM, session: AgentSession[Any]) -> None:
        """Record the turns of `agent_llm` as `session` plays them (pass `on_turn` to the LLM)."""
        self.llm = agent_llm
        self.session = session
        session.on("conversation_item_added", self._on_item)

    def on_turn(self, turn: SpokenTurn) -> None:
        """RunnerLLM's on_turn: a turn cut before anything went to speech was not heard."""
        if turn.cut and not turn.spoken:
            self._spawn(turn, heard="", metrics={})

    def _on_item(self, event: ConversationItemAddedEvent) -> None:
        item = event.item
        if not isinstance(item, llm.ChatMessage) or item.role != "assistant":
            return
        turn = self.llm.last_turn if self.llm is not None else None
        if turn is None:
            return
        history = self.session.history.items if self.session is not None else []
        metrics = turn_metrics(history, item)
        heard = (item.text_content or "") if item.interrupted else None
        self._spawn(turn, heard=heard, metrics=metrics)

    def _spawn(self, turn: SpokenTurn, *, heard: str | None, metrics: dict[str, float]) -> None:
        task = asyncio.create_task(self._record(turn, heard, metrics), name="voice-record")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _record(self, turn: SpokenTurn, heard: str | None, metrics: dict[str, float]) -> None:
        try:
            async with asyncio.timeout(TURN_WAIT_SECONDS):
                await turn.done.wait()
            if turn.run_id is None:
                return
            async with transaction(self.sessionmaker) as session:
                await thread_service.record_voice(
                    session, run_id=uuid.UUID(turn.run_id), metrics=metrics, heard=heard
                )
        except Exception:  # the conversation goes on; the run keeps the whole reply
            log.exception("voice turn not recorded", run_id=turn.run_id)

    async def drain(self) -> None:
        """Wait for what is being recorded (the session's end, tests)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
