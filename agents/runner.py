"""The turn runner: runs one turn of an assistant graph and yields the typed events of DESIGN §5.

SSE chat, the OpenAI-compatible endpoint, voice and evals all consume this one stream. The runner
also keeps the product's records of the turn (run row, redacted transcript, pending approval) in
two short transactions, one before and one after the graph runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any, Literal

from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, Durability, Interrupt
from opentelemetry.trace import Span
from sqlalchemy.ext.asyncio import AsyncSession

from agents.approvals import TurnApprover, approval_card
from agents.checkpoint import TurnCheckpointer
from agents.core.context import AgentContext
from agents.core.state import AgentState
from agents.events import (
    ApprovalResolved,
    Event,
    InterruptRequested,
    MessageCompleted,
    ModeChanged,
    RunCompleted,
    RunError,
    RunStarted,
    Token,
    ToolFinished,
    ToolStarted,
    Usage,
)
from agents.guided.parser import parse_yes_no
from agents.guided.policy import GuidedPolicy
from agents.guided.questions import answer_from_knowledge, is_question
from agents.models import ModelProvider
from agents.pii import PiiVault, has_pii, redact
from agents.threads import TranscriptEntry, TurnThread, thread_service
from knowledge.language import Language, detect_language
from lending import tracing
from lending.analytics.recorder import conversation
from lending.audit.schemas import Origin
from lending.config import Settings
from lending.db import (
    DriverConnection,
    SessionMaker,
    driver_autocommit,
    driver_connection,
    transaction,
)
from lending.errors import NotFound
from lending.identity.actor import Actor
from lending.logs import get_logger
from lending.models.chat import RunStatus
from lending.models.tools import ToolApproval
from lending.pii import REDACTED, PiiSpan, number_alone
from tools.approvals import approval_service
from tools.context import ToolContext
from tools.registry import ToolRegistry

log = get_logger(__name__)

Channel = Literal["text", "button", "voice", "api"]
AnyGraph = CompiledStateGraph[AgentState, AgentContext, AgentState, AgentState]


@dataclass(frozen=True)
class SystemPrompt:
    text: str
    versions: dict[str, Any] = field(default_factory=dict)
    variant: str | None = None


# (session, graph name, actor, mode) -> the system prompt of this run.
PromptSource = Callable[[Any, str, Actor, str], Awaitable[SystemPrompt]]


@dataclass(frozen=True)
class Approval:
    """A person's answer to a pending approval."""

    approval_id: str
    approved: bool
    channel: Channel


@dataclass(frozen=True)
class TurnRequest:
    thread_id: uuid.UUID
    actor: Actor
    message: str | None = None
    approval: Approval | None = None
    channel: str = "chat"
    origin: Origin | None = None
    language: Language | None = None  # the app's language setting, when the client sends it


class TurnRunner:
    """Runs turns for every graph. One per process; attach the checkpointer with `start`."""

    def __init__(
        self,
        *,
        settings: Settings,
        sessionmaker: SessionMaker,
        graphs: Mapping[str, AnyGraph],
        registry: ToolRegistry,
        model: ModelProvider | None,
        policies: Mapping[str, GuidedPolicy],
        prompts: PromptSource,
        checkpointer: BaseCheckpointSaver[Any],
        durability: Durability = "async",
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.registry = registry
        self.model = model
        self.policies = policies
        self.prompts = prompts
        self.durability: Durability = durability
        self.checkpointer = checkpointer
        self.graphs = {
            name: graph.copy(update={"checkpointer": checkpointer})
            for name, graph in graphs.items()
        }

    def mode(self) -> Literal["llm", "guided"]:
        return "llm" if self.model is not None and self.model.breaker.allows_call() else "guided"

    async def run(self, request: TurnRequest) -> AsyncIterator[Event]:
        """Run one turn and yield its events; the last is `run.completed` or `error`."""
        with (
            tracing.span(
                "chat.turn",
                {"omnifin.thread_id": str(request.thread_id), "omnifin.channel": request.channel},
            ) as turn_span,
            conversation(request.channel, self.mode()),
        ):
            try:
                async for event in self._run(request, turn_span):
                    yield event
            finally:
                if isinstance(self.checkpointer, TurnCheckpointer):
                    self.checkpointer.forget(str(request.thread_id))  # a read ahead not taken

    async def _run(self, request: TurnRequest, turn_span: Span | None) -> AsyncIterator[Event]:
        started = time.perf_counter()
        mode = self.mode()
        transcript: list[TranscriptEntry] = []
        thread, begun = await self._begin(request, mode, transcript)
        step, run_id, graph = begun.step, begun.run_id, self.graphs[thread.graph]
        config: RunnableConfig = {"configurable": {"thread_id": str(thread.id)}}
        previous_status = thread.last_run_status
        yield RunStarted(
            run_id=str(run_id), thread_id=str(thread.id), graph=thread.graph, mode=mode
        )

        usage = {"input": 0, "output": 0}
        # The app's setting, unless the message is written in Chinese ("1" or "yes" says nothing).
        written = detect_language(request.message or "")
        language = step.language or ("zh" if written == "zh" else request.language or written)
        context = AgentContext(
            language_setting=request.language,
            tools=ToolContext(
                actor=request.actor,
                sessionmaker=self.sessionmaker,
                settings=self.settings,
                channel=request.channel,
                thread_id=str(thread.id),
                origin=request.origin,
                approver=TurnApprover(
                    sessionmaker=self.sessionmaker,
                    actor=request.actor,
                    thread_id=thread.id,
                    channel=request.channel,
                    ttl=timedelta(seconds=self.settings.approval_ttl_seconds),
                ),
                language=language,
            ),
            registry=self.registry,
            model=self.model,
            policy=self.policies[thread.graph],
            system_prompt=begun.prompt.text,
            usage=usage,
        )
        status = RunStatus.COMPLETED
        error: str | None = None
        final_mode: str = mode
        try:
            if step.question is not None:
                # A question while an approval waits is answered (from the knowledge base, with
                # the same permission checks as any tool), then the approval is put again.
                answer = await answer_from_knowledge(step.question, language, context)
                if answer:
                    transcript.insert(0, TranscriptEntry(role="assistant", content=answer))
                    yield Token(text=answer + "\n\n")
                    yield MessageCompleted(message_id=uuid.uuid4().hex, text=answer)
            for event in step.events:
                if isinstance(event, InterruptRequested):
                    status = RunStatus.INTERRUPTED
                yield event
            inputs: list[Any] = []
            if step.graph_input is not None or previous_status in _UNFINISHED:
                inputs.extend(await self._unfinished(graph, config, thread, previous_status))
            if step.graph_input is not None:
                inputs.append(step.graph_input)
            for graph_input in inputs:
                async for event in self._stream(graph, graph_input, config, context, transcript):
                    if isinstance(event, InterruptRequested):
                        status = RunStatus.INTERRUPTED
                    elif isinstance(event, ModeChanged):
                        final_mode = event.mode
                    yield event
        except Exception as exc:  # the turn fails as a whole; the caller sees one error event
            log.exception("turn failed", thread_id=str(thread.id))
            status, error = RunStatus.FAILED, type(exc).__name__
            yield RunError(error="TurnFailed", detail="The assistant could not finish this turn.")
        latency_ms = (time.perf_counter() - started) * 1000
        cost = self.model.pricing.cost(usage["input"], usage["output"]) if self.model else None
        async with driver_autocommit(self.sessionmaker) as records:  # one statement
            await thread_service.finish_run(
                records,
                thread_id=thread.id,
                run_id=run_id,
                status=status,
                mode=final_mode,
                latency_ms=latency_ms,
                input_tokens=usage["input"],
                output_tokens=usage["output"],
                cost=cost if cost is not None else _ZERO,
                transcript=transcript,
                error=error,
                fell_back=mode == "llm" and final_mode == "guided",
            )
        tracing.set_attributes(
            turn_span,
            {
                "omnifin.run_id": str(run_id),
                "omnifin.graph": thread.graph,
                "omnifin.mode": final_mode,
                "omnifin.status": status.value,
                "omnifin.fell_back": mode == "llm" and final_mode == "guided",
                "gen_ai.usage.input_tokens": usage["input"],
                "gen_ai.usage.output_tokens": usage["output"],
            },
        )
        if error is not None:
            tracing.mark_error(turn_span, error)
        if status is not RunStatus.FAILED:
            yield RunCompleted(
                latency_ms=round(latency_ms, 3),
                tokens=Usage(input_tokens=usage["input"], output_tokens=usage["output"]),
                cost=cost if cost is not None else _ZERO,
                status="interrupted" if status is RunStatus.INTERRUPTED else "completed",
            )

    async def _begin(
        self, request: TurnRequest, mode: str, transcript: list[TranscriptEntry]
    ) -> tuple[TurnThread, _Begun]:
        """The turn's thread, and its run started (the run row, the person's message).

        Each of these statements stands alone, so they commit one by one (no BEGIN, no COMMIT:
        two round trips fewer) — except when the message answers a pending approval: the answer
        is recorded with the run it starts, all or nothing, and a refusal here (not theirs,
        answered already) refuses the whole turn and records nothing; and except after a turn
        cut off: its run gives up the message it kept only when this run starts, once the
        message is in the conversation's state.
        """
        # The session is for what a turn rarely needs (a prompt not cached yet, an experiment's
        # assignment): it connects, and begins, only if used.
        async with (
            transaction(self.sessionmaker) as session,
            driver_autocommit(self.sessionmaker) as records,
        ):
            thread = await thread_service.open_turn(records, request.actor, request.thread_id)
            if isinstance(self.checkpointer, TurnCheckpointer):
                # The thread is the actor's: its latest checkpoint is read while the run
                # starts, and the graph's first step takes it instead of waiting for the read
                # then (agents/checkpoint.py).
                self.checkpointer.prefetch(str(thread.id))
            if (
                request.approval is None
                and not thread.pending_approval_ids
                and thread.last_run_status != RunStatus.RUNNING.value
            ):
                begun = await self._start_run(session, records, thread, request, mode, transcript)
                return thread, begun
        async with transaction(self.sessionmaker) as session:
            records = await driver_connection(session)  # the same transaction
            begun = await self._start_run(session, records, thread, request, mode, transcript)
            return thread, begun

    async def _start_run(
        self,
        session: AsyncSession,
        records: DriverConnection,
        thread: TurnThread,
        request: TurnRequest,
        mode: str,
        transcript: list[TranscriptEntry],
    ) -> _Begun:
        graph = self.graphs[thread.graph]
        config: RunnableConfig = {"configurable": {"thread_id": str(thread.id)}}
        if thread.last_run_status == RunStatus.RUNNING.value:
            cut_off = await thread_service.fail_cut_off_runs(records, thread.id)
            # Before this turn's message takes its vault tokens, theirs take theirs.
            await self._restore_cut_off(graph, config, cut_off)
        step = await self._answer(session, thread, request, transcript)
        prompt = await self.prompts(session, thread.graph, request.actor, mode)
        user_text = redact(request.message) if request.message is not None else None
        rest = await self._rest_of_a_number(graph, config, request.message)
        if rest is not None and request.message is not None:
            # "6789" after "my ssn starts with 123-45": kept as neither part in clear.
            user_text = redact(
                request.message[: rest.start] + REDACTED + request.message[rest.end :]
            )
        kept: list[dict[str, Any]] | None = None
        if isinstance(step.graph_input, _NewMessage):
            step.graph_input = await self._tokenized(graph, config, step.graph_input.text, rest)
            if self.durability == "exit":
                # "exit" writes one checkpoint, when the turn ends: the message is kept with
                # the run until then, so a process that dies mid-turn leaves a turn to finish
                # (`_restore_cut_off`), not a lost message.
                kept = [step.graph_input.kept()]
        run_id = await thread_service.start_run(
            records,
            thread.id,
            mode=mode,
            prompt_versions=prompt.versions,
            variant=prompt.variant,
            user_text=user_text,
            trace_id=tracing.current_trace_id(),
            model=self.model_name if mode == "llm" else None,
            resume_input=kept,
        )
        return _Begun(step=step, prompt=prompt, run_id=run_id)

    @functools.cached_property
    def model_name(self) -> str | None:
        """The first model of the chain, as the agent metrics group runs by it (read once: a
        pydantic model's missing attribute costs an exception every time it is asked)."""
        if self.model is None or not self.model.models:
            return None
        first = self.model.models[0]
        name = getattr(first, "model_name", None) or getattr(first, "model", None)
        return str(name) if isinstance(name, str) and name else type(first).__name__

    async def _answer(
        self,
        session: AsyncSession,
        thread: TurnThread,
        request: TurnRequest,
        transcript: list[TranscriptEntry],
    ) -> _Step:
        """What this turn starts from: a new message, or the answer to a pending approval.

        An approval is answered by id (a button, `/v1`'s approval field, voice), or by free text
        only while one waits, and then only by an unambiguous yes or no; anything else leaves it
        waiting and the question is put again. Free text answers the question asked, the oldest
        waiting one; every approval can be answered on its own by id.
        """
        approval_id: uuid.UUID | None = None
        approved = False
        channel: Channel = "voice" if request.channel == "voice" else "text"
        if request.approval is not None:
            try:
                approval_id = uuid.UUID(request.approval.approval_id)
            except ValueError:
                raise NotFound("No such approval is waiting for you.") from None
            approved, channel = request.approval.approved, request.approval.channel
        elif thread.pending_approval_ids and request.message is not None:
            asked = await approval_service.get(
                session, request.actor, thread.pending_approval_ids[0], thread_id=thread.id
            )
            # The action's own verb counts as agreement ("yes, withdraw it" to a withdrawal); a
            # yes reaching further than what was shown ("yes, to all lenders") is unclear.
            answer = parse_yes_no(
                request.message, action=asked.tool_name, targets=_targets(asked.arguments)
            )
            if answer is None:
                return await self._ask_again(session, thread, request, asked, transcript)
            approval_id, approved = asked.id, answer
        if approval_id is None:
            return _Step(graph_input=_NewMessage(request.message or ""))
        resolution = await approval_service.resolve(
            session,
            request.actor,
            approval_id,
            approved=approved,
            channel=channel,
            thread_id=thread.id,
            origin=request.origin,
        )
        approval = resolution.approval
        transcript.append(
            TranscriptEntry(
                role="approval",
                content=resolution.outcome,
                tool={"tool": approval.tool_name, "channel": channel},
            )
        )
        events: list[Event] = [
            ApprovalResolved(
                approval_id=str(approval.id),
                approved=resolution.outcome == "approved",
                channel=channel,
                outcome=resolution.outcome,
            )
        ]
        if resolution.outcome == "expired":
            text = _EXPIRED[_language(approval.language)].format(
                hours=_hours(self.settings.approval_ttl_seconds)
            )
            transcript.append(TranscriptEntry(role="assistant", content=text))
            events += [Token(text=text), MessageCompleted(message_id=uuid.uuid4().hex, text=text)]
        # The paused turn resumes; the tools node reads each decision from its approval.
        return _Step(
            graph_input=Command(resume={"approval_id": str(approval.id)}),
            events=events,
            language=_language(approval.language),
        )

    async def _ask_again(
        self,
        session: AsyncSession,
        thread: TurnThread,
        request: TurnRequest,
        asked: ToolApproval,
        transcript: list[TranscriptEntry],
    ) -> _Step:
        """Not a clear yes or no: nothing runs; the question is put again, restating exactly what
        would happen, and every approval still waits."""
        # The question's own language, unless the person now writes Chinese.
        written = detect_language(request.message or "")
        language: Language = "zh" if written == "zh" else _language(asked.language)
        text = f"{_ASK_AGAIN[language]} {asked.question}"
        transcript.append(TranscriptEntry(role="assistant", content=text))
        waiting = await approval_service.pending(session, request.actor, thread_id=thread.id)
        return _Step(
            question=request.message if request.message and is_question(request.message) else None,
            events=[
                Token(text=text),
                MessageCompleted(message_id=uuid.uuid4().hex, text=text),
                *(_interrupt_event(approval_card(item)) for item in waiting),
            ],
            language=language,
        )

    async def _restore_cut_off(
        self, graph: AnyGraph, config: RunnableConfig, kept: list[dict[str, Any]]
    ) -> None:
        """The messages of turns cut off before their checkpoint (kept with their runs) go into
        the conversation's state as they would have at the start of those turns; `_unfinished`
        then finishes them. One already there (the turn's checkpoint was written, its run row
        not finished) is not added twice."""
        if not kept:
            return
        snapshot = await graph.aget_state(config)
        values = snapshot.values or {}
        present = {message.id for message in values.get("messages", [])}
        vault = dict(values.get("vault") or {})
        for item in kept:
            message = _Message.from_kept(item, vault)
            if message.id in present:
                continue
            vault = message.vault if message.vault is not None else vault
            await graph.aupdate_state(config, message.graph_input(), as_node="__start__")

    async def _unfinished(
        self,
        graph: AnyGraph,
        config: RunnableConfig,
        thread: TurnThread,
        previous_status: str | None,
    ) -> list[Any]:
        """Inputs that finish what an earlier turn left undone, before this turn's own.

        A turn cut off mid-way (the process stopped) goes on from its last checkpoint. A turn
        paused on approvals whose questions are all answered (answered, then the process stopped
        before it resumed) resumes, so the approved calls run and nothing is asked twice.
        """
        if previous_status not in _UNFINISHED or thread.pending_approval_ids:
            return []
        snapshot = await graph.aget_state(config)
        if snapshot.interrupts:
            return [Command(resume={})]
        if snapshot.next:
            return [None]
        return []

    async def _stream(
        self,
        graph: AnyGraph,
        graph_input: Any,
        config: RunnableConfig,
        context: AgentContext,
        transcript: list[TranscriptEntry],
    ) -> AsyncIterator[Event]:
        if isinstance(graph_input, _Message):
            graph_input = graph_input.graph_input()
        # The nodes put their events (tokens, tool activity) straight on this queue, and the
        # graph's updates follow them there: LangGraph's own custom stream mode crossed threads
        # (call_soon_threadsafe, a wake-up write) for every token.
        queue: asyncio.Queue[Any] = asyncio.Queue()
        context.emit = queue.put_nowait

        async def pump() -> None:
            # One span per graph run; the nodes' own spans (agents/core/nodes.py) nest in it.
            try:
                with tracing.span("langgraph.run", {"langgraph.graph": graph.name}):
                    async for update in graph.astream(
                        graph_input,
                        config,
                        context=context,
                        stream_mode="updates",
                        durability=self.durability,
                    ):
                        queue.put_nowait(_Update(update))
            finally:
                queue.put_nowait(_DONE)

        task = asyncio.create_task(pump())
        try:
            while (item := await queue.get()) is not _DONE:
                if not isinstance(item, _Update):
                    event = _custom_event(item)
                    if isinstance(event, ToolFinished):
                        transcript.append(
                            TranscriptEntry(
                                role="tool",
                                tool={"tool": event.tool, "ok": event.ok, "error": event.error},
                            )
                        )
                    yield event
                    continue
                for node, update in item.chunk.items():
                    if node == "__interrupt__":
                        cards = _waiting(update)
                        if cards:
                            # The question put to the person, as the history shows it.
                            transcript.append(
                                TranscriptEntry(
                                    role="assistant", content=redact(cards[0]["summary"])
                                )
                            )
                        for card in cards:
                            yield _interrupt_event(card)
                    elif node == "assistant":
                        for message in update.get("messages", []):
                            if isinstance(message, AIMessage) and message.content:
                                text = str(message.content)
                                transcript.append(
                                    TranscriptEntry(role="assistant", content=redact(text))
                                )
                                yield MessageCompleted(
                                    message_id=message.id or uuid.uuid4().hex, text=text
                                )
            await task  # the graph's own failure, if any, is the turn's
        finally:
            context.emit = None
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _tokenized(
        self, graph: AnyGraph, config: RunnableConfig, text: str, rest: PiiSpan | None
    ) -> _Message:
        """The new message with its PII swapped for tokens in this conversation's vault (and,
        given `rest`, the rest of a number the person's last message began). Its id is given
        here: it names the turn (the tools' idempotency scope), also when the turn is run again
        after a crash."""
        message_id = str(uuid.uuid4())
        if rest is None and not has_pii(text):
            return _Message(id=message_id, text=text)  # no vault to read or change
        snapshot = await graph.aget_state(config)
        stored = (snapshot.values or {}).get("vault") or {}
        vault = PiiVault(self.settings, stored)
        tokenized = vault.tokenize_rest(text, rest) if rest else vault.tokenize(text)
        return _Message(id=message_id, text=tokenized, vault=vault.state(), before=stored)

    async def _rest_of_a_number(
        self, graph: AnyGraph, config: RunnableConfig, text: str | None
    ) -> PiiSpan | None:
        """The rest of a number the person's last message began ("6789" after "my ssn starts
        with 123-45"), or None; the state is read only for a message that is a bare number."""
        if text is None or number_alone(text) is None:
            return None
        snapshot = await graph.aget_state(config)
        values = snapshot.values or {}
        vault = PiiVault(self.settings, values.get("vault"))
        return vault.rest_of_a_number(text, _last_person_message(values))


@dataclass(frozen=True)
class _Update:
    chunk: dict[str, Any]


_DONE = object()


@dataclass
class _Step:
    """How a turn begins: events to send first, then what the graph runs (none: nothing runs)."""

    graph_input: Any = None
    events: list[Event] = field(default_factory=list)
    language: Language | None = None
    # A question the person asked while an approval waits: answered before it is put again.
    question: str | None = None


@dataclass(frozen=True)
class _Begun:
    step: _Step
    prompt: SystemPrompt
    run_id: uuid.UUID


@dataclass(frozen=True)
class _NewMessage:
    text: str


@dataclass(frozen=True)
class _Message:
    """The person's message as the graph receives it: tokenised, with the conversation's vault
    when the message added to it."""

    id: str
    text: str
    vault: dict[str, str] | None = None
    before: Mapping[str, str] = field(default_factory=dict)  # the vault before this message

    def graph_input(self) -> AgentState:
        state: AgentState = {"messages": [HumanMessage(self.text, id=self.id)]}
        if self.vault is not None:
            state["vault"] = self.vault
        return state

    def kept(self) -> dict[str, Any]:
        """What the run keeps of it: no PII in clear (the text is tokenised, the vault entries
        it added are sealed), and only the vault entries this message added."""
        vault = self.vault or {}
        added = {token: sealed for token, sealed in vault.items() if token not in self.before}
        return {"id": self.id, "text": self.text, "vault": added}

    @classmethod
    def from_kept(cls, item: Mapping[str, Any], vault: Mapping[str, str]) -> _Message:
        """A kept message over the conversation's vault as it now is."""
        added: dict[str, str] = dict(item.get("vault") or {})
        merged = {**vault, **added} if added else None
        return cls(id=str(item["id"]), text=str(item["text"]), vault=merged, before=vault)


_ZERO = Decimal("0")


# Statuses of a last turn that may have left work undone.
_UNFINISHED = (RunStatus.RUNNING.value, RunStatus.INTERRUPTED.value)

_ASK_AGAIN: dict[Language, str] = {
    "en": "I haven't done anything yet: I need a clear yes or no first.",
    "zh": "我还没有执行任何操作：需要您明确回答“是”或“否”。",
}
_EXPIRED: dict[Language, str] = {
    "en": "That approval had expired (approvals last {hours} hours), so nothing was done. "
    "I've checked the action again.",
    "zh": "该确认已过期（有效期 {hours} 小时），因此未执行任何操作。我已重新核对该操作。",
}


def _last_person_message(values: dict[str, Any]) -> str:
    """The person's last message in a graph state (tokenised), or ""."""
    for message in reversed(values.get("messages", [])):
        if isinstance(message, HumanMessage):
            return str(message.content)
    return ""


def _targets(arguments: dict[str, Any]) -> int:
    """How many things an approval's question showed: the length of its list argument (the
    lenders of a submission), else one (one application, one offer, one batch)."""
    lengths = [len(value) for value in arguments.values() if isinstance(value, list)]
    return max(lengths, default=1) or 1


def _language(value: str) -> Language:
    return "zh" if value == "zh" else "en"


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:g}"


def _waiting(update: Any) -> list[dict[str, Any]]:
    """The approval cards of a pause, oldest first (the first is the one put to the person)."""
    cards: list[dict[str, Any]] = []
    for item in update:
        value = item.value if isinstance(item, Interrupt) else item
        if isinstance(value, dict):
            cards.extend(card for card in value.get("approvals", []) if isinstance(card, dict))
    return sorted(cards, key=lambda card: str(card.get("created_at", "")))


def _interrupt_event(card: dict[str, Any]) -> InterruptRequested:
    return InterruptRequested(
        approval_id=str(card["approval_id"]),
        tool=str(card.get("tool", "")),
        summary=str(card.get("summary", "")),
        payload=dict(card.get("payload") or {}),
    )


def _custom_event(chunk: dict[str, Any]) -> Event:
    kind = chunk.get("type")
    if kind == "token":
        return Token(text=chunk["text"])
    if kind == "tool.started":
        return ToolStarted(call_id=chunk["call_id"], tool=chunk["tool"], args=chunk["args"])
    if kind == "tool.finished":
        return ToolFinished(
            call_id=chunk["call_id"],
            tool=chunk["tool"],
            ok=chunk["ok"],
            result=chunk.get("result"),
            error=chunk.get("error"),
        )
    if kind == "mode.changed":
        return ModeChanged(mode=chunk["mode"], reason=chunk["reason"])
    raise ValueError(f"unknown custom event {kind!r}")
