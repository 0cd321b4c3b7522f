"""Agent overhead per chat turn through HTTP SSE, with a scripted zero-latency model (one tool
call, then a 40-token streamed answer) and the Postgres checkpointer — the work PERFORMANCE.md
measures for a peer service (p50 ≈ 28 ms sequential; 29–34 turns/s at 20 concurrent, i.e.
25–30 ms of server CPU per turn).

Run from the repository root: `.venv/bin/python -m benchmarks.bench_agent_turn`. It creates its
own database (`omnifin_bench_agent`) on the server named by OMNIFIN_BENCH_DATABASE_URL, else on
the embedded server of var/test, and for each durability mode (BENCH_DURABILITY, default
"async,exit"; "async" is the product's default):
- starts one server process (one uvicorn worker, in-process store) and measures from this
  process: sequential turns (wall p50/p95 and the server's CPU ms per turn, from /proc: on a
  shared machine CPU time is steadier than wall time) and 20 concurrent conversations
  (turns/s, latency p50/p95, CPU per turn);
- measures the breakdown in process (benchmarks/agent_breakdown.py): checkpoint, tools, turn
  records, SSE serialisation, graph + model + runner, and the statements per turn; what the
  server spends beyond the in-process turn is HTTP (uvicorn, FastAPI, auth, SSE writes).
The load average is recorded with the results: the machine is shared, and a busy one inflates
CPU time too. For a fair before/after, BENCH_BASELINE=<another checkout> alternates rounds of the
two servers (BENCH_ROUNDS, default 3) and reports both medians ("side_by_side").
Results go to benchmarks/results/agent_turn.json and to stdout.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from agents.prompts.service import seed_default_prompts
from benchmarks import agent_breakdown
from devtools.databases import recreate_database
from lending import migrations
from lending.config import Settings
from lending.db import create_engine, create_sessionmaker, transaction
from lending.identity.service import token as token_service
from lending.identity.service import user as user_service
from lending.models.identity import Role

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "agent_turn.json"
SEQUENTIAL_TURNS = 300
WARM_UP = 30
CONCURRENT_CONVERSATIONS = 20
CONCURRENT_TURNS_EACH = 10
TURNS_PER_THREAD = 10
PASSWORD = "river-velvet-orchid-2026"


def _server_url() -> str:
    given = os.environ.get("OMNIFIN_BENCH_DATABASE_URL")
    if given:
        return given
    from lending.embedded_postgres import embedded_database_url

    return embedded_database_url(ROOT / "var" / "test")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


async def _user_token(database_url: str) -> str:
    settings = Settings(environment="test", database_url=database_url)  # type: ignore[arg-type]
    engine = create_engine(settings, database_url)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            user = await user_service.create(
                session,
                settings=settings,
                email=f"bench-{uuid.uuid4().hex[:8]}@example.com",
                password=PASSWORD,
                full_name="Load Tester",
                role=Role.BORROWER,
                organization_slug=None,
            )
            issued = await token_service.issue(session, user, settings=settings)
            await seed_default_prompts(session)
        return issued.token
    finally:
        await engine.dispose()


async def _turn(http: httpx.AsyncClient, token: str, thread_id: str) -> float:
    started = time.perf_counter()
    async with http.stream(
        "POST",
        f"/api/v1/chat/threads/{thread_id}/runs",
        json={"message": "what would 25k at 7.5% over 5 years cost?"},
        headers={"Authorization": f"Bearer {token}"},
    ) as response:
        body = b"".join([chunk async for chunk in response.aiter_bytes()])
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200 or b"event: run.completed" not in body:
        raise RuntimeError(f"turn failed: {response.status_code} {body[-300:]!r}")
    return elapsed


async def _thread(http: httpx.AsyncClient, token: str) -> str:
    response = await http.post(
        "/api/v1/chat/threads", json={}, headers={"Authorization": f"Bearer {token}"}
    )
    response.raise_for_status()
    return str(response.json()["id"])


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _measure_server(
    database_url: str, token: str, durability: str, *, code: Path = ROOT
) -> dict[str, Any]:
    """One server (the code of `code`, a checkout of this repository) measured from here."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIFIN_")}
    env.update(
        OMNIFIN_DATABASE_URL=database_url,
        OMNIFIN_ENVIRONMENT="test",
        OMNIFIN_AGENT_DURABILITY=durability,
        OMNIFIN_STATE_DIR=str(ROOT / "var" / "bench"),
        OMNIFIN_RATE_LIMITS='{"default": {}}',
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.agent_server", str(port)], env=env, cwd=code
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            for _ in range(300):
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            thread_id = await _thread(http, token)
            for _ in range(WARM_UP):
                await _turn(http, token, thread_id)
            # Conversations of TURNS_PER_THREAD turns each, as in real use: a thread's history
            # (and so its checkpoint) grows with every turn.
            threads_seq = [
                await _thread(http, token) for _ in range(SEQUENTIAL_TURNS // TURNS_PER_THREAD)
            ]
            cpu_before = _cpu_seconds(server.pid)
            sequential = [
                await _turn(http, token, thread)
                for thread in threads_seq
                for _ in range(TURNS_PER_THREAD)
            ]
            cpu_per_turn = (_cpu_seconds(server.pid) - cpu_before) * 1000 / SEQUENTIAL_TURNS

            threads = [await _thread(http, token) for _ in range(CONCURRENT_CONVERSATIONS)]

            async def conversation(thread: str) -> list[float]:
                return [await _turn(http, token, thread) for _ in range(CONCURRENT_TURNS_EACH)]

            started = time.perf_counter()
            cpu_before = _cpu_seconds(server.pid)
            results = await asyncio.gather(*(conversation(t) for t in threads))
            wall = time.perf_counter() - started
            concurrent_cpu = (_cpu_seconds(server.pid) - cpu_before) * 1000
        latencies = [value for result in results for value in result]
        return {
            "durability": durability,
            "sequential": {
                "turns": SEQUENTIAL_TURNS,
                "p50_ms": round(statistics.median(sequential), 2),
                "p95_ms": round(_percentile(sequential, 0.95), 2),
                "server_cpu_ms_per_turn": round(cpu_per_turn, 2),
            },
            "concurrent": {
                "conversations": CONCURRENT_CONVERSATIONS,
                "turns": len(latencies),
                "turns_per_second": round(len(latencies) / wall, 1),
                "p50_ms": round(statistics.median(latencies), 1),
                "p95_ms": round(_percentile(latencies, 0.95), 1),
                "server_cpu_ms_per_turn": round(concurrent_cpu / len(latencies), 2),
            },
        }
    finally:
        server.terminate()
        server.wait(timeout=30)


async def main() -> None:
    database_url = recreate_database(_server_url(), "omnifin_bench_agent")
    await asyncio.to_thread(migrations.upgrade, database_url)
    token = await _user_token(database_url)
    modes = os.environ.get("BENCH_DURABILITY", "async,exit").split(",")
    load_before = os.getloadavg()
    runs = []
    for mode in modes:
        run = await _measure_server(database_url, token, mode)
        settings = Settings(
            environment="test",
            database_url=database_url,  # type: ignore[arg-type]
            agent_durability=mode,  # type: ignore[arg-type]
        )
        breakdown = await agent_breakdown.measure(settings, database_url, token)
        cpu = breakdown["cpu_ms_per_turn"]
        cpu["http_sse_auth (server minus in-process turn)"] = round(
            run["sequential"]["server_cpu_ms_per_turn"] - cpu["turn_with_postgres_checkpoint"], 2
        )
        run["breakdown_in_process"] = breakdown
        runs.append(run)
    comparison = None
    if baseline := os.environ.get("BENCH_BASELINE"):
        comparison = await _compare(database_url, token, Path(baseline), modes[0])
    result = {
        "benchmark": "agent turn through HTTP SSE (scripted zero-latency model, Postgres checkpoint)",
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_1m_before_after": [
                round(load_before[0], 2),
                round(os.getloadavg()[0], 2),
            ],
        },
        "peer_reference": {
            "sequential_p50_ms": 28,
            "concurrent_turns_per_second": "29-34",
            "server_cpu_ms_per_turn": "25-30",
        },
        "targets": {
            "sequential_p50_ms": 25,
            "sequential_p95_ms": 60,
            "turns_per_second": 50,
            "server_cpu_ms_per_turn (twice as fast as the peer)": 12.5,
        },
        "runs": runs,
        "side_by_side": comparison,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


async def _compare(
    database_url: str, token: str, baseline: Path, durability: str
) -> dict[str, Any]:
    """This code against another checkout (BENCH_BASELINE, e.g. `git archive <commit>` unpacked),
    alternating rounds (BENCH_ROUNDS, default 3) so both see the same machine: medians."""
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    measured: dict[str, list[dict[str, Any]]] = {"baseline": [], "current": []}
    for _ in range(rounds):
        measured["baseline"].append(
            await _measure_server(database_url, token, durability, code=baseline)
        )
        measured["current"].append(await _measure_server(database_url, token, durability))

    def medians(runs: list[dict[str, Any]]) -> dict[str, float]:
        return {
            f"{phase}_{key}": round(statistics.median(run[phase][key] for run in runs), 2)
            for phase in ("sequential", "concurrent")
            for key in ("server_cpu_ms_per_turn", "p50_ms", "p95_ms")
        } | {
            "concurrent_turns_per_second": round(
                statistics.median(run["concurrent"]["turns_per_second"] for run in runs), 1
            )
        }

    baseline_medians, current_medians = medians(measured["baseline"]), medians(measured["current"])
    return {
        "durability": durability,
        "baseline": str(baseline),
        "rounds": rounds,
        "baseline_medians": baseline_medians,
        "current_medians": current_medians,
        "cpu_per_turn_ratio_current_to_baseline": round(
            current_medians["sequential_server_cpu_ms_per_turn"]
            / baseline_medians["sequential_server_cpu_ms_per_turn"],
            2,
        ),
    }


if __name__ == "__main__":
    asyncio.run(main())
