"""A server process for the agent benchmark: the real app, with the scripted zero-latency model
(one tool call, then a 40-token streamed answer, decided from each conversation) in place of a
provider. Not for anything else.

Run by benchmarks/bench_agent_turn.py as `python -m benchmarks.agent_server PORT`, with
OMNIFIN_DATABASE_URL pointing at the benchmark's own database. With BENCH_GC_FILE set it times
every garbage collection and writes the pauses there (JSON) when it stops.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import uvicorn

from agents.models import ModelBreaker, ModelPricing, ModelProvider
from agents.scripted import ScriptedChatModel, tool_then_answer
from api import heap
from api.app import create_app
from cli.main import SERVE_HTTP, SERVE_LOOP
from lending.config import get_settings
from lending.logs import configure_logging

ANSWER = " ".join(f"word{i}" for i in range(40))


TOOL_ARGS = {"amount": "25000.00", "annual_rate": "7.5", "term_months": 60}


def provider() -> ModelProvider:
    # Decided from the conversation, not a shared script: concurrent conversations interleave
    # their model calls, and one cycling script gave turns 0 to 8 tool calls.
    model = ScriptedChatModel(
        decide=tool_then_answer("compute_payment", TOOL_ARGS, ANSWER), keep_seen=False
    )
    return ModelProvider(
        models=[model],
        pricing=ModelPricing(Decimal("0"), Decimal("0")),
        breaker=ModelBreaker(failures=10**9),
    )


class GcPauses:
    """Wall time of every collection, per generation (gc.callbacks: start and stop), and when
    each full collection ended (epoch seconds: the benchmark tells those of its turns from the
    one the app makes on purpose at start-up, before it freezes the heap)."""

    def __init__(self) -> None:
        self.started = 0.0
        self.pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self.full: list[tuple[float, float]] = []

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
        else:
            pause = (time.perf_counter() - self.started) * 1000
            self.pauses[info["generation"]].append(pause)
            if info["generation"] == 2:
                self.full.append((time.time(), round(pause, 2)))

    def summary(self) -> dict[str, Any]:
        return {
            f"gen{generation}": {
                "collections": len(pauses),
                "max_ms": round(max(pauses, default=0.0), 2),
                "total_ms": round(sum(pauses), 1),
            }
            for generation, pauses in self.pauses.items()
        } | {
            "full_collections_at": self.full,
            # What a full collection walks (the heap frozen at start-up is not walked).
            "unfrozen_objects_at_exit": len(gc.get_objects()),
        }


def main() -> None:
    settings = get_settings()
    configure_logging(level="WARNING", json=True, redacted_fields=settings.log_redacted_fields)
    if thresholds := os.environ.get("BENCH_GC_THRESHOLD"):
        # Other collector thresholds than the app's, to compare (e.g. "700,10,10", Python's
        # default): the app sets them once it has started.
        heap.SERVING_THRESHOLDS = tuple(int(value) for value in thresholds.split(","))
    app = create_app(settings, chat_model=provider(), freeze_heap=True)
    gc.freeze()
    pauses = GcPauses()
    gc_file = os.environ.get("BENCH_GC_FILE")
    if gc_file:
        gc.callbacks.append(pauses)
    # uvicorn re-raises SIGTERM to the handler it found after its graceful shutdown: make that a
    # normal exit, so the pauses are written.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    try:
        _serve(app)
    finally:
        if gc_file:
            Path(gc_file).write_text(json.dumps(pauses.summary()))


def _serve(app: Any) -> None:
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_config=None,
        access_log=False,
        # As `omnifin serve` does unless told otherwise; BENCH_LOOP/BENCH_HTTP compare others.
        loop=os.environ.get("BENCH_LOOP", SERVE_LOOP),
        http=os.environ.get("BENCH_HTTP", SERVE_HTTP),
    )


if __name__ == "__main__":
    main()
