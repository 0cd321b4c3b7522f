"""Database plumbing: the database URL (given, or the embedded server), engine, sessions, preflight."""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import psycopg
from opentelemetry.trace import SpanKind
from sqlalchemy import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from lending import tracing
from lending.config import Settings
from lending.logs import get_logger

SessionMaker = async_sessionmaker[AsyncSession]
# The largest `offset` a paged list accepts: past PostgreSQL's bigint the query itself fails (the
# fuzzer found it); a billion rows deep is past any page a person reads.
MAX_OFFSET = 1_000_000_000
_log = get_logger(__name__)


class DatabaseUnavailableError(Exception):
    """The database cannot be used; the message is one sentence a person can act on."""


def resolve_database_url(settings: Settings) -> str:
    """The configured URL, or the embedded server's (started on first use) when none is set."""
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    from lending.embedded_postgres import embedded_database_url

    return embedded_database_url(settings.state_dir)


def sqlalchemy_url(url: str) -> URL:
    """The URL with the async psycopg driver, whatever scheme the operator wrote."""
    parsed = make_url(url)
    if parsed.drivername in {"postgres", "postgresql", "postgresql+psycopg2", "postgresql+asyncpg"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def libpq_url(url: str | URL) -> str:
    """The same URL in the plain form libpq (psycopg, procrastinate) understands."""
    parsed = make_url(url) if isinstance(url, str) else url
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def describe(url: str | URL) -> str:
    """Where a URL points, without its password, for messages."""
    parsed = make_url(url) if isinstance(url, str) else url
    host = parsed.host or parsed.query.get("host") or "localhost"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{host}{port}/{parsed.database or ''}"


def create_engine(settings: Settings, url: str | URL) -> AsyncEngine:
    """An async engine. No pre-ping: a checkout must not cost a round trip (see PERFORMANCE.md)."""
    return create_async_engine(
        sqlalchemy_url(str(url)) if isinstance(url, str) else url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_timeout=settings.database_pool_timeout_seconds,
        pool_recycle=1800,
        connect_args=connection_arguments(settings),
    )


def connection_arguments(settings: Settings) -> dict[str, object]:
    """What every connection of ours is opened with (libpq keywords): the connect timeout and
    the server settings of `session_options`. The app's engine, the tasks' engines and the job
    queue's own pool (lending.jobs.open_queue) all use these."""
    arguments: dict[str, object] = {}
    if settings.database_connect_timeout_seconds:
        arguments["connect_timeout"] = settings.database_connect_timeout_seconds
    options = session_options(settings)
    if options:
        arguments["options"] = options
    return arguments


def session_options(settings: Settings) -> str:
    """Server settings for every connection of ours (libpq `options`): the statement timeout,
    and the idle-in-transaction timeout that ends a session a stalled client left holding a
    transaction (and its locks, and a pooled connection)."""
    options = []
    if settings.database_statement_timeout_ms:
        options.append(f"-c statement_timeout={settings.database_statement_timeout_ms}")
    if settings.database_idle_in_transaction_timeout_ms:
        options.append(
            "-c idle_in_transaction_session_timeout="
            f"{settings.database_idle_in_transaction_timeout_ms}"
        )
    return " ".join(options)


def create_sessionmaker(engine: AsyncEngine) -> SessionMaker:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@contextlib.asynccontextmanager
async def transaction(sessionmaker: SessionMaker) -> AsyncIterator[AsyncSession]:
    """One unit of work outside a request (a job, a tool call, a CLI command): commit or roll back.
    What was registered with `after_commit` runs once the commit succeeded."""
    async with sessionmaker() as session:
        async with session.begin():
            yield session
        await run_after_commit(session)


# A connection of the pool's own driver (psycopg 3), below SQLAlchemy's execution layer.
DriverConnection = psycopg.AsyncConnection[Any]
# Per engine, its copy whose connections are checked out in autocommit mode (same pool).
_AUTOCOMMIT_ENGINES: weakref.WeakKeyDictionary[AsyncEngine, AsyncEngine] = (
    weakref.WeakKeyDictionary()
)


@contextlib.asynccontextmanager
async def driver_autocommit(sessionmaker: SessionMaker) -> AsyncIterator[DriverConnection]:
    """A pooled connection's driver connection, every statement committing on its own (no
    BEGIN, no COMMIT). For a hot path's statements that each stand alone, written in SQL for the
    driver (a chat turn's run records): no ORM session is opened and closed around them, which
    cost twice the statement itself (measured: 0.52 ms of CPU for a session and one statement,
    0.24 ms this way; docs/DECISIONS.md, "Turn cost, part 5").

    The connection comes from the engine's own pool. A sessionmaker bound to one connection
    (the tests' outer transaction) has no statement of its own to commit: its statements join
    that connection's transaction, as each would have committed (no savepoint, which a session
    of that sessionmaker opened around this one would see released under it).
    """
    bind = sessionmaker.kw.get("bind")
    if isinstance(bind, AsyncConnection):
        raw = await bind.get_raw_connection()
        yield cast(DriverConnection, raw.driver_connection)
        return
    if not isinstance(bind, AsyncEngine):
        raise TypeError(f"a sessionmaker bound to an engine or a connection, not {bind!r}")
    engine = _AUTOCOMMIT_ENGINES.get(bind)
    if engine is None:
        engine = _AUTOCOMMIT_ENGINES[bind] = bind.execution_options(isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        yield cast(DriverConnection, raw.driver_connection)


async def driver_connection(session: AsyncSession) -> DriverConnection:
    """The driver connection under `session`: statements on it join the session's transaction."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return cast(DriverConnection, raw.driver_connection)


async def run_sql(
    connection: DriverConnection, statement: str, parameters: Mapping[str, Any], *, name: str
) -> list[tuple[Any, ...]]:
    """Run one statement on a driver connection: the rows it returns (none for a write).

    Traced as SQLAlchemy's own statements are (a client span with the statement), since these
    bypass its instrumentation."""
    with tracing.span(
        name,
        {"db.system": "postgresql", "db.statement": statement},
        kind=SpanKind.CLIENT,
    ):
        cursor = await connection.execute(statement, parameters)
        return await cursor.fetchall() if cursor.description is not None else []


_AFTER_COMMIT = "omnifin.after_commit"


def after_commit(session: AsyncSession, action: Callable[[], Awaitable[None]]) -> None:
    """Run `action` after this session's unit of work commits (`transaction`, the request's
    session). Dropped when it rolls back. For effects outside the database that must not be seen
    before the data is, e.g. forgetting a cached token: forgotten before the commit, a concurrent
    request could cache the old row again."""
    session.info.setdefault(_AFTER_COMMIT, []).append(action)


async def run_after_commit(session: AsyncSession) -> None:
    """Run (and clear) what `after_commit` registered. A failing action is logged, not raised:
    the data is committed, and an error answer would say otherwise."""
    actions: list[Callable[[], Awaitable[None]]] = session.info.pop(_AFTER_COMMIT, [])
    for action in actions:
        try:
            await action()
        except Exception as exc:
            _log.error(
                "after_commit_failed", action=getattr(action, "__name__", "?"), error=repr(exc)
            )


def discard_after_commit(session: AsyncSession) -> None:
    session.info.pop(_AFTER_COMMIT, None)


@dataclass(frozen=True)
class ServerFacts:
    server_version: str
    has_pgvector: bool


def preflight(url: str | URL) -> ServerFacts:
    """Check that the server answers and can load pgvector, in plain words when it cannot.

    Raises:
        DatabaseUnavailableError: unreachable server, or no pgvector extension available.
    """
    where = describe(url)
    try:
        with psycopg.connect(libpq_url(url), connect_timeout=5) as conn:
            version = conn.execute("SHOW server_version").fetchone()
            row = conn.execute(
                "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'"
            ).fetchone()
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise DatabaseUnavailableError(
            f"Cannot connect to PostgreSQL at {where} ({reason}): start the server or fix "
            "OMNIFIN_DATABASE_URL, or unset it to use the embedded PostgreSQL."
        ) from exc
    server_version = str(version[0]) if version else "unknown"
    if row is None:
        major = server_version.split(".")[0]
        raise DatabaseUnavailableError(
            f"PostgreSQL {server_version} at {where} does not have the pgvector extension, which "
            f"Omnifin needs: install it on that server (e.g. the postgresql-{major}-pgvector "
            "package or the pgvector/pgvector image), or unset OMNIFIN_DATABASE_URL to use the "
            "embedded PostgreSQL that ships with pgvector."
        )
    return ServerFacts(server_version=server_version, has_pgvector=True)
