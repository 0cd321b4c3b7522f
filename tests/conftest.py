"""Shared fixtures: a real PostgreSQL (embedded unless OMNIFIN_TEST_DATABASE_URL is set), migrated
once per run; every test inside a transaction that is rolled back; real Redis and the in-process
store; the app behind an httpx ASGI client; a real job worker delivering mail to a real SMTP
server."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from api.app import create_app
from devtools.databases import recreate_database
from lending import migrations
from lending.config import Settings, get_settings
from lending.db import SessionMaker, create_engine
from lending.jobs import open_queue
from lending.jobs.runtime import dispose_job_engines
from lending.kv import MemoryStore, RedisStore, Store
from tests.mail.smtp import Inbox, MailWorker, smtp_server

REPO_ROOT = Path(__file__).resolve().parent.parent
TEST_STATE_DIR = REPO_ROOT / "var" / "test"
TEST_DATABASE = "omnifin_test"
REDIS_URL = os.environ.get("OMNIFIN_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


def _server_url() -> str:
    """A URL of the test server's maintenance database."""
    given = os.environ.get("OMNIFIN_TEST_DATABASE_URL")
    if given:
        return given
    from lending.embedded_postgres import embedded_database_url

    return embedded_database_url(TEST_STATE_DIR)


@pytest.fixture(scope="session")
def server_url() -> str:
    return _server_url()


@pytest.fixture(scope="session")
def database_url(server_url: str) -> str:
    """The test database, migrated to head once per run."""
    url = recreate_database(server_url, TEST_DATABASE)
    migrations.upgrade(url)
    return url


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(
        environment="test",
        state_dir=TEST_STATE_DIR,
        database_url=database_url,  # type: ignore[arg-type]
        log_json=True,
        # A live stream must end for the ASGI test client to see its response.
        notification_stream_seconds=0,
    )


@pytest.fixture(scope="session")
async def engine(settings: Settings, database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings, database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def db_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One connection per test, inside a transaction rolled back at the end."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        try:
            yield connection
        finally:
            if transaction.is_active:
                await transaction.rollback()


@pytest.fixture
def sessionmaker(db_connection: AsyncConnection) -> SessionMaker:
    """Sessions bound to the test's transaction; their commits become savepoints."""
    return async_sessionmaker(
        bind=db_connection,
        expire_on_commit=False,
        autoflush=False,
        join_transaction_mode="create_savepoint",
    )


@pytest.fixture
async def session(sessionmaker: SessionMaker) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session


@pytest.fixture
async def memory_store() -> AsyncIterator[MemoryStore]:
    store = MemoryStore()
    yield store
    await store.close()


@pytest.fixture
async def redis_store() -> AsyncIterator[RedisStore]:
    """The real Redis (started by .ci/run), with a key prefix of the test's own."""
    store = RedisStore(REDIS_URL, prefix=f"omnifin-test:{uuid.uuid4().hex}:")
    try:
        await store.ping()
    except Exception as exc:
        pytest.fail(f"Redis is not reachable at {REDIS_URL} ({exc}); .ci/run starts it.")
    yield store
    await store.close()


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> Store:
    """Each test using this runs twice: in-process store and real Redis."""
    fixture: Store = request.getfixturevalue(f"{request.param}_store")
    return fixture


@pytest.fixture
async def client(
    settings: Settings, sessionmaker: SessionMaker, memory_store: MemoryStore
) -> AsyncIterator[httpx.AsyncClient]:
    """The app on the test's transaction, through an httpx ASGI client, lifespan included."""
    app = create_app(settings, sessionmaker=sessionmaker, store=memory_store)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as http,
    ):
        yield http


@pytest.fixture
async def mail_worker(
    database_url: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[MailWorker]:
    """A real procrastinate worker, run until the queues it is given are empty, with the
    process settings a deployed worker reads (this test database, SMTP to a real server on
    loopback, started for the run); the engines its jobs made are closed afterwards."""

    async def run(queues: Sequence[str]) -> Inbox:
        with smtp_server() as (inbox, port):
            for name, value in {
                "OMNIFIN_ENVIRONMENT": "test",
                "OMNIFIN_DATABASE_URL": database_url,
                "OMNIFIN_STATE_DIR": str(settings.state_dir),
                "OMNIFIN_SMTP_HOST": "127.0.0.1",
                "OMNIFIN_SMTP_PORT": str(port),
                "OMNIFIN_SMTP_SECURITY": "none",
            }.items():
                monkeypatch.setenv(name, value)
            get_settings.cache_clear()
            async with open_queue(database_url) as app:
                await app.run_worker_async(
                    queues=list(queues), wait=False, install_signal_handlers=False
                )
        return inbox

    try:
        yield run
    finally:
        await dispose_job_engines()
        get_settings.cache_clear()
