"""The turn runner: runs one turn of an assistant graph and yields the typed events of DESIGN §5.

SSE chat, the OpenAI-compatible endpoint, voice and evals all consume this one stream. The runner
also keeps the product's records of the turn (run row, redacted transcript, pending approval) in
two short transactions, one before and one after the graph runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, Durability, Interrupt, interrupt

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
from agents.models import ModelProvider
from agents.pii import PiiVault, has_pii, redact
from agents.threads import TranscriptEntry, TurnThread, threads
from lending.audit.schemas import Origin
from lending.config import Settings
from lending.db import SessionMaker, transaction
from lending.errors import Conflict
from lending.identity.actor import Actor
from lending.logs import get_logger
from lending.models.chat import RunStatus
from tools.context import ApprovalRequest, ToolContext
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
        self.graphs = {
            name: graph.copy(update={"checkpointer": checkpointer})
            for name, graph in graphs.items()
        }

    def mode(self) -> Literal["llm", "guided"]:
        return "llm" if self.model is not None and self.model.breaker.allows_call() else "guided"

    async def run(self, request: TurnRequest) -> AsyncIterator[Event]:
        """Run one turn and yield its events; the last is `run.completed` or `error`."""
        started = time.perf_counter()
        mode = self.mode()
        async with transaction(self.sessionmaker) as session:
            thread = await threads.open_turn(session, request.actor, request.thread_id)
            prompt = await self.prompts(session, thread.graph, request.actor, mode)
            user_text = redact(request.message) if request.message is not None else None
            run_id = await threads.start_run(
                session,
                thread.id,
                mode=mode,
                prompt_versions=prompt.versions,
                variant=prompt.variant,
                user_text=user_text,
            )
        previous_status = thread.last_run_status
        yield RunStarted(
            run_id=str(run_id), thread_id=str(thread.id), graph=thread.graph, mode=mode
        )

        graph = self.graphs[thread.graph]
        config: RunnableConfig = {"configurable": {"thread_id": str(thread.id)}}
        usage = {"input": 0, "output": 0}
        context = AgentContext(
            tools=ToolContext(
                actor=request.actor,
                sessionmaker=self.sessionmaker,
                settings=self.settings,
                channel=request.channel,
                thread_id=str(thread.id),
                origin=request.origin,
                approver=_approve_with_interrupt,
            ),
            registry=self.registry,
            model=self.model,
            policy=self.policies[thread.graph],
            system_prompt=prompt.text,
            usage=usage,
        )
        transcript: list[TranscriptEntry] = []
        pending: dict[str, Any] | None = None
        status = RunStatus.COMPLETED
        error: str | None = None
        final_mode: str = mode
        try:
            inputs: list[Any] = []
            if previous_status == RunStatus.RUNNING.value:
                # The last turn never finished (the process stopped mid-way): finish it first.
                snapshot = await graph.aget_state(config)
                if snapshot.next and not snapshot.interrupts:
                    inputs.append(None)
            first = self._input(thread, request, transcript)
            if isinstance(first, _Reply):
                # A pending approval and an answer that is neither yes nor no: ask again.
                for event in first.events:
                    yield event
                pending = thread.pending_approval
                status = RunStatus.INTERRUPTED
            else:
                inputs.append(first)
                if isinstance(first, Command) and isinstance(first.resume, dict):
                    yield ApprovalResolved(
                        approval_id=str((thread.pending_approval or {}).get("approval_id")),
                        approved=bool(first.resume["approved"]),
                        channel=first.resume["channel"],
                    )
                for graph_input in inputs:
                    async for event in self._stream(
                        graph, graph_input, config, context, transcript
                    ):
                        if isinstance(event, InterruptRequested):
                            pending = {
                                "approval_id": event.approval_id,
                                "tool": event.tool,
                                "summary": event.summary,
                                "payload": event.payload,
                            }
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
        async with transaction(self.sessionmaker) as session:
            await threads.finish_run(
                session,
                thread_id=thread.id,
                run_id=run_id,
                status=status,
                mode=final_mode,
                latency_ms=latency_ms,
                input_tokens=usage["input"],
                output_tokens=usage["output"],
                cost=cost if cost is not None else _ZERO,
                transcript=transcript,
                pending_approval=pending,
                error=error,
            )
        if status is not RunStatus.FAILED:
            yield RunCompleted(
                latency_ms=round(latency_ms, 3),
                tokens=Usage(input_tokens=usage["input"], output_tokens=usage["output"]),
                cost=cost if cost is not None else _ZERO,
                status="interrupted" if status is RunStatus.INTERRUPTED else "completed",
            )

    def _input(
        self, thread: TurnThread, request: TurnRequest, transcript: list[TranscriptEntry]
    ) -> Any:
        pending = thread.pending_approval
        if request.approval is not None:
            if pending is None or pending.get("approval_id") != request.approval.approval_id:
                raise Conflict("There is no such approval waiting in this conversation.")
            transcript.append(
                TranscriptEntry(
                    role="approval",
                    content="approved" if request.approval.approved else "rejected",
                    tool={"tool": pending.get("tool"), "channel": request.approval.channel},
                )
            )
            return Command(
                resume={"approved": request.approval.approved, "channel": request.approval.channel}
            )
        text = request.message or ""
        if pending is not None:
            answer = parse_yes_no(text)
            if answer is None:
                question = (
                    f"Before anything else: {pending.get('summary')}. "
                    "Please answer yes to go ahead or no to cancel."
                )
                transcript.append(TranscriptEntry(role="assistant", content=question))
                return _Reply(
                    [
                        Token(text=question),
                        MessageCompleted(message_id=uuid.uuid4().hex, text=question),
                        InterruptRequested(
                            approval_id=str(pending.get("approval_id")),
                            tool=str(pending.get("tool")),
                            summary=str(pending.get("summary")),
                            payload=dict(pending.get("payload") or {}),
                        ),
                    ]
                )
            transcript.append(
                TranscriptEntry(
                    role="approval",
                    content="approved" if answer else "rejected",
                    tool={"tool": pending.get("tool"), "channel": "text"},
                )
            )
            return Command(resume={"approved": answer, "channel": "text"})
        return _NewMessage(text)

    async def _stream(
        self,
        graph: AnyGraph,
        graph_input: Any,
        config: RunnableConfig,
        context: AgentContext,
        transcript: list[TranscriptEntry],
    ) -> AsyncIterator[Event]:
        if isinstance(graph_input, _NewMessage):
            graph_input = await self._tokenized(graph, config, graph_input.text)
            if self.durability == "exit":
                # "exit" writes one checkpoint when the turn ends. Persist the message (and the
                # vault) first, so a process that dies mid-turn leaves a turn to finish, not a
                # lost message: the next turn resumes from this checkpoint.
                config = await graph.aupdate_state(config, graph_input, as_node="__start__")
                graph_input = None
        # The nodes put their events (tokens, tool activity) straight on this queue, and the
        # graph's updates follow them there: LangGraph's own custom stream mode crossed threads
        # (call_soon_threadsafe, a wake-up write) for every token.
        queue: asyncio.Queue[Any] = asyncio.Queue()
        context.emit = queue.put_nowait

        async def pump() -> None:
            try:
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
                        yield _interrupt_event(update[0])
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

    async def _tokenized(self, graph: AnyGraph, config: RunnableConfig, text: str) -> AgentState:
        """The new message with its PII swapped for tokens in this conversation's vault."""
        if not has_pii(text):
            return {"messages": [HumanMessage(text)]}  # no vault to read or change
        snapshot = await graph.aget_state(config)
        vault = PiiVault(self.settings, snapshot.values.get("vault") if snapshot.values else None)
        return {"messages": [HumanMessage(vault.tokenize(text))], "vault": vault.state()}


@dataclass(frozen=True)
class _Update:
    chunk: dict[str, Any]


_DONE = object()


@dataclass
class _Reply:
    events: list[Event]


@dataclass(frozen=True)
class _NewMessage:
    text: str


_ZERO = Decimal("0")


async def _approve_with_interrupt(request: ApprovalRequest) -> bool:
    """Pause the run until a person answers; LangGraph resumes here with their answer."""
    decision = interrupt(
        {
            "tool": request.tool,
            "summary": redact(request.summary),  # it echoes the arguments, restored values too
            "arguments": redact(request.arguments),
        }
    )
    return bool(decision.get("approved")) if isinstance(decision, dict) else bool(decision)


def _interrupt_event(item: Interrupt) -> InterruptRequested:
    value = item.value if isinstance(item.value, dict) else {"summary": str(item.value)}
    return InterruptRequested(
        approval_id=item.id,
        tool=str(value.get("tool", "")),
        summary=str(value.get("summary", "")),
        payload={"arguments": value.get("arguments", {})},
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
