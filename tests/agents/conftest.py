"""Fixtures of the assistant's tests: the app with a scripted language model behind HTTP, and a
committed database of a test module's own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from decimal import Decimal

import httpx
import psycopg
import pytest

from agents.models import ModelBreaker, ModelPricing, ModelProvider
from agents.scripted import ScriptedChatModel
from api.app import create_app
from devtools.databases import drop_database, recreate_database
from lending import migrations
from lending.config import Settings
from lending.db import SessionMaker, libpq_url
from lending.kv import MemoryStore
from tests.agents.sse import Client


@pytest.fixture
def with_model(settings: Settings, sessionmaker: SessionMaker) -> Client:
    """Opens the app with `model` as the assistant's language model, on the test's transaction."""

    @asynccontextmanager
    async def open_client(model: ScriptedChatModel) -> AsyncIterator[httpx.AsyncClient]:
        provider = ModelProvider(
            models=[model],
            pricing=ModelPricing(Decimal("0.5"), Decimal("1.5")),
            breaker=ModelBreaker(failures=1, cooldown_seconds=3600),
        )
        app = create_app(
            settings, sessionmaker=sessionmaker, store=MemoryStore(), chat_model=provider
        )
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://testserver"
            ) as http,
        ):
            yield http

    return open_client


@pytest.fixture
def committed_url(server_url: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A migrated database named by the test module's `DATABASE`, for tests whose statements
    must really commit (a real engine, a server process): dropped afterwards."""
    name: str = request.module.DATABASE
    url = recreate_database(server_url, name)
    migrations.upgrade(url)
    yield url
    drop_database(server_url, name)


@pytest.fixture
async def thread_ids(database_url: str) -> AsyncIterator[list[str]]:
    """Checkpoint thread ids for the test; their rows are committed (the checkpointer's own
    connections), so they are deleted afterwards."""
    ids: list[str] = []
    yield ids
    async with await psycopg.AsyncConnection.connect(
        libpq_url(database_url), autocommit=True
    ) as conn:
        for table in ("checkpoint_writes", "checkpoint_blobs", "checkpoints"):
            await conn.execute(f"DELETE FROM {table} WHERE thread_id = ANY(%s)", [ids])
