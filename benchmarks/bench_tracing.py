"""What tracing costs a chat turn: off (the default) against on, through the real app.

One process, the app through httpx's ASGI transport (FastAPI, auth, SSE, the runner, the graph,
the tools, SQL on the embedded Postgres), the scripted zero-latency model of bench_agent_turn
(one tool call, then a 40-token streamed answer). Rounds alternate off and on (BENCH_ROUNDS,
default 3, of BENCH_TURNS turns each, default 150) and report the median of the rounds' CPU ms
per turn (`time.process_time`: this process, the exporter's thread included) and wall p50/p95.
"On" exports every span with the SDK's batch processor to an exporter that only counts them,
so the figure is the SDK's and the instrumentations' cost, not a collector's. Also measured:
what one span site costs when tracing is off (the shared no-op), and the spans per turn.

Run from the repository root: `.venv/bin/python -m benchmarks.bench_tracing`. It creates its
own database (`omnifin_bench_tracing`) on OMNIFIN_BENCH_DATABASE_URL's server, else on the
embedded server of var/test. Results go to benchmarks/results/tracing.json and to stdout.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import platform
import statistics
import time
import timeit
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from api.app import create_app
from benchmarks.agent_server import provider
from benchmarks.bench_agent_turn import _server_url, _thread, _turn, _user_token
from devtools.databases import recreate_database
from lending import migrations, tracing
from lending.config import Settings
from lending.kv import MemoryStore
from lending.logs import configure_logging

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "tracing.json"
TURNS_PER_THREAD = 10


class CountingExporter(SpanExporter):
    def __init__(self) -> None:
        self.spans = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans += len(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


async def _round(database_url: str, token: str, turns: int, *, traced: bool) -> dict[str, Any]:
    exporter = CountingExporter()
    if traced:
        tracing.configure_tracing(exporter=exporter, batch=True, environ={})
    settings = Settings(
        environment="test",
        database_url=database_url,  # type: ignore[arg-type]
        rate_limits={"default": {}},  # as bench_agent_turn: no limit on the load generator
    )
    app = create_app(settings, store=MemoryStore(), chat_model=provider())
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://bench"
            ) as http,
        ):
            thread = await _thread(http, token)
            for _ in range(20):  # warm up
                await _turn(http, token, thread)
            tracing.flush()
            exporter.spans = 0
            latencies = []
            cpu_started = time.process_time()
            for index in range(turns):
                if index % TURNS_PER_THREAD == 0:
                    thread = await _thread(http, token)
                elapsed, _ = await _turn(http, token, thread)
                latencies.append(elapsed)
            tracing.flush()
            cpu_ms = (time.process_time() - cpu_started) * 1000 / turns
    finally:
        tracing.shutdown_tracing()
    quantiles = statistics.quantiles(latencies, n=20)
    return {
        "traced": traced,
        "cpu_ms_per_turn": round(cpu_ms, 2),
        "wall_p50_ms": round(statistics.median(latencies), 2),
        "wall_p95_ms": round(quantiles[18], 2),
        "spans_exported": exporter.spans,
    }


def _span_site_off_ns() -> float:
    """One `with tracing.span(...)` while tracing is off, in nanoseconds."""
    assert not tracing.enabled()

    def site() -> None:
        with tracing.span("x", {"a": 1}):
            pass

    runs = 1_000_000
    return min(timeit.repeat(site, number=runs, repeat=5)) / runs * 1e9


async def main() -> None:
    configure_logging(level="WARNING", json=True)  # as the served app: no line per request
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    turns = int(os.environ.get("BENCH_TURNS", "150"))
    database_url = recreate_database(_server_url(), "omnifin_bench_tracing")
    await asyncio.to_thread(migrations.upgrade, database_url)
    token = await _user_token(database_url)
    load_before = os.getloadavg()
    results: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
    for _ in range(rounds):
        for traced in (False, True):
            results[traced].append(await _round(database_url, token, turns, traced=traced))
    site_ns = _span_site_off_ns()

    def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "cpu_ms_per_turn_median": statistics.median(r["cpu_ms_per_turn"] for r in runs),
            "wall_p50_ms_median": statistics.median(r["wall_p50_ms"] for r in runs),
            "wall_p95_ms_median": statistics.median(r["wall_p95_ms"] for r in runs),
            "rounds": runs,
        }

    off, on = summary(results[False]), summary(results[True])
    # Spans per turn (a new conversation's two requests every ten turns included). When off, a
    # turn passes at most this many span sites (fewer: request and SQL spans do not exist then).
    spans_per_turn = statistics.median(r["spans_exported"] for r in results[True]) / turns
    result = {
        "benchmark": "bench_tracing",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "turns_per_round": turns,
        "off": off,
        "on": on,
        "on_minus_off_cpu_ms_per_turn": round(
            on["cpu_ms_per_turn_median"] - off["cpu_ms_per_turn_median"], 2
        ),
        "spans_per_turn_when_on": round(spans_per_turn, 1),
        "span_site_when_off_ns": round(site_ns, 1),
        "off_cost_upper_bound_us_per_turn": round(site_ns * spans_per_turn / 1000, 2),
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k not in ("off", "on")}, indent=2))
    print("off:", {k: v for k, v in off.items() if k != "rounds"})
    print("on: ", {k: v for k, v in on.items() if k != "rounds"})


if __name__ == "__main__":
    asyncio.run(main())
