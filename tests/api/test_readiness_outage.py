"""/readyz turns 503 (naming the database) while PostgreSQL is down and 200 once it is back."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from lending.config import Settings
from lending.db import SessionMaker
from lending.kv import MemoryStore, RedisStore, Store


@pytest.fixture
def disposable_server(tmp_path: Path) -> Iterator[Any]:
    """A PostgreSQL of this test's own, so stopping it disturbs no other test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pgserver.postgres_server import get_server

        server = get_server(tmp_path / "pgdata", cleanup_mode="delete")
    yield server
    server.cleanup()


async def _ready_status(http: httpx.AsyncClient) -> httpx.Response:
    return await http.get("/readyz")


async def test_readyz_follows_the_database(disposable_server: Any, tmp_path: Path) -> None:
    from pgserver._commands import pg_ctl  # type: ignore[attr-defined]  # made at import time

    settings = Settings(
        environment="test",
        state_dir=tmp_path,
        database_url=disposable_server.get_uri(),
    )
    app = create_app(settings, store=MemoryStore())
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as http,
    ):
        assert (await _ready_status(http)).status_code == 200

        await asyncio.to_thread(
            pg_ctl,
            ["-w", "-m", "fast", "stop"],
            pgdata=disposable_server.pgdata,
            user=disposable_server.system_user,
        )
        down = await _ready_status(http)
        assert down.status_code == 503
        body = down.json()
        assert body["error"] == "NotReady"
        assert body["detail"]["database"].startswith("unavailable")
        assert body["request_id"] == down.headers["x-request-id"]

        await asyncio.to_thread(disposable_server.ensure_postgres_running)
        # The pool notices the restart on its next use; readiness returns within a few probes.
        statuses = []
        for _ in range(5):
            statuses.append((await _ready_status(http)).status_code)
            if statuses[-1] == 200:
                break
        assert statuses[-1] == 200, statuses


async def _readyz_with_store(
    settings: Settings, sessionmaker: SessionMaker, store: Store
) -> httpx.Response:
    app = create_app(settings, sessionmaker=sessionmaker, store=store)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as http,
    ):
        return await http.get("/readyz")


async def test_readyz_checks_redis_when_configured(
    settings: Settings, sessionmaker: SessionMaker, redis_store: RedisStore
) -> None:
    response = await _readyz_with_store(settings, sessionmaker, redis_store)
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}


async def test_readyz_names_redis_when_it_is_unreachable(
    settings: Settings, sessionmaker: SessionMaker
) -> None:
    unreachable = RedisStore("redis://127.0.0.1:1/0")
    try:
        response = await _readyz_with_store(settings, sessionmaker, unreachable)
    finally:
        await unreachable.close()
    assert response.status_code == 503
    checks = response.json()["detail"]
    assert checks["database"] == "ok"
    assert checks["redis"].startswith("unavailable")
