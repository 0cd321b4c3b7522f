"""The two nodes every assistant graph runs: `assistant` (the model, or the guided policy when
no model can answer) and `tools` (the registry, with approvals through `interrupt()`)."""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from typing import Any, cast

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolCall,
    ToolMessage,
)
from langchain_core.messages.ai import add_ai_message_chunks
from langchain_core.messages.utils import message_chunk_to_message
from langgraph.errors import GraphInterrupt
from langgraph.runtime import Runtime
from langgraph.types import interrupt

from agents.core.context import AgentContext
from agents.core.fencing import fence
from agents.core.state import AgentState
from agents.guided.texts import CONSENT_TRANSLATIONS
from agents.guided.yesno import Answer, consent_answer
from agents.pii import PiiVault, redact
from lending import tracing
from lending.analytics.recorder import set_mode
from lending.applications.requirements import requirements
from lending.logs import get_logger
from lending.models.applications import ConsentKind
from tools.approvals import ApprovalPending
from tools.base import ToolError

log = get_logger(__name__)

MODEL_UNAVAILABLE = (
    "The assistant's language model is not answering, so I'm continuing in guided mode: "
    "I'll ask simple questions one at a time."
)


# Rounds of model → tools the assistant node runs itself before leaving the rest to the graph.
INLINE_ROUNDS = 8


async def assistant(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    with tracing.span("agent.node assistant", {"langgraph.node": "assistant"}) as node_span:
        update = await _assistant_rounds(state, runtime)
        tracing.set_attributes(node_span, {"omnifin.mode": update["mode"]})
        return update


async def _assistant_rounds(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """The model's (or the guided policy's) reply, and, while it only calls tools that need no
    approval, those calls and the next reply, in this one node.

    Each graph step costs a superstep of LangGraph's loop; a turn that calls a tool and answers
    was three steps (assistant, tools, assistant) and is now one. Nothing is lost by it: with
    `exit` durability nothing was checkpointed between those steps anyway, and a turn cut off
    mid-way is run again from the person's message, where a side-effecting call that already
    acted returns its stored result (idempotent by its content within the turn, see
    `_run_calls`). A call that needs a person's approval goes to the `tools` node, which pauses
    the graph (`interrupt()`) and is run again from its top on resume: here, a resume would call
    the model again.
    """
    context = runtime.context
    write = context.emit or runtime.stream_writer
    update = await _assistant(state, context, write)
    added: list[BaseMessage] = list(update["messages"])
    for _ in range(INLINE_ROUNDS - 1):
        if not _runs_inline(added[-1], context):
            break
        # The state as the next step would have seen it, had the graph stepped.
        current = cast(AgentState, {**state, **update, "messages": [*state["messages"], *added]})
        results, update["vault"] = await _run_inline(current, context, write)
        added += results
        current = {
            **current,
            "vault": update["vault"],
            "messages": [*current["messages"], *results],
        }
        reply = await _assistant(current, context, write)
        added += reply.pop("messages")
        update.update(reply)
    update["messages"] = added
    return update


def _runs_inline(message: BaseMessage, context: AgentContext) -> bool:
    """Whether a reply's tool calls can run in the assistant node: there are some, and none
    needs a person's approval (those pause the graph in the `tools` node)."""
    if not isinstance(message, AIMessage) or not message.tool_calls:
        return False
    for call in message.tool_calls:
        try:
            if context.registry.get(call["name"]).requires_approval:
                return False
        except ToolError:
            continue  # an unknown tool: its call reports the error, as in the tools node
    return True


async def _run_inline(
    state: AgentState, context: AgentContext, write: Any
) -> tuple[list[ToolMessage], dict[str, str]]:
    calls = _CallRun.of(state, context)
    results, waiting = await _run_calls(
        calls.last, calls.context, calls.vault, write, set(), set(), calls.consent, calls.scope
    )
    if waiting:  # only tools that need no approval run here
        raise RuntimeError(f"a call asked for an approval in the assistant node: {waiting!r}")
    return results, calls.vault.state()


async def _assistant(state: AgentState, context: AgentContext, write: Any) -> dict[str, Any]:
    provider = context.model
    if provider is not None and provider.breaker.allows_call():
        try:
            with tracing.span("agent.model", {"gen_ai.operation.name": "chat"}) as model_span:
                before = dict(context.usage)
                message = await _call_model(state, context, write)
                tracing.set_attributes(
                    model_span,
                    {
                        "gen_ai.usage.input_tokens": context.usage["input"] - before["input"],
                        "gen_ai.usage.output_tokens": context.usage["output"] - before["output"],
                        "omnifin.tool_calls": len(getattr(message, "tool_calls", []) or []),
                    },
                )
        except Exception as error:  # any provider failure hands the turn to guided mode
            provider.breaker.record_failure()
            log.warning("model failed; guided mode", error=type(error).__name__)
            write({"type": "mode.changed", "mode": "guided", "reason": MODEL_UNAVAILABLE})
        else:
            provider.breaker.record_success()
            if state.get("mode") == "guided":
                write({"type": "mode.changed", "mode": "llm", "reason": "The model is back."})
            return {"messages": [message], "mode": "llm"}
    elif provider is not None and state.get("mode") != "guided":
        write({"type": "mode.changed", "mode": "guided", "reason": MODEL_UNAVAILABLE})
    with tracing.span("agent.guided"):
        reply = await context.policy.respond(state, context)
    if reply.message.content:
        write({"type": "token", "text": str(reply.message.content)})
    return {"messages": [reply.message], "mode": "guided", "guided": reply.memory}


async def _call_model(state: AgentState, context: AgentContext, write: Any) -> BaseMessage:
    assert context.model is not None
    schemas = _tool_schemas(context)
    runnable = context.model.bind(schemas)
    history: list[BaseMessage] = [SystemMessage(context.system_prompt), *state["messages"]]
    chunks: list[AIMessageChunk] = []
    async for chunk in runnable.astream(history):
        if not isinstance(chunk, AIMessageChunk):
            if isinstance(chunk, AIMessage):  # a model that does not stream answers whole
                if chunk.content:
                    write({"type": "token", "text": str(chunk.content)})
                return chunk
            continue
        if isinstance(chunk.content, str) and chunk.content:
            write({"type": "token", "text": chunk.content})
        chunks.append(chunk)
    if not chunks:
        return AIMessage(content="")
    # Merged once at the end: adding chunk by chunk rebuilt the message at every token.
    merged = chunks[0] if len(chunks) == 1 else add_ai_message_chunks(chunks[0], *chunks[1:])
    if merged.usage_metadata:
        context.usage["input"] += merged.usage_metadata.get("input_tokens", 0)
        context.usage["output"] += merged.usage_metadata.get("output_tokens", 0)
    return message_chunk_to_message(merged)


async def tools(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Run the last message's tool calls in order, each through the registry.

    A call that needs a person's approval and has none yet is asked (an approval object) and
    waits; the others run. When any wait, the node pauses with every open question at once
    (`interrupt()`), and each is answered on its own, by id. On resume LangGraph runs this node
    again from the top: calls that already ran return their stored results (idempotency keys),
    approved calls run, rejected ones report that nothing was done, and the node pauses again
    while questions remain. Decisions are read from the approval objects, never from the
    position of a resume value.
    """
    # interrupt() pauses the node by raising: a pause, not an error, on this span.
    with tracing.span(
        "agent.node tools", {"langgraph.node": "tools"}, exceptions_are_errors=False
    ) as node_span:
        try:
            return await _tools(state, runtime)
        except GraphInterrupt:
            tracing.set_attributes(node_span, {"omnifin.outcome": "waiting_for_approval"})
            raise


async def _tools(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    calls = _CallRun.of(state, runtime.context)
    write = runtime.context.emit or runtime.stream_writer
    # Calls whose start / finish the person was already told of in this run of the node: a
    # second pass (after a resume) repeats neither.
    started: set[str] = set()
    finished: set[str] = set()
    while True:
        results, waiting = await _run_calls(
            calls.last,
            calls.context,
            calls.vault,
            write,
            started,
            finished,
            calls.consent,
            calls.scope,
        )
        if not waiting:
            return {"messages": results, "vault": calls.vault.state()}
        interrupt({"approvals": waiting})


@dataclasses.dataclass(frozen=True)
class _CallRun:
    """What running the last message's tool calls needs, read from the state."""

    last: AIMessage
    context: AgentContext
    vault: PiiVault
    # What the person last wrote and what the assistant said before it: a consent is recorded
    # only from a clear yes to a turn that showed that consent's text.
    consent: tuple[str, str]
    scope: str | None  # the turn the calls belong to (their idempotency scope)

    @classmethod
    def of(cls, state: AgentState, context: AgentContext) -> _CallRun:
        # What the tools change was asked by the model or by the guided flow (analytics' mode).
        set_mode(state.get("mode") or "llm")
        last = state["messages"][-1]
        assert isinstance(last, AIMessage)
        # Questions are put in the conversation's language when guided mode knows it (a "1" or
        # a "yes" says nothing about a language); else in the language of the person's message.
        language = (state.get("guided") or {}).get("lang")
        if language in ("en", "zh") and language != context.tools.language:
            context = dataclasses.replace(
                context, tools=dataclasses.replace(context.tools, language=language)
            )
        turn = _turn_id(state)
        return cls(
            last=last,
            context=context,
            vault=PiiVault(context.tools.settings, state.get("vault")),
            consent=(_last_words(state), _asked_before(state)),
            scope=f"{context.tools.thread_id}:{turn}" if turn else None,
        )


async def _run_calls(
    last: AIMessage,
    context: AgentContext,
    vault: PiiVault,
    write: Any,
    started: set[str],
    finished: set[str],
    consent_reply: tuple[str, str],
    scope: str | None,
) -> tuple[list[ToolMessage], list[dict[str, Any]]]:
    """One pass over the calls: their results, and the approvals still waiting for an answer.

    A side-effecting call is idempotent within its turn (`scope`) by its content, not by the
    model's call id: a turn cut off by a crash re-runs its model step, which issues new call ids
    (a provider's are random), and a call that already acted returns its stored result. So the
    graph need not be checkpointed between the model's step and the tools (`exit` durability).
    """
    results: list[ToolMessage] = []
    waiting: list[dict[str, Any]] = []
    for call in last.tool_calls:
        call_id = call["id"] or call["name"]
        if call_id not in started:
            started.add(call_id)
            write(
                {
                    "type": "tool.started",
                    "call_id": call_id,
                    "tool": call["name"],
                    "args": redact(call["args"]),
                }
            )
        try:
            with tracing.span(
                f"agent.tool {call['name']}",
                {"gen_ai.tool.name": call["name"], "gen_ai.tool.call.id": call_id},
                exceptions_are_errors=False,
            ) as tool_span:
                try:
                    _check_consent(call, *consent_reply)
                    output = await context.registry.execute(
                        call["name"],
                        vault.restore(call["args"], context.registry.get(call["name"]).pii_fields),
                        context.tools,
                        # Keyed by the call id only where no message started the turn.
                        idempotency_key=None if scope else f"{context.tools.thread_id}:{call_id}",
                        idempotency_scope=scope,
                    )
                except ApprovalPending:
                    tracing.set_attributes(tool_span, {"omnifin.outcome": "approval_pending"})
                    raise
                except ToolError as failure:
                    tracing.set_attributes(
                        tool_span, {"omnifin.outcome": "error", "omnifin.error": failure.kind}
                    )
                    tracing.mark_error(tool_span, failure.kind)
                    raise
                except Exception as failure:
                    tracing.set_attributes(tool_span, {"omnifin.outcome": "failed"})
                    tracing.mark_error(tool_span, type(failure).__name__)
                    raise
                tracing.set_attributes(tool_span, {"omnifin.outcome": "ok"})
        except ApprovalPending as pending:
            if pending.approval is not None:
                waiting.append(pending.approval)
            continue
        except ToolError as error:
            if call_id not in finished:
                finished.add(call_id)
                write(
                    {
                        "type": "tool.finished",
                        "call_id": call_id,
                        "tool": call["name"],
                        "ok": False,
                        "error": redact(error.message),
                    }
                )
            results.append(
                ToolMessage(
                    # Errors can echo what a person or a document wrote: data, fenced.
                    fence(f"tool_error:{call['name']}", vault.tokenize(error.to_text())),
                    tool_call_id=call_id,
                    name=call["name"],
                    status="error",
                    artifact=vault.tokenize_value(error.payload()),
                )
            )
            continue
        dumped = output.model_dump(mode="json")
        if call_id not in finished:
            finished.add(call_id)
            write(
                {
                    "type": "tool.finished",
                    "call_id": call_id,
                    "tool": call["name"],
                    "ok": True,
                    "result": redact(dumped),
                }
            )
        results.append(
            ToolMessage(
                # What a tool returns is data with no authority (documents, profiles, knowledge).
                fence(f"tool_result:{call['name']}", vault.tokenize(output.model_dump_json())),
                tool_call_id=call_id,
                name=call["name"],
                artifact=vault.tokenize_value(dumped),  # it is checkpointed with the message
            )
        )
    return results, waiting


def _turn_id(state: AgentState) -> str | None:
    """The turn the calls belong to: the id of the person's message that started it (given
    when the message entered the state, and checkpointed with it before anything ran), so a
    turn resumed after a crash or an approval is the same turn."""
    for message in reversed(state["messages"]):
        if isinstance(message, HumanMessage) and message.id:
            return message.id
    return None


def _last_words(state: AgentState) -> str:
    """What the person last wrote in this conversation (tokenised), or ""."""
    for message in reversed(state["messages"]):
        if isinstance(message, HumanMessage):
            return str(message.content)
    return ""


def _asked_before(state: AgentState) -> str:
    """What the assistant said in the turn the person's last message answers (tokenised), or
    "": its messages between the person's last two messages."""
    messages = state["messages"]
    people = [index for index, message in enumerate(messages) if isinstance(message, HumanMessage)]
    if not people:
        return ""
    start = people[-2] + 1 if len(people) > 1 else 0
    return " ".join(
        str(message.content)
        for message in messages[start : people[-1]]
        if isinstance(message, AIMessage) and message.content
    )


def _words(text: str) -> str:
    """Text as its words alone, for comparing what was shown: case, punctuation, quotes,
    markdown and line breaks do not count."""
    return " ".join(_WORD.findall(unicodedata.normalize("NFKC", text).casefold()))


_WORD = re.compile(r"\w+")


def _consent_shown(kind: object, asked: str) -> bool:
    """Whether the assistant's question showed the current text of this consent (in English,
    or the Chinese translation guided mode shows beside it)."""
    try:
        consent = requirements().consent_texts[ConsentKind(str(kind))]
    except ValueError:
        return False
    shown = _words(asked)
    texts = [consent.text, CONSENT_TRANSLATIONS.get(str(kind), "")]
    return any(text and _words(text) in shown for text in texts)


def _check_consent(call: ToolCall, reply: str, asked: str) -> None:
    """Consent is recorded only from an unambiguous yes to the consent's own question: a model
    that records a credit-check consent after "I do not consent" (or "what does that mean?"),
    or after a yes to a question that never showed the consent's text ("May I check offers?"),
    is refused, whatever it says."""
    if call["name"] != "record_consent" or call["args"].get("granted") is not True:
        return
    if consent_answer(reply) is not Answer.YES or not _consent_shown(
        call["args"].get("kind"), asked
    ):
        raise ToolError(
            "ConsentNotGiven",
            "The person's last message is not a clear yes to the consent text shown just before "
            "it, so nothing was recorded. Show them the consent's exact current text and ask "
            "again.",
            status=409,
        )


# Tool schemas depend only on the registry and the actor's scopes; building them runs pydantic's
# JSON-schema generation, which cost more than the rest of a turn before it was cached.
_SCHEMAS: dict[tuple[int, frozenset[str]], list[dict[str, Any]]] = {}


def _tool_schemas(context: AgentContext) -> list[dict[str, Any]]:
    key = (id(context.registry), frozenset(context.actor.scopes))
    schemas = _SCHEMAS.get(key)
    if schemas is None:
        schemas = [spec.openai_schema() for spec in context.registry.for_actor(context.actor)]
        _SCHEMAS[key] = schemas
    return schemas


async def route_after_assistant(state: AgentState) -> str:
    # async: LangGraph runs a plain function of an async graph in the thread pool, a hop per step.
    last = state["messages"][-1]
    if isinstance(last, AIMessage) and last.tool_calls:
        return "tools"
    return "__end__"
