"""`driver_autocommit`: statements on the pool's driver connection that stand alone commit one
by one, without BEGIN and COMMIT; the pool's connection goes back to transactions afterwards; a
connection-bound sessionmaker (the tests' outer transaction) is joined instead. `run_sql` reads
rows and traces each statement as SQLAlchemy's instrumentation does."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from devtools.databases import drop_database, recreate_database
from lending import tracing
from lending.config import Settings
from lending.db import (
    DriverConnection,
    create_engine,
    create_sessionmaker,
    driver_autocommit,
    driver_connection,
    run_sql,
    transaction,
)

DATABASE = "omnifin_autocommit"


@pytest.fixture
async def engine(server_url: str, settings: Settings) -> AsyncIterator[AsyncEngine]:
    url = recreate_database(server_url, DATABASE)
    # One pooled connection: every use below gets the same one back.
    engine = create_engine(settings.model_copy(update={"database_pool_size": 1}), url)
    async with engine.begin() as connection:
        await connection.exec_driver_sql("CREATE TABLE note (text text)")
    yield engine
    await engine.dispose()
    drop_database(server_url, DATABASE)


async def _notes(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        result = await connection.exec_driver_sql("SELECT text FROM note ORDER BY text")
        return [row[0] for row in result]


async def _txids_then_fail(connection: DriverConnection, note: str) -> None:
    """Two statements' transaction ids and an insert, then a failure (with the ids)."""
    first = await run_sql(connection, "SELECT txid_current()", {}, name="txid")
    second = await run_sql(connection, "SELECT txid_current()", {}, name="txid")
    await run_sql(connection, "INSERT INTO note VALUES (%(note)s)", {"note": note}, name="note")
    raise StoppedHalfWay((first[0][0], second[0][0]))


class StoppedHalfWay(Exception):
    pass


async def test_each_statement_commits_on_its_own(engine: AsyncEngine) -> None:
    sessionmaker = create_sessionmaker(engine)
    with pytest.raises(StoppedHalfWay) as stopped:
        async with driver_autocommit(sessionmaker) as connection:
            await _txids_then_fail(connection, "kept")
    first, second = stopped.value.args[0]
    assert first != second  # a transaction per statement
    # Committed when it ran, not rolled back by the failure.
    assert await _notes(engine) == ["kept"]


async def test_the_connection_goes_back_to_transactions(engine: AsyncEngine) -> None:
    sessionmaker = create_sessionmaker(engine)
    async with driver_autocommit(sessionmaker) as connection:
        await run_sql(connection, "SELECT 1", {}, name="one")
    with pytest.raises(StoppedHalfWay) as stopped:  # the same pooled connection
        async with transaction(sessionmaker) as session:
            await _txids_then_fail(await driver_connection(session), "rolled back")
    first, second = stopped.value.args[0]
    assert first == second
    assert await _notes(engine) == []


async def test_a_session_bound_to_a_connection_joins_its_transaction(engine: AsyncEngine) -> None:
    async with engine.connect() as outer:
        held = await outer.begin()
        bound = async_sessionmaker(bind=outer, join_transaction_mode="create_savepoint")
        async with driver_autocommit(bound) as connection:
            await run_sql(connection, "INSERT INTO note VALUES ('x')", {}, name="note")
        await held.rollback()
    assert await _notes(engine) == []


async def test_run_sql_returns_rows_and_traces_the_statement(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(tracing, "_tracer", provider.get_tracer("test"))
    async with driver_autocommit(create_sessionmaker(engine)) as connection:
        rows = await run_sql(
            connection, "SELECT %(a)s::int + 1, 'x'", {"a": 41}, name="note answer"
        )
        written = await run_sql(connection, "INSERT INTO note VALUES ('y')", {}, name="note")
    assert rows == [(42, "x")]
    assert written == []  # a write returns no rows
    spans = exporter.get_finished_spans()
    assert [span.name for span in spans] == ["note answer", "note"]
    assert (spans[0].attributes or {})["db.system"] == "postgresql"
    assert (spans[0].attributes or {})["db.statement"] == "SELECT %(a)s::int + 1, 'x'"
