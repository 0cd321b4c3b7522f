"""Runs a set of scenarios: every mode each supports (of those asked for), K trials each,
concurrently, with a progress bar; and the run's summary (pass@k, pass^k, flaky, per suite)."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from evals.harness import Harness, ScenarioResult
from evals.schema import Channel, Mode, Scenario

Progress = Callable[[ScenarioResult], None]


@dataclass(frozen=True)
class Job:
    scenario: Scenario
    mode: Mode
    trial: int
    channel: Channel = "chat"


def jobs(scenarios: Iterable[Scenario], modes: Iterable[Mode], trials: int) -> list[Job]:
    wanted = list(modes)
    return [
        Job(scenario, mode, trial, channel)
        for scenario in scenarios
        for mode in wanted
        if mode in scenario.modes
        for channel in scenario.channels
        for trial in range(1, trials + 1)
    ]


async def run_all(
    harness: Harness,
    planned: list[Job],
    *,
    concurrency: int = 2,
    progress: Progress | None = None,
) -> list[ScenarioResult]:
    """Every job, at most `concurrency` at a time; results in the order of `planned`."""
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(job: Job) -> ScenarioResult:
        async with gate:
            result = await harness.run(job.scenario, job.mode, job.trial, job.channel)
        if progress is not None:
            progress(result)
        return result

    return list(await asyncio.gather(*(one(job) for job in planned)))


def summarize(results: list[ScenarioResult], *, seconds: float | None = None) -> dict[str, Any]:
    """pass@k: a scenario passed at least once in its k trials; pass^k: it passed every time.
    A scenario (in one mode) that passed some trials and failed others is flaky."""
    by_case: dict[tuple[str, str], list[ScenarioResult]] = defaultdict(list)
    for result in results:
        by_case[(result.scenario_id, result.mode)].append(result)
    cases: list[dict[str, Any]] = []
    for (scenario_id, mode), trials in sorted(by_case.items()):
        passes = sum(r.passed for r in trials)
        cases.append(
            {
                "scenario_id": scenario_id,
                "mode": mode,
                "suite": trials[0].suite,
                "critical": trials[0].critical,
                "scenario_hash": trials[0].scenario_hash,
                "trials": len(trials),
                "passes": passes,
                "pass_at_k": passes > 0,
                "pass_all_k": passes == len(trials),
                "failures": sorted({f for r in trials for f in r.failures}),
            }
        )
    suites: dict[str, dict[str, Any]] = {}
    for suite in sorted({c["suite"] for c in cases}):
        mine = [c for c in cases if c["suite"] == suite]
        suites[suite] = {
            "scenarios": len(mine),
            "pass_at_k": _rate(c["pass_at_k"] for c in mine),
            "pass_all_k": _rate(c["pass_all_k"] for c in mine),
        }
    durations = [r.duration_ms for r in results]
    isolation = [r.isolation_ms for r in results]
    summary: dict[str, Any] = {
        "scenarios": len(cases),
        "trials": len(results),
        "pass_at_k": _rate(c["pass_at_k"] for c in cases),
        "pass_all_k": _rate(c["pass_all_k"] for c in cases),
        "flaky": [
            f"{c['scenario_id']}[{c['mode']}]"
            for c in cases
            if c["pass_at_k"] and not c["pass_all_k"]
        ],
        "failed": [f"{c['scenario_id']}[{c['mode']}]" for c in cases if not c["pass_all_k"]],
        "suites": suites,
        "cases": cases,
        "mean_scenario_ms": round(sum(durations) / len(durations), 1) if durations else 0.0,
        "mean_isolation_ms": round(sum(isolation) / len(isolation), 1) if isolation else 0.0,
        "tokens": sum(r.tokens for r in results),
        "cost": str(sum((r.cost for r in results), Decimal(0))),
    }
    if seconds is not None:
        summary["seconds"] = round(seconds, 2)
    return summary


def _rate(values: Iterable[bool]) -> float:
    items = list(values)
    return round(sum(items) / len(items), 4) if items else 0.0


def graph_hash() -> str:
    """The assistant's code as it ran: its graphs' shape and every source file of agents/ and
    tools/ (a changed node, policy, tool or guided phrase is a different graph)."""
    import agents
    import tools
    from agents.borrower.graph import graph as borrower
    from agents.broker.graph import graph as broker

    digest = hashlib.sha256()
    for graph in (borrower, broker):
        drawn = graph.get_graph()
        digest.update(repr(sorted(drawn.nodes)).encode())
        digest.update(repr(sorted((e.source, e.target) for e in drawn.edges)).encode())
    for package in (agents, tools):
        root = Path(next(iter(package.__path__)))
        for path in sorted(root.rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def timer() -> Callable[[], float]:
    started = time.perf_counter()
    return lambda: time.perf_counter() - started
