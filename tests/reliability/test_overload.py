"""Every database connection busy for the whole pool timeout is overload, not a fault: a 503 in
the envelope with Retry-After, answered by its own handler. Found by benchmarks/bench_load.py
on a loaded machine: it was a 500 through the catch-all, which re-raises to uvicorn, and uvicorn
then closes the connection; the next request a client had already sent on that keep-alive
connection (an upload, a dashboard read) failed with a read error."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from lending.config import Settings
from lending.db import create_engine, create_sessionmaker
from lending.kv import MemoryStore


async def test_an_exhausted_connection_pool_is_a_503_with_retry_after(
    settings: Settings, database_url: str
) -> None:
    small = settings.model_copy(
        update={
            "database_pool_size": 1,
            "database_max_overflow": 0,
            "database_pool_timeout_seconds": 0.2,
        }
    )
    engine: AsyncEngine = create_engine(small, database_url)
    app = create_app(small, sessionmaker=create_sessionmaker(engine), store=MemoryStore())
    # Unhandled, the error would reach the transport (as it reached uvicorn): the test fails.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
            engine.connect() as held,  # the pool's only connection, busy
        ):
            await held.exec_driver_sql("SELECT 1")
            busy = await client.post(
                "/api/v1/auth/token", json={"email": "a@example.com", "password": "x" * 12}
            )
            await held.close()
            after = await client.post(
                "/api/v1/auth/token", json={"email": "a@example.com", "password": "x" * 12}
            )
    finally:
        await engine.dispose()

    assert busy.status_code == 503, busy.text
    assert busy.json()["error"] == "ServiceUnavailable"
    assert busy.json()["request_id"]
    assert int(busy.headers["retry-after"]) >= 1
    assert after.status_code == 401  # a connection free again: the request is answered
