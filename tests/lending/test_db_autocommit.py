"""`autocommit`: statements that stand alone commit one by one, without BEGIN and COMMIT; the
pool's connection goes back to transactions afterwards; a connection-bound sessionmaker (the
tests' outer transaction) is joined instead."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from devtools.databases import drop_database, recreate_database
from lending.config import Settings
from lending.db import after_commit, autocommit, create_engine, create_sessionmaker, transaction

DATABASE = "omnifin_autocommit"


@pytest.fixture
async def engine(server_url: str, settings: Settings) -> AsyncIterator[AsyncEngine]:
    url = recreate_database(server_url, DATABASE)
    # One pooled connection: every session below gets the same one back.
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


async def _txids_then_fail(
    session_of: Callable[[], AbstractAsyncContextManager[AsyncSession]],
    note: str,
    ran: list[str],
) -> tuple[int, int]:
    """Two statements' transaction ids, an insert and an after-commit action, then a failure."""
    async with session_of() as session:
        connection = await session.connection()
        first = (await connection.exec_driver_sql("SELECT txid_current()")).scalar_one()
        second = (await connection.exec_driver_sql("SELECT txid_current()")).scalar_one()
        await connection.exec_driver_sql("INSERT INTO note VALUES (%(note)s)", {"note": note})

        async def done() -> None:
            ran.append("after commit")

        after_commit(session, done)
        raise StoppedHalfWay((first, second))


class StoppedHalfWay(Exception):
    pass


async def test_each_statement_commits_on_its_own(engine: AsyncEngine) -> None:
    sessionmaker = create_sessionmaker(engine)
    ran: list[str] = []
    with pytest.raises(StoppedHalfWay) as stopped:
        await _txids_then_fail(lambda: autocommit(sessionmaker), "kept", ran)
    first, second = stopped.value.args[0]
    assert first != second  # a transaction per statement
    # Committed when it ran, not rolled back by the failure; nothing ran "after commit".
    assert await _notes(engine) == ["kept"]
    assert ran == []


async def test_the_connection_goes_back_to_transactions(engine: AsyncEngine) -> None:
    sessionmaker = create_sessionmaker(engine)
    async with autocommit(sessionmaker) as session:
        await (await session.connection()).exec_driver_sql("SELECT 1")
    ran: list[str] = []
    with pytest.raises(StoppedHalfWay) as stopped:  # the same pooled connection
        await _txids_then_fail(lambda: transaction(sessionmaker), "rolled back", ran)
    first, second = stopped.value.args[0]
    assert first == second
    assert await _notes(engine) == []
    assert ran == []


async def test_a_session_bound_to_a_connection_joins_its_transaction(engine: AsyncEngine) -> None:
    async with engine.connect() as outer:
        held = await outer.begin()
        bound = async_sessionmaker(bind=outer, join_transaction_mode="create_savepoint")
        async with autocommit(bound) as session:
            await (await session.connection()).exec_driver_sql("INSERT INTO note VALUES ('x')")
        await held.rollback()
    assert await _notes(engine) == []
