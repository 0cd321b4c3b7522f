"""The voice pipeline's language model: our turn runner behind LiveKit's `llm.LLM` interface.

What the person said (the STT transcript, the last user message of LiveKit's chat context) is
sent as one turn of the conversation's thread on channel `voice`: the same runner, tools,
permission checks, approvals, PII vault and event stream as typed chat. The thread holds the
history; LiveKit's own chat context is not sent anywhere.

From the turn's events only these are spoken:
- the assistant's reply, made speakable (voice.speakable), sentence by sentence as it streams;
- a short progress phrase when a tool runs longer than `progress_after` seconds (never the
  tool's own text);
- the approval question of an interrupt, restating the action, and asking for a yes or no. The
  next thing the person says is answered by the runner under the same strict yes/no reading as
  typed text (agents.guided.yesno): a refusal or anything unclear never approves;
- a short apology when the turn fails or is refused.

A failed turn never raises a retryable error to LiveKit, so LiveKit never repeats the turn: a
retry could otherwise run a tool twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from livekit.agents import llm
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, APIConnectOptions
from opentelemetry.trace import Span

from agents.events import (
    Event,
    InterruptRequested,
    MessageCompleted,
    RunError,
    RunStarted,
    Token,
    ToolFinished,
    ToolStarted,
)
from agents.runner import TurnRequest
from knowledge.language import Language, detect_language
from lending import tracing
from lending.audit.schemas import Origin
from lending.errors import OmnifinError
from lending.identity.actor import Actor
from lending.logs import get_logger
from voice import spans
from voice.speakable import SpeakableStream, speakable

log = get_logger(__name__)

__all__ = ["RunnerLLM", "Turns", "confirmation", "progress_phrase"]


class Turns(Protocol):
    """What starts a turn and streams its events (agents.turns.TurnDispatcher)."""

    async def start(self, request: TurnRequest) -> AsyncIterator[Event] | Any: ...


@dataclass
class SpokenTurn:
    """What one voice turn sent to speech, for tests, metrics and the benchmark."""

    run_id: str | None = None
    spoken: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    started_at: float = field(default_factory=time.perf_counter)
    first_text_at: float | None = None
    first_text_wall: float | None = None  # the same moment, epoch seconds (for spans)
    # The turn's `voice.turn` span (None when tracing is off) and the person's MetricsReport.
    span: Span | None = None
    user_report: dict[str, Any] = field(default_factory=dict)
    # The person spoke over it: LiveKit closed this stream before the turn's events ended.
    cut: bool = False
    # Set when the turn's events have ended (the run and its transcript are then stored).
    done: asyncio.Event = field(default_factory=asyncio.Event)


class RunnerLLM(llm.LLM[Any]):
    """One per voice session: the person (resolved by the worker, never the client's word), the
    thread the room belongs to, and the app's language setting."""

    def __init__(
        self,
        *,
        turns: Turns,
        actor: Actor,
        thread_id: uuid.UUID,
        language: Language | None = None,
        progress_after: float = 1.5,
        origin: Origin | None = None,
        on_turn: Callable[[SpokenTurn], None] | None = None,
    ) -> None:
        super().__init__()
        self.turns = turns
        self.actor = actor
        self.thread_id = thread_id
        self.language = language
        self.progress_after = progress_after
        self.origin = origin
        self.on_turn = on_turn
        self.last_turn: SpokenTurn | None = None  # the turn whose reply is being spoken
        # Set by the recorder that follows the session: it ends each turn's span once the
        # reply has played (with LiveKit's timings); otherwise the stream's end ends it.
        self.playout_ends_spans = False
        self._following: set[asyncio.Task[None]] = set()

    @property
    def model(self) -> str:
        return "omnifin-turn-runner"

    @property
    def provider(self) -> str:
        return "omnifin"

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls: Any = NOT_GIVEN,
        tool_choice: Any = NOT_GIVEN,
        extra_kwargs: Any = NOT_GIVEN,
    ) -> RunnerStream:
        # Tools are ours, run by the runner: LiveKit's tool list (empty) is not used.
        return RunnerStream(self, chat_ctx=chat_ctx, tools=[], conn_options=conn_options)


class RunnerStream(llm.LLMStream):
    _llm: RunnerLLM

    async def _run(self) -> None:
        runner_llm = self._llm
        text = _last_user_text(self._chat_ctx)
        turn = SpokenTurn()
        runner_llm.last_turn = turn
        if not text:
            turn.done.set()
            return
        language: Language = (
            "zh" if detect_language(text) == "zh" else (runner_llm.language or "en")
        )
        request = TurnRequest(
            thread_id=runner_llm.thread_id,
            actor=runner_llm.actor,
            message=text,
            channel="voice",
            origin=runner_llm.origin,
            language=runner_llm.language,
        )
        turn.user_report = _last_user_report(self._chat_ctx)
        turn.span = spans.begin_turn(runner_llm.thread_id, turn.user_report)
        try:
            # The runner's turn starts its task in here, so its spans are this one's children.
            with tracing.using(turn.span), tracing.span("voice.llm") as llm_span:
                try:
                    await self._run_turn(request, turn, language)
                finally:
                    tracing.set_attributes(
                        llm_span,
                        {
                            "omnifin.run_id": turn.run_id or "",
                            "omnifin.voice.sentences": len(turn.spoken),
                            "omnifin.voice.cut": turn.cut,
                        },
                    )
        finally:
            if not turn.cut:
                turn.done.set()
            if not (turn.spoken and runner_llm.playout_ends_spans):  # nothing will be played
                spans.end_turn(
                    turn.span,
                    stages={},
                    user_report=turn.user_report,
                    reply_report={},
                    first_text_at=turn.first_text_wall,
                    run_id=turn.run_id,
                    interrupted=turn.cut,
                )
            if runner_llm.on_turn is not None:
                runner_llm.on_turn(turn)

    async def _run_turn(self, request: TurnRequest, turn: SpokenTurn, language: Language) -> None:
        try:
            try:
                events = await self._llm.turns.start(request)
            except OmnifinError as exc:  # refused before the turn began (busy, gone, not theirs)
                log.info("voice turn refused", error=type(exc).__name__)
                self._say(turn, _REFUSED[language])
                return
            await self._speak_events(events, turn, language)
        except Exception:  # never a retryable error: a retry could run a tool twice
            log.exception("voice turn failed")
            self._say(turn, _FAILED[language])

    async def _speak_events(self, events: Any, turn: SpokenTurn, language: Language) -> None:
        reply = SpeakableStream(language)
        tokens_in_message = False
        asked = False
        running: dict[str, str] = {}  # call id -> tool, of tools still running
        announced: set[str] = set()
        said = ""  # the raw reply text of this turn, to not restate a question already read
        incoming: asyncio.Queue[Event | None] = asyncio.Queue()

        async def pump() -> None:
            try:
                async for event in events:
                    incoming.put_nowait(event)
            finally:
                incoming.put_nowait(None)

        pumping = asyncio.create_task(pump(), name="voice-turn-events")
        try:
            deadline: float | None = None
            while True:
                try:
                    if deadline is None:
                        event = await incoming.get()
                    else:
                        async with asyncio.timeout_at(deadline):
                            event = await incoming.get()
                except TimeoutError:
                    waiting = [c for c in running if c not in announced]
                    if waiting:
                        announced.update(running)
                        for sentence in reply.flush():
                            self._say(turn, sentence)
                        self._say(turn, progress_phrase(running[waiting[0]], language))
                    deadline = None
                    continue
                if event is None:
                    break
                turn.events.append(event.type)
                if isinstance(event, RunStarted):
                    turn.run_id = event.run_id
                elif isinstance(event, Token):
                    tokens_in_message = True
                    said += event.text
                    for sentence in reply.push(event.text):
                        self._say(turn, sentence)
                elif isinstance(event, MessageCompleted):
                    if not tokens_in_message:
                        said += event.text
                        for sentence in reply.push(event.text):
                            self._say(turn, sentence)
                    for sentence in reply.flush():
                        self._say(turn, sentence)
                    tokens_in_message = False
                elif isinstance(event, ToolStarted):
                    running[event.call_id] = event.tool
                    if deadline is None:
                        deadline = asyncio.get_running_loop().time() + self._llm.progress_after
                elif isinstance(event, ToolFinished):
                    running.pop(event.call_id, None)
                    if not running:
                        deadline = None
                elif isinstance(event, InterruptRequested) and not asked:
                    # The first waiting approval is the one put to the person (the runner's
                    # order); its answer is the next thing they say.
                    asked = True
                    for sentence in reply.flush():
                        self._say(turn, sentence)
                    question_language: Language = detect_language(event.summary) or language
                    self._say(turn, confirmation(event.summary, question_language, said))
                elif isinstance(event, RunError):
                    for sentence in reply.flush():
                        self._say(turn, sentence)
                    self._say(turn, _FAILED[language])
            for sentence in reply.flush():
                self._say(turn, sentence)
        finally:
            if not pumping.done():
                # Barge-in: this stream stops, the turn itself goes on and is recorded; its
                # events are followed to the end (done) so what was heard can replace the reply.
                turn.cut = True
                following = asyncio.create_task(_follow(pumping, incoming, turn))
                self._llm._following.add(following)
                following.add_done_callback(self._llm._following.discard)

    def _say(self, turn: SpokenTurn, text: str) -> None:
        if not text:
            return
        if turn.first_text_at is None:
            turn.first_text_at = time.perf_counter()
            turn.first_text_wall = time.time()
        turn.spoken.append(text)
        self._event_ch.send_nowait(
            llm.ChatChunk(
                id=turn.run_id or "voice",
                delta=llm.ChoiceDelta(role="assistant", content=text + " "),
            )
        )


async def _follow(
    pumping: asyncio.Task[None], incoming: asyncio.Queue[Event | None], turn: SpokenTurn
) -> None:
    """The rest of a cut turn's events, unspoken: its run id, then done."""
    try:
        with contextlib.suppress(Exception):
            await pumping
        while not incoming.empty():
            event = incoming.get_nowait()
            if isinstance(event, RunStarted) and turn.run_id is None:
                turn.run_id = event.run_id
    finally:
        turn.done.set()


def _last_user_report(chat_ctx: llm.ChatContext) -> dict[str, Any]:
    """LiveKit's MetricsReport of what the person just said (when they stopped speaking...)."""
    for item in reversed(chat_ctx.items):
        if isinstance(item, llm.ChatMessage) and item.role == "user":
            return dict(item.metrics)
    return {}


def _last_user_text(chat_ctx: llm.ChatContext) -> str:
    for item in reversed(chat_ctx.items):
        if isinstance(item, llm.ChatMessage) and item.role == "user":
            return (item.text_content or "").strip()
    return ""


def confirmation(summary: str, language: Language, already_said: str = "") -> str:
    """The approval question as spoken: the action restated, then a plain request for a yes or
    no. A question the reply has just read out (asked again after an unclear answer) is not
    read twice."""
    prompt = _SAY_YES_OR_NO[language]
    if summary and summary in already_said:
        return prompt
    question = summary.replace("(yes or no)", "").replace("（是或否）", "").strip()
    spoken = speakable(question, language) if question else ""
    return f"{spoken} {prompt}".strip() if language == "en" else f"{spoken}{prompt}"


def progress_phrase(tool: str, language: Language) -> str:
    """Said once when a tool runs long: what the assistant is doing, never the tool's output."""
    for prefix, phrases in _PROGRESS.items():
        if tool.startswith(prefix) or prefix in tool:
            return phrases[language]
    return _PROGRESS_DEFAULT[language]


_SAY_YES_OR_NO: dict[Language, str] = {
    "en": "Please say yes or no.",
    "zh": "请回答“是”或“否”。",
}
_FAILED: dict[Language, str] = {
    "en": "Sorry, I couldn't finish that. Nothing else was done; please try again.",
    "zh": "抱歉，我没能完成这一步，也没有执行其他操作。请再试一次。",
}
_REFUSED: dict[Language, str] = {
    "en": "Sorry, I can't do that right now. Please try again in a moment.",
    "zh": "抱歉，现在无法处理。请稍后再试。",
}
_PROGRESS: dict[str, dict[Language, str]] = {
    "lender": {"en": "One moment, I'm checking the lenders.", "zh": "请稍等，我正在查询贷款机构。"},
    "offer": {"en": "One moment, I'm looking at the offers.", "zh": "请稍等，我正在查看报价。"},
    "document": {"en": "One moment, I'm checking the documents.", "zh": "请稍等，我正在查看文件。"},
    "knowledge": {"en": "One moment, I'm looking that up.", "zh": "请稍等，我正在查找相关信息。"},
    "commission": {
        "en": "One moment, I'm checking the commissions.",
        "zh": "请稍等，我正在查询佣金。",
    },
    "application": {
        "en": "One moment, I'm working on the application.",
        "zh": "请稍等，我正在处理申请。",
    },
}
_PROGRESS_DEFAULT: dict[Language, str] = {
    "en": "One moment, I'm working on that.",
    "zh": "请稍等，我正在处理。",
}
