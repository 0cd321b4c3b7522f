"""Bounded mixed load on loopback against `omnifin serve` (with its in-process job worker):
50 concurrent conversations, 10 concurrent 5 MB uploads and dashboard reads, for 60 s.

Run from the repository root: `.venv/bin/python -m benchmarks.bench_load [--duration 60]
[--conversations 50] [--uploads 10] [--dashboards 4] [--upload-mb 5]`. Not part of `make test`.

It recreates a database of its own (`omnifin_bench_load`) on the embedded server of var/test (or
OMNIFIN_BENCH_DATABASE_URL's server), migrates it, makes the users (one borrower per conversation
and per uploader, one broker for the dashboards) and starts one `omnifin serve` process with
rate limits off and no LLM configured (the assistant runs its guided mode, so a turn is the
product's own work, not a model's latency). Then, for the duration:
- each conversation opens a thread and sends turns one after another, reading each SSE stream to
  its end; a turn is an error unless the answer is 200 and the stream ends with `run.completed`;
- each uploader uploads 5 MB PDFs (pseudo-random bytes after a PDF header) one after another;
- each dashboard reader loops over the broker's reads (me, applications, documents, commission
  summary).
Afterwards every thread is read back: a lost turn is one answered 200 + `run.completed` whose
user message is not in the thread's history. Reported: requests and errors per route, p50 / p95
/ p99 per route, lost turns, the server's RSS before and after the load and its peak (VmHWM), and
the load average (the machine is shared). Results go to benchmarks/results/load.json and stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from agents.prompts.service import seed_default_prompts
from benchmarks.bench_documents import _file_body, _free_port, _server_url, _status_kib
from devtools.databases import recreate_database
from lending import migrations
from lending.applications.schemas import ApplicationCreate
from lending.applications.service import application_service
from lending.config import Settings
from lending.db import create_engine, create_sessionmaker, transaction
from lending.identity.actor import Actor
from lending.identity.organizations import organization_service
from lending.identity.schemas import OrganizationCreate
from lending.identity.sessions import token_service
from lending.identity.users import user_service
from lending.models.applications import ProductType
from lending.models.identity import Role

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "load.json"
STATE_DIR = ROOT / "var" / "bench" / "load"
SERVER_LOG = STATE_DIR / "server.log"  # kept after the run: the tracebacks of any 5xx
SECRET_KEY = "bench-load-secret-key-000000001"
ENCRYPTION_KEY = "bench-load-encryption-key-000001"
PASSWORD = "bench-orbit-velvet-42"
MESSAGES = (
    "Hi, I would like a personal loan.",
    "About 12000 dollars.",
    "36 months please.",
    "It is for home improvement.",
    "What documents do you need?",
    "How long does a decision take?",
)
DASHBOARD_READS = (
    "/api/v1/me",
    "/api/v1/applications",
    "/api/v1/documents",
    "/api/v1/commissions/summary",
)


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    sent_turns: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def record(self, route: str, started: float, error: str | None) -> None:
        self.latencies[route].append((time.perf_counter() - started) * 1000)
        if error:
            self.errors[route].append(error)


def _settings(database_url: str) -> Settings:
    return Settings(
        environment="development",
        state_dir=STATE_DIR,
        database_url=SecretStr(database_url),
        secret_key=SecretStr(SECRET_KEY),
        encryption_key=SecretStr(ENCRYPTION_KEY),
    )


async def _people(database_url: str, conversations: int, uploaders: int) -> dict[str, Any]:
    """Tokens: one borrower per conversation, one per uploader (with a draft application), and a
    broker for the dashboards."""
    settings = _settings(database_url)
    engine = create_engine(settings, database_url)
    sessionmaker = create_sessionmaker(engine)

    async def borrower(session: Any, label: str) -> tuple[str, Actor]:
        user = await user_service.create(
            session,
            settings=settings,
            email=f"{label}-{uuid.uuid4().hex[:8]}@example.com",
            password=PASSWORD,
            full_name="Load Tester",
            role=Role.BORROWER,
        )
        issued = await token_service.issue(session, user, settings=settings)
        return issued.token, Actor.for_user(user.id, user.role, user.organization_id)

    try:
        async with transaction(sessionmaker) as session:
            await seed_default_prompts(session)
            chat = [(await borrower(session, "chat"))[0] for _ in range(conversations)]
            uploads = []
            for _ in range(uploaders):
                token, actor = await borrower(session, "upload")
                application = await application_service.start(
                    session,
                    actor,
                    data=ApplicationCreate(product_type=ProductType.PERSONAL, purpose="medical"),
                )
                uploads.append((token, str(application.id)))
            admin = await user_service.create(
                session,
                settings=settings,
                email=f"admin-{uuid.uuid4().hex[:8]}@example.com",
                password=PASSWORD,
                full_name="Load Admin",
                role=Role.PLATFORM_ADMIN,
            )
            operator = Actor.for_user(admin.id, admin.role, admin.organization_id)
            firm = await organization_service.create(
                session,
                operator,
                data=OrganizationCreate(name="Load Brokers", slug=f"load-{uuid.uuid4().hex[:6]}"),
            )
            broker = await user_service.create(
                session,
                settings=settings,
                email=f"broker-{uuid.uuid4().hex[:8]}@example.com",
                password=PASSWORD,
                full_name="Load Broker",
                role=Role.BROKER,
                organization_slug=firm.slug,
            )
            dashboard = (await token_service.issue(session, broker, settings=settings)).token
        return {"chat": chat, "uploads": uploads, "dashboard": dashboard}
    finally:
        await engine.dispose()


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _conversation(http: httpx.AsyncClient, token: str, stop: float, tally: Tally) -> None:
    started = time.perf_counter()
    response = await http.post("/api/v1/chat/threads", json={}, headers=_headers(token))
    tally.record(
        "POST /chat/threads",
        started,
        None if response.status_code == 201 else str(response.status_code),
    )
    if response.status_code != 201:
        return
    thread_id = response.json()["id"]
    turn = 0
    while time.monotonic() < stop:
        message = f"{MESSAGES[turn % len(MESSAGES)]} (turn {turn}, {uuid.uuid4().hex[:6]})"
        turn += 1
        started = time.perf_counter()
        error = None
        try:
            async with http.stream(
                "POST",
                f"/api/v1/chat/threads/{thread_id}/runs",
                json={"message": message},
                headers=_headers(token),
            ) as stream:
                body = (await stream.aread()).decode()
                if stream.status_code != 200:
                    error = f"{stream.status_code} {body[:120]}"
                elif "event: run.completed" not in body:
                    error = f"stream ended without run.completed: ...{body[-200:]}"
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        tally.record("POST /chat/threads/{id}/runs", started, error)
        if error is None:
            tally.sent_turns[thread_id].append(message)


async def _uploader(
    http: httpx.AsyncClient, token: str, application_id: str, size: int, stop: float, tally: Tally
) -> None:
    n = 0
    while time.monotonic() < stop:
        n += 1
        boundary = uuid.uuid4().hex
        started = time.perf_counter()
        error = None
        try:
            response = await http.post(
                "/api/v1/documents",
                content=_file_body(size, boundary, application_id, f"{token}-{n}".encode()),
                headers={
                    **_headers(token),
                    "Content-Type": f"multipart/form-data; boundary={boundary}",
                },
            )
            if response.status_code != 201:
                error = f"{response.status_code} {response.text[:120]}"
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        tally.record("POST /documents (5 MB)", started, error)


async def _dashboard(http: httpx.AsyncClient, token: str, stop: float, tally: Tally) -> None:
    n = 0
    while time.monotonic() < stop:
        path = DASHBOARD_READS[n % len(DASHBOARD_READS)]
        n += 1
        started = time.perf_counter()
        try:
            response = await http.get(path, headers=_headers(token))
            error = None if response.status_code == 200 else str(response.status_code)
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        tally.record(f"GET {path}", started, error)


async def _lost_turns(http: httpx.AsyncClient, people: dict[str, Any], tally: Tally) -> int:
    """Turns answered 200 + run.completed whose user message the thread does not hold."""
    lost = 0
    tokens = people["chat"]
    for token in tokens:
        listed = await http.get("/api/v1/chat/threads", headers=_headers(token))
        for thread in listed.json():
            sent = tally.sent_turns.get(thread["id"], [])
            if not sent:
                continue
            detail = await http.get(f"/api/v1/chat/threads/{thread['id']}", headers=_headers(token))
            held = {m["content"] for m in detail.json()["messages"] if m["role"] == "user"}
            lost += sum(1 for message in sent if message not in held)
    return lost


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return round(ordered[index], 1)


async def run(args: argparse.Namespace, database_url: str) -> dict[str, Any]:
    people = await _people(database_url, args.conversations, args.uploads)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIFIN_")}
    env.update(
        OMNIFIN_DATABASE_URL=database_url,
        OMNIFIN_ENVIRONMENT="development",
        OMNIFIN_STATE_DIR=str(STATE_DIR),
        OMNIFIN_SECRET_KEY=SECRET_KEY,
        OMNIFIN_ENCRYPTION_KEY=ENCRYPTION_KEY,
        OMNIFIN_LOG_LEVEL="WARNING",
        OMNIFIN_RATE_LIMITS='{"default": {}}',
        OMNIFIN_MAX_UPLOAD_BYTES=str(args.upload_mb * 1_048_576 + 1_048_576),
    )
    # Squeezed resources (a small pool, short waits) bring out in seconds what a loaded machine
    # brings out in minutes, e.g. `--server-setting database_pool_size=2`.
    for setting in args.server_setting:
        name, _, value = setting.partition("=")
        env[f"OMNIFIN_{name.strip().upper()}"] = value
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    log = SERVER_LOG.open("wb")
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "omnifin"), "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    tally = Tally()
    limits = httpx.Limits(max_connections=args.conversations + args.uploads + args.dashboards + 8)
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", timeout=120, limits=limits
        ) as http:
            for _ in range(600):
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
            else:
                raise RuntimeError("the server did not start")
            rss_before = _status_kib(server.pid, "VmRSS")
            stop = time.monotonic() + args.duration
            started = time.perf_counter()
            await asyncio.gather(
                *(_conversation(http, token, stop, tally) for token in people["chat"]),
                *(
                    _uploader(http, token, application_id, args.upload_mb * 1_000_000, stop, tally)
                    for token, application_id in people["uploads"]
                ),
                *(
                    _dashboard(http, people["dashboard"], stop, tally)
                    for _ in range(args.dashboards)
                ),
            )
            elapsed = time.perf_counter() - started
            rss_after = _status_kib(server.pid, "VmRSS")
            rss_peak = _status_kib(server.pid, "VmHWM")
            lost = await _lost_turns(http, people, tally)
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()
    routes = {
        route: {
            "requests": len(values),
            "errors": len(tally.errors.get(route, [])),
            "error_samples": tally.errors.get(route, [])[:3],
            "p50_ms": _percentile(values, 0.50),
            "p95_ms": _percentile(values, 0.95),
            "p99_ms": _percentile(values, 0.99),
            "mean_ms": round(statistics.fmean(values), 1),
        }
        for route, values in sorted(tally.latencies.items())
    }
    return {
        "benchmark": "bench_load",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average": os.getloadavg(),
        },
        "parameters": vars(args),
        "elapsed_seconds": round(elapsed, 1),
        "requests": sum(r["requests"] for r in routes.values()),
        "errors": sum(r["errors"] for r in routes.values()),
        "turns_completed": sum(len(v) for v in tally.sent_turns.values()),
        "lost_turns": lost,
        "server_rss_mb": {
            "before": round(rss_before / 1024, 1),
            "after": round(rss_after / 1024, 1),
            "growth": round((rss_after - rss_before) / 1024, 1),
            "peak": round(rss_peak / 1024, 1),
        },
        "routes": routes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--uploads", type=int, default=10, help="concurrent uploaders")
    parser.add_argument("--upload-mb", type=int, default=5)
    parser.add_argument("--dashboards", type=int, default=4, help="concurrent dashboard readers")
    parser.add_argument(
        "--server-setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an OMNIFIN_ setting of the server (repeatable), e.g. database_pool_size=2",
    )
    database_url = recreate_database(_server_url(), "omnifin_bench_load")
    migrations.upgrade(database_url)  # alembic runs its own event loop: before ours
    results = asyncio.run(run(parser.parse_args(), database_url))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
