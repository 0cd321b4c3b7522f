"""A scenario's conversation over the voice channel, as a voice session runs it: each turn is said
to LiveKit's AgentSession (text mode: the transcript is given, no audio) over the voice adapter
(voice.adapter.RunnerLLM) and the app's TurnDispatcher on channel `voice`. What the adapter sent
to speech is the reply the checks read; the turn's events are recorded as for typed chat."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from livekit.agents import Agent, AgentSession

from agents.events import Event
from agents.runner import TurnRequest, TurnRunner
from agents.turns import TurnDispatcher
from lending.identity.actor import Actor
from lending.kv import MemoryStore
from voice.adapter import RunnerLLM

EventSink = Callable[[Event], Awaitable[None]]

# An approval answered in a voice run is said, and read by the runner's strict yes/no rules.
SPOKEN_ANSWERS = {"approve": "yes", "reject": "no"}

# What must never reach speech: markdown marks, links, and figures written for the screen.
_UNSPEAKABLE = {
    "markdown emphasis or code": re.compile(r"\*\*|__|`|~~"),
    "a markdown heading": re.compile(r"(?m)^\s*#{1,6}\s"),
    "a markdown list": re.compile(r"(?m)^\s*(?:[-*•]|\d{1,3}[.)])\s"),
    "a link": re.compile(r"\[[^\]]*\]\([^)]*\)|https?://"),
    "a table": re.compile(r"\|"),
    "a written dollar figure": re.compile(r"\$\s?\d"),
}


def unspeakable(reply: str) -> list[str]:
    """What in a spoken reply was written for a screen (none: it is speakable)."""
    return [name for name, pattern in _UNSPEAKABLE.items() if pattern.search(reply)]


class _TeeTurns:
    """The dispatcher as the adapter sees it, handing each event to `sink` as it passes."""

    def __init__(self, turns: TurnDispatcher, sink: EventSink) -> None:
        self.turns = turns
        self.sink = sink

    async def start(self, request: TurnRequest) -> AsyncIterator[Event]:
        return self._tee(await self.turns.start(request))

    async def _tee(self, events: Any) -> AsyncIterator[Event]:
        async for event in events:
            await self.sink(event)
            yield event


@dataclass
class Speaker:
    session: AgentSession[Any]
    llm: RunnerLLM

    async def say(self, text: str) -> str:
        """Say `text`; what the assistant said back (every spoken sentence of the turn)."""
        self.llm.last_turn = None
        await self.session.run(user_input=text)
        turn = self.llm.last_turn
        if turn is None:
            return ""
        await turn.done.wait()
        return " ".join(turn.spoken).strip()


@asynccontextmanager
async def voice_session(
    runner: TurnRunner, actor: Actor, thread_id: Any, sink: EventSink
) -> AsyncIterator[Speaker]:
    """A voice session of `actor` on `thread_id` (a thread on channel `voice`)."""
    dispatcher = TurnDispatcher(runner, MemoryStore(), double_texting="reject", tasks=set())
    agent_llm = RunnerLLM(turns=_TeeTurns(dispatcher, sink), actor=actor, thread_id=thread_id)
    try:
        async with AgentSession(llm=agent_llm) as session:
            await session.start(
                Agent(instructions="Omnifin's assistant (the turn runner decides).")
            )
            yield Speaker(session, agent_llm)
    finally:
        await dispatcher.drain()
