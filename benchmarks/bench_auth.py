"""Time bearer-token authentication through the ASGI app, and sign-in with argon2 at its cost.

Run from the repository root: `.venv/bin/python -m benchmarks.bench_auth`. It uses a database
of its own (`omnifin_bench_auth`, recreated each run) on the server named by
OMNIFIN_BENCH_DATABASE_URL, else on the embedded server of var/test; Redis from
OMNIFIN_BENCH_REDIS_URL (default redis://127.0.0.1:6379/15) when it answers. Results go to
benchmarks/results/auth.json and to stdout.

Token authentication overhead = p50 of a request to a route that only resolves the bearer token
(`CurrentActor`) minus p50 of the same request to a route without authentication, through the
same middleware stack, in one process (no network). Runs of the two alternate, so drift on a
shared machine affects both alike.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import platform
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import SecretStr

from api.app import create_app
from api.auth import CurrentActor
from benchmarks.report import write_results
from lending import migrations
from lending.config import Settings
from lending.db import create_engine, create_sessionmaker, transaction
from lending.identity import passwords
from lending.identity.sessions import token_service
from lending.identity.users import user_service
from lending.kv import MemoryStore, RedisStore, Store
from lending.models.identity import Role

ROOT = Path(__file__).resolve().parent.parent
RESULTS_PATH = ROOT / "benchmarks" / "results" / "auth.json"
STATE_DIR = ROOT / "var" / "test"
PASSWORD = "bench-orbit-velvet-42"
RUNS = 2000
WARM_UP = 200
LOGIN_RUNS = 40
ARGON2_RUNS = 30


def _summary(wall: list[float], cpu: list[float]) -> dict[str, float]:
    return {
        "wall_ms_p50": round(statistics.median(wall), 4),
        "wall_ms_p95": round(statistics.quantiles(wall, n=20)[-1], 4),
        "cpu_ms_p50": round(statistics.median(cpu), 4),
        "cpu_ms_p95": round(statistics.quantiles(cpu, n=20)[-1], 4),
    }


async def _alternate(
    calls: dict[str, Callable[[], Awaitable[Any]]], runs: int, warm_up: int
) -> dict[str, dict[str, float]]:
    """Time each call `runs` times, interleaved, after `warm_up` untimed rounds."""
    for _ in range(warm_up):
        for call in calls.values():
            await call()
    wall: dict[str, list[float]] = {name: [] for name in calls}
    cpu: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(runs):
        for name, call in calls.items():
            wall_start, cpu_start = time.perf_counter(), time.process_time()
            await call()
            cpu[name].append((time.process_time() - cpu_start) * 1000)
            wall[name].append((time.perf_counter() - wall_start) * 1000)
    return {name: _summary(wall[name], cpu[name]) for name in calls}


def _bench_app(settings: Settings, store: Store) -> FastAPI:
    app = create_app(settings, store=store)

    @app.get("/bench/anonymous")
    async def anonymous() -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/bench/actor")
    async def actor(current: CurrentActor) -> dict[str, str]:
        return {"user_id": str(current.user_id)}

    return app


async def _measure_requests(
    settings: Settings, store: Store, token: str
) -> dict[str, dict[str, float]]:
    app = _bench_app(settings, store)
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench"
        ) as client,
    ):

        async def anonymous() -> None:
            response = await client.get("/bench/anonymous")
            assert response.status_code == 200

        async def authenticated() -> None:
            response = await client.get("/bench/actor", headers=headers)
            assert response.status_code == 200, response.text

        timings = await _alternate(
            {"anonymous": anonymous, "authenticated": authenticated}, RUNS, WARM_UP
        )
    timings["overhead"] = {
        key: round(timings["authenticated"][key] - timings["anonymous"][key], 4)
        for key in timings["anonymous"]
    }
    return timings


async def _measure_login(settings: Settings, email: str) -> dict[str, float]:
    app = create_app(settings, store=MemoryStore())
    body = {"email": email, "password": PASSWORD}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench"
        ) as client,
    ):

        async def login() -> None:
            response = await client.post("/api/v1/auth/token", json=body)
            assert response.status_code == 200, response.text

        return (await _alternate({"login": login}, LOGIN_RUNS, 3))["login"]


async def _measure_argon2(settings: Settings) -> dict[str, Any]:
    hashed = await passwords.hash_password(settings, PASSWORD)
    hasher = passwords.hasher(settings)

    async def verify() -> None:
        assert hasher.verify(hashed, PASSWORD)

    async def hash_once() -> None:
        hasher.hash(PASSWORD)

    timings = await _alternate({"verify": verify, "hash": hash_once}, ARGON2_RUNS, 3)
    return {
        "parameters": {
            "algorithm": "argon2id",
            "time_cost": settings.password_hash_time_cost,
            "memory_kib": settings.password_hash_memory_kib,
            "parallelism": settings.password_hash_parallelism,
        },
        **timings,
    }


def _database_url() -> str:
    from devtools.databases import recreate_database

    server = os.environ.get("OMNIFIN_BENCH_DATABASE_URL")
    if not server:
        from lending.embedded_postgres import embedded_database_url

        server = embedded_database_url(STATE_DIR)
    url = recreate_database(server, "omnifin_bench_auth")
    migrations.upgrade(url)
    return url


async def _seed(settings: Settings) -> tuple[str, str]:
    assert settings.database_url is not None
    engine = create_engine(settings, settings.database_url.get_secret_value())
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            user = await user_service.create(
                session,
                settings=settings,
                email=f"bench-{uuid.uuid4().hex[:8]}@example.com",
                password=PASSWORD,
                full_name="Pat Tester",
                role=Role.BORROWER,
            )
            issued = await token_service.issue(session, user, settings=settings)
            return user.email, issued.token
    finally:
        await engine.dispose()


async def _redis_store() -> RedisStore | None:
    store = RedisStore(
        os.environ.get("OMNIFIN_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"),
        prefix=f"omnifin-bench:{uuid.uuid4().hex}:",
    )
    try:
        await store.ping()
    except Exception:  # no Redis here: that variant is reported as skipped
        await store.close()
        return None
    return store


async def run(database_url: str) -> dict[str, Any]:
    settings = Settings(
        environment="test",
        state_dir=STATE_DIR,
        database_url=SecretStr(database_url),
        log_level="WARNING",
        # Generous limits: this measures authentication, not the limiter refusing.
        rate_limits={"auth": {"anonymous": 1_000_000}, "default": {"*": 1_000_000}},
    )
    email, token = await _seed(settings)
    uncached = settings.model_copy(update={"token_cache_seconds": 0})

    token_auth: dict[str, Any] = {
        "memory_store_cached": await _measure_requests(settings, MemoryStore(), token),
        "no_cache_database_lookup": await _measure_requests(uncached, MemoryStore(), token),
    }
    redis = await _redis_store()
    if redis is None:
        token_auth["redis_store_cached"] = "skipped: Redis not reachable"
    else:
        try:
            token_auth["redis_store_cached"] = await _measure_requests(settings, redis, token)
        finally:
            await redis.close()

    return {
        "benchmark": "auth",
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "runs": RUNS,
        "warm_up": WARM_UP,
        "token_auth_per_request": token_auth,
        "argon2": await _measure_argon2(settings),
        # End to end: argon2 verify, token and audit rows, commit; sequential requests.
        "login_request": {"runs": LOGIN_RUNS, **await _measure_login(settings, email)},
    }


def main() -> None:
    """Run the measurements, write them as JSON and print them."""
    from lending.logs import configure_logging

    configure_logging(level="WARNING", json=True)
    results = asyncio.run(run(_database_url()))  # migrations run their own event loop
    write_results(RESULTS_PATH, results)


if __name__ == "__main__":
    main()
