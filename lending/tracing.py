"""OpenTelemetry tracing, configured by the standard `OTEL_*` variables and off unless they ask.

Tracing is on when `OTEL_TRACES_EXPORTER` names an exporter (`otlp`, `console`) or an OTLP
endpoint is set (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), and
`OTEL_SDK_DISABLED` is not true. The SDK reads everything else itself (`OTEL_SERVICE_NAME`,
`OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER`, the exporter's headers and timeouts).

When off, nothing is instrumented and `span()` returns one shared no-op context manager: a turn
pays one global read per span site (benchmarks/bench_tracing.py measures it).

Spans this platform makes: the HTTP request (api/), every SQLAlchemy statement, every httpx call
(lender adapters, model calls), the voice turn with its speech-to-text, runner and speech
phases (voice.spans), the chat turn, the graph run, each node, each model call (with its
token counts) and each tool call (with its outcome), and each background job. The graph gets our
own spans rather than a LangChain auto-instrumentation, so nothing is recorded twice.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

if TYPE_CHECKING:  # the SDK is imported only when tracing is turned on
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from sqlalchemy.ext.asyncio import AsyncEngine

_TRACER_NAME = "omnifin"

# The provider when tracing is on; None when off (the one check every span site makes).
_provider: TracerProvider | None = None
_tracer: trace.Tracer | None = None
_instrumented_engines: set[int] = set()
_NOOP = contextlib.nullcontext()


class TracingConfigError(Exception):
    """The OTEL_* settings ask for something this installation cannot do; one actionable sentence."""


def wanted(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the standard OTEL_* variables ask for traces."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter:
        return exporter != "none"
    return bool(
        env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def _exporters(environ: Mapping[str, str]) -> list[SpanExporter]:
    names = [
        name.strip().lower()
        for name in (environ.get("OTEL_TRACES_EXPORTER") or "otlp").split(",")
        if name.strip()
    ]
    exporters: list[SpanExporter] = []
    for name in names:
        if name == "otlp":
            protocol = (
                environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
                or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
                or "http/protobuf"
            )
            if protocol != "http/protobuf":
                raise TracingConfigError(
                    f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r} is not installed: Omnifin exports "
                    "OTLP over http/protobuf (the collector's port 4318); set it to http/protobuf."
                )
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporters.append(OTLPSpanExporter())
        elif name == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            exporters.append(ConsoleSpanExporter())
        elif name != "none":
            raise TracingConfigError(
                f"OTEL_TRACES_EXPORTER names {name!r}; Omnifin knows 'otlp', 'console' and 'none'."
            )
    return exporters


def configure_tracing(
    *,
    service_name: str = "omnifin-api",
    exporter: SpanExporter | None = None,
    environ: Mapping[str, str] | None = None,
    batch: bool = False,
) -> bool:
    """Turn tracing on when the environment (or a given exporter, for tests) asks; True when on.

    Args:
        service_name: the resource's service name unless `OTEL_SERVICE_NAME` gives one.
        exporter: export to this, synchronously (tests pass an in-memory exporter).
        environ: the variables to read instead of the process environment.
        batch: export `exporter`'s spans in batches from a thread, as production does
            (the benchmark), instead of synchronously.

    Raises:
        TracingConfigError: an exporter or protocol this installation does not have.
    """
    global _provider, _tracer
    env = os.environ if environ is None else environ
    if exporter is None and not wanted(env):
        return False
    if _provider is not None:
        return True
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    attributes: dict[str, Any] = {}
    if not env.get("OTEL_SERVICE_NAME"):
        attributes["service.name"] = service_name
    provider = TracerProvider(resource=Resource.create(attributes))
    if exporter is not None:
        provider.add_span_processor(
            BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
        )
    else:
        for each in _exporters(env):
            provider.add_span_processor(BatchSpanProcessor(each))
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    _provider = provider
    _tracer = provider.get_tracer(_TRACER_NAME)
    return True


def shutdown_tracing() -> None:
    """Flush and stop: at a process's end, and between tests."""
    global _provider, _tracer
    provider, _provider, _tracer = _provider, None, None
    if provider is None:
        return
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    HTTPXClientInstrumentor().uninstrument()
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer

    EngineTracer.remove_all_event_listeners()  # type: ignore[no-untyped-call]
    _instrumented_engines.clear()
    provider.shutdown()


def flush() -> None:
    """Export what is buffered (at an app's or a worker's end)."""
    if _provider is not None:
        _provider.force_flush()


def enabled() -> bool:
    return _provider is not None


def tracer_provider() -> TracerProvider | None:
    return _provider


def instrument_engine(engine: AsyncEngine | None) -> None:
    """A span for every statement the engine runs (when tracing is on; once per engine)."""
    if _provider is None or engine is None or id(engine.sync_engine) in _instrumented_engines:
        return
    # The instrumentation's per-engine tracer, without its global patching of create_engine
    # (its instrumentor instruments once per process: a second engine would be left out).
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.instrumentation.sqlalchemy.version import __version__ as version
    from opentelemetry.metrics import get_meter

    connections = get_meter("opentelemetry.instrumentation.sqlalchemy").create_up_down_counter(
        "db.client.connections.usage", unit="connections"
    )
    EngineTracer(  # type: ignore[no-untyped-call]
        _provider.get_tracer("opentelemetry.instrumentation.sqlalchemy", version),
        engine.sync_engine,
        connections,
    )
    _instrumented_engines.add(id(engine.sync_engine))


def span(
    name: str,
    attributes: Mapping[str, Any] | None = None,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    exceptions_are_errors: bool = True,
) -> contextlib.AbstractContextManager[Span | None]:
    """A span around a block when tracing is on; a shared no-op otherwise (yields None).

    Args:
        exceptions_are_errors: False where an exception is control flow (LangGraph's
            `interrupt()` pauses a node by raising): the caller sets the outcome itself.
    """
    if _tracer is None:
        return _NOOP
    return _tracer.start_as_current_span(
        name,
        attributes=attributes,
        kind=kind,
        record_exception=exceptions_are_errors,
        set_status_on_exception=exceptions_are_errors,
    )


def open_span(
    name: str,
    attributes: Mapping[str, Any] | None = None,
    *,
    parent: Span | None = None,
    start_time: float | None = None,
) -> Span | None:
    """A span that is not made current and not ended here (None when tracing is off): for a
    stage that began before we heard of it (`start_time`, epoch seconds) or that ends in
    another callback (the caller ends it with `end_span`). `parent` None: the current span."""
    if _tracer is None:
        return None
    return _tracer.start_span(
        name,
        context=trace.set_span_in_context(parent) if parent is not None else None,
        attributes=attributes,
        start_time=_ns(start_time) if start_time is not None else None,
    )


def end_span(current: Span | None, *, end_time: float | None = None) -> None:
    if current is not None and current.is_recording():
        current.end(end_time=_ns(end_time) if end_time is not None else None)


def using(current: Span | None) -> contextlib.AbstractContextManager[Any]:
    """Make an open span current for a block (spans started inside are its children) without
    ending it; a no-op for None."""
    if current is None:
        return _NOOP
    return trace.use_span(current, end_on_exit=False)


def _ns(seconds: float) -> int:
    return int(seconds * 1_000_000_000)


@contextlib.contextmanager
def child_of(traceparent: str | None, name: str, attributes: Mapping[str, Any]) -> Iterator[Span]:
    """A span continuing a trace carried as a W3C `traceparent` (a job enqueued by a request)."""
    assert _tracer is not None
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    parent = (
        TraceContextTextMapPropagator().extract({"traceparent": traceparent})
        if traceparent
        else None
    )
    with _tracer.start_as_current_span(
        name, context=parent, attributes=attributes, kind=SpanKind.CONSUMER
    ) as current:
        yield current


def traceparent() -> str | None:
    """The current span as a W3C `traceparent` header value, or None outside a recorded span."""
    if _provider is None:
        return None
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


def current_trace_id() -> str | None:
    """The current trace's id (32 hex digits), or None when tracing is off or no span is open."""
    if _provider is None:
        return None
    context = trace.get_current_span().get_span_context()
    return f"{context.trace_id:032x}" if context.is_valid else None


def set_attributes(current: Span | None, attributes: Mapping[str, Any]) -> None:
    if current is not None:
        current.set_attributes(dict(attributes))


def mark_error(current: Span | None, error: str) -> None:
    if current is not None:
        current.set_status(Status(StatusCode.ERROR, error))


def add_trace_ids(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A structlog processor: the current trace and span ids on every log line (when on)."""
    if _provider is not None:
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            event_dict["trace_id"] = f"{context.trace_id:032x}"
            event_dict["span_id"] = f"{context.span_id:016x}"
    return event_dict
