"""Tracing (issue 20): one chat turn through the real API, exported to memory, makes one span tree
(request > turn > graph > nodes > model call / tool call > SQL), with its trace id on the run row and
in the log lines; off, nothing is instrumented."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from lending import tracing
from lending.config import Settings
from lending.models.chat import ChatRun
from tests.agents.sse import Client, borrower_with_token, new_thread, send, tool_then_reply


@pytest.fixture
def spans(engine: AsyncEngine) -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    assert tracing.configure_tracing(exporter=exporter, environ={})
    tracing.instrument_engine(engine)
    try:
        yield exporter
    finally:
        tracing.shutdown_tracing()


def _children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    assert parent.context is not None
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


def _one(spans: list[ReadableSpan], name: str) -> ReadableSpan:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, [s.name for s in spans]
    return found[0]


def _int(span: ReadableSpan, key: str) -> int:
    value = (span.attributes or {})[key]
    assert isinstance(value, int)
    return value


def _names(spans: list[ReadableSpan]) -> list[str]:
    return [s.name for s in sorted(spans, key=lambda s: s.start_time or 0)]


async def test_one_chat_turn_makes_one_span_tree(
    spans: InMemorySpanExporter, with_model: Client, session: AsyncSession, settings: Settings
) -> None:
    _, token = await borrower_with_token(session, settings)
    model = tool_then_reply(
        "start_application",
        {"product_type": "auto", "amount": "25000.00", "term_months": 60},
        "Your auto loan application is started.",
        call_id="call_start",
    )
    async with with_model(model) as http:
        thread_id = await new_thread(http, token)
        spans.clear()
        events = await send(http, token, thread_id, "I want a $25k car loan over 5 years")
    assert events[-1][0] == "run.completed", events[-3:]

    finished = list(spans.get_finished_spans())
    request = _one(finished, "POST /api/v1/chat/threads/{thread_id}/runs")
    assert request.parent is None
    trace_ids = {s.context.trace_id for s in finished if s.context is not None}
    assert trace_ids == {request.context.trace_id if request.context else 0}

    turn = _one(finished, "chat.turn")
    assert turn.parent is not None
    assert request.context is not None
    assert turn.parent.span_id == request.context.span_id
    attributes: dict[str, Any] = dict(turn.attributes or {})
    assert attributes["omnifin.status"] == "completed"
    assert attributes["omnifin.mode"] == "llm"

    graph = _one(finished, "langgraph.run")
    assert graph.parent is not None
    assert turn.context is not None
    assert graph.parent.span_id == turn.context.span_id
    # assistant (calls the tool) > tools > assistant (answers): each node once, in order.
    assert _names(_children(finished, graph)) == [
        "agent.node assistant",
        "agent.node tools",
        "agent.node assistant",
    ]
    models = [s for s in finished if s.name == "agent.model"]
    assert len(models) == 2
    assert all(_int(s, "gen_ai.usage.input_tokens") > 0 for s in models)
    output = sum(_int(s, "gen_ai.usage.output_tokens") for s in models)
    assert output == attributes["gen_ai.usage.output_tokens"]
    tool = _one(finished, "agent.tool start_application")  # one span per call, no duplicates
    assert (tool.attributes or {})["omnifin.outcome"] == "ok"
    # The tool's own SQL is inside the tool's span; the run's records are inside the turn's.
    tool_sql = [s for s in _children(finished, tool) if (s.attributes or {}).get("db.system")]
    assert any(
        "loan_application" in str((s.attributes or {}).get("db.statement")) for s in tool_sql
    )
    turn_sql = [s for s in _children(finished, turn) if (s.attributes or {}).get("db.system")]
    assert any("chat_run" in str((s.attributes or {}).get("db.statement")) for s in turn_sql)

    run = (
        await session.execute(select(ChatRun).where(ChatRun.thread_id == uuid.UUID(thread_id)))
    ).scalar_one()
    assert request.context is not None
    assert run.trace_id == f"{request.context.trace_id:032x}"
    assert run.model == "ScriptedChatModel"


async def test_a_tool_that_needs_no_approval_runs_inside_the_assistant_step(
    spans: InMemorySpanExporter, with_model: Client, session: AsyncSession, settings: Settings
) -> None:
    # One graph step: the model calls the tool, the tool runs, the model answers, all in the
    # assistant node (a tool that needs an approval goes to the tools node, as above).
    _, token = await borrower_with_token(session, settings)
    model = tool_then_reply(
        "compute_payment",
        {"amount": "25000.00", "annual_rate": "7.5", "term_months": 60},
        "About $501 a month.",
        call_id="call_payment",
    )
    async with with_model(model) as http:
        thread_id = await new_thread(http, token)
        spans.clear()
        events = await send(http, token, thread_id, "what would 25k at 7.5% over 5 years cost?")
    assert events[-1][0] == "run.completed", events[-3:]
    assert [data["ok"] for kind, data in events if kind == "tool.finished"] == [True]

    finished = list(spans.get_finished_spans())
    graph = _one(finished, "langgraph.run")
    [node] = _children(finished, graph)
    assert node.name == "agent.node assistant"
    assert _names(_children(finished, node)) == [
        "agent.model",
        "agent.tool compute_payment",
        "agent.model",
    ]


async def test_a_failing_tool_call_is_an_error_span(
    spans: InMemorySpanExporter, with_model: Client, session: AsyncSession, settings: Settings
) -> None:
    _, token = await borrower_with_token(session, settings)
    model = tool_then_reply(
        "start_application",
        {"product_type": "yacht", "amount": "-5", "term_months": 60},
        "That did not work.",
        call_id="call_bad",
    )
    async with with_model(model) as http:
        thread_id = await new_thread(http, token)
        await send(http, token, thread_id, "a yacht please")
    tool = _one(list(spans.get_finished_spans()), "agent.tool start_application")
    assert (tool.attributes or {})["omnifin.outcome"] == "error"
    assert not tool.status.is_ok


def test_log_lines_carry_the_trace_id(spans: InMemorySpanExporter) -> None:
    with tracing.span("work") as current:
        assert current is not None
        line = tracing.add_trace_ids(None, "info", {"event": "x"})
    assert line["trace_id"] == f"{current.get_span_context().trace_id:032x}"
    assert "trace_id" not in tracing.add_trace_ids(None, "info", {"event": "outside a span"})


def test_off_unless_the_otel_settings_ask() -> None:
    assert not tracing.wanted({})
    assert not tracing.wanted({"OTEL_TRACES_EXPORTER": "none"})
    assert not tracing.wanted(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "true"}
    )
    assert tracing.wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert tracing.wanted({"OTEL_TRACES_EXPORTER": "console"})
    assert not tracing.configure_tracing(environ={})
    assert not tracing.enabled()
    # Off: every span site gets the same shared no-op, and no trace id is invented.
    assert tracing.span("a") is tracing.span("b")
    with tracing.span("a") as current:
        assert current is None
        assert tracing.current_trace_id() is None


def test_an_exporter_it_does_not_have_is_a_clear_error() -> None:
    with pytest.raises(tracing.TracingConfigError, match="http/protobuf"):
        tracing.configure_tracing(
            environ={"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
        )
    with pytest.raises(tracing.TracingConfigError, match="zipkin"):
        tracing.configure_tracing(environ={"OTEL_TRACES_EXPORTER": "zipkin"})
    assert not tracing.enabled()
