"""The eval harness's cost: every guided-mode seed scenario, one trial, through the turn runner,
each in its own clone of the template database. Measured: total time, per-scenario time, and the
harness's own overhead per scenario (clone + drop of the database: `isolation_ms`).

Run from the repository root: `.venv/bin/python -m benchmarks.bench_evals [label] [--concurrency N]`.
It uses the server of the settings (the embedded one in ./var unless OMNIFIN_DATABASE_URL is
set), a results database of its own (omnifin_bench_evals) and writes
benchmarks/results/evals[-label].json.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from devtools.databases import drop_database, recreate_database
from evals.schema import load
from evals.service import Options, run
from lending import migrations
from lending.config import get_settings
from lending.db import resolve_database_url

HERE = Path(__file__).resolve().parent
DATABASE = "omnifin_bench_evals"


async def measure(concurrency: int) -> dict[str, Any]:
    settings = get_settings()
    server = resolve_database_url(settings)
    url = recreate_database(server, DATABASE)
    try:
        await asyncio.to_thread(migrations.upgrade, url)
        scenarios = [s for s in load() if "guided" in s.modes]
        # The template is built (or found) first, and timed apart from the suite.
        started = time.perf_counter()
        from evals.isolation import Databases
        from evals.service import eval_settings

        built = await Databases(url, eval_settings(settings, "guided")).ensure_template()
        template_seconds = time.perf_counter() - started
        started = time.perf_counter()
        outcome = await run(
            settings, url, scenarios, Options(model="guided", concurrency=concurrency, save=False)
        )
        total = time.perf_counter() - started
    finally:
        drop_database(server, DATABASE)
    results = outcome.results
    durations = [r.duration_ms for r in results]
    isolation = [r.isolation_ms for r in results]
    return {
        "benchmark": "evals",
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "concurrency": concurrency,
        "scenarios": len(results),
        "passed": sum(r.passed for r in results),
        "failed": [r.scenario_id for r in results if not r.passed],
        "total_seconds": round(total, 2),
        "template_seconds": round(template_seconds, 2),
        "template_built": built,
        "scenario_ms": {
            "median": round(statistics.median(durations), 1),
            "max": round(max(durations), 1),
        },
        "isolation_ms_per_scenario": {
            "median": round(statistics.median(isolation), 1),
            "mean": round(statistics.mean(isolation), 1),
        },
        "turns": sum(r.turns for r in results),
        "per_scenario": [
            {
                "id": r.scenario_id,
                "passed": r.passed,
                "turns": r.turns,
                "ms": round(r.duration_ms),
                "isolation_ms": round(r.isolation_ms),
            }
            for r in results
        ],
    }


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    concurrency = 2
    if "--concurrency" in sys.argv:
        concurrency = int(sys.argv[sys.argv.index("--concurrency") + 1])
        args = [a for a in args if a != str(concurrency)]
    label = args[0] if args else ""
    results = asyncio.run(measure(concurrency))
    path = HERE / "results" / f"evals{'-' + label if label else ''}.json"
    path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in results.items() if k != "per_scenario"}, indent=2))


if __name__ == "__main__":
    main()
