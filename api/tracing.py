"""Tracing of the HTTP layer: one server span per request (when `lending.tracing` is on)."""

from __future__ import annotations

from fastapi import FastAPI

from lending import tracing


def instrument_app(app: FastAPI) -> None:
    """A span per request, named by its route; nothing at all when tracing is off.

    The ASGI instrumentation's per-message spans ("http send" for every SSE frame) are left out:
    a streamed turn would otherwise make one span per token.
    """
    provider = tracing.tracer_provider()
    if provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=provider, exclude_spans=["receive", "send"]
    )
