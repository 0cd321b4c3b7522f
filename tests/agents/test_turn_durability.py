"""When a turn's writes reach the disk: the run's start and the checkpoints commit without
waiting for their WAL flush, and the run's end commits synchronously, flushing everything before
it, before the person is told the turn completed. The setting never outlives the statement that
needs it: every other statement on the pool's connections waits for its flush as before."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from agents.checkpoint import open_checkpointer
from agents.threads import thread_service
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
from lending.models.chat import RunStatus
from lending.models.identity import Role
from tests.identity.factories import actor_of, create_user

DATABASE = "omnifin_turn_durability"


@pytest.fixture
async def engine(committed_url: str, settings: Settings) -> AsyncIterator[AsyncEngine]:
    # One pooled connection: every use below gets the same one back.
    engine = create_engine(settings.model_copy(update={"database_pool_size": 1}), committed_url)
    yield engine
    await engine.dispose()


async def _setting(connection: DriverConnection) -> str:
    rows = await run_sql(connection, "SHOW synchronous_commit", {}, name="show")
    return str(rows[0][0])


async def test_a_run_starts_without_waiting_for_the_disk_and_ends_waiting(
    engine: AsyncEngine,
) -> None:
    sessionmaker = create_sessionmaker(engine)
    async with transaction(sessionmaker) as session:
        actor = actor_of(await create_user(session, role=Role.BORROWER, full_name="Ana Diaz"))
        thread = await thread_service.create(session, actor)

    # Inside a transaction (an approval's answer starts its run in one), the start's setting
    # holds until that transaction commits...
    async with transaction(sessionmaker) as session:
        records = await driver_connection(session)
        assert await _setting(records) == "on"
        await thread_service.start_run(
            records, thread.id, mode="llm", prompt_versions={}, variant=None, user_text="hi"
        )
        assert await _setting(records) == "off"

    # ... and statement by statement, it ends with the statement: the same pooled connection
    # waits for its flush again, for the run's end as for anything else.
    async with driver_autocommit(sessionmaker) as records:
        assert await _setting(records) == "on"
        run_id = await thread_service.start_run(
            records, thread.id, mode="llm", prompt_versions={}, variant=None, user_text="again"
        )
        assert await _setting(records) == "on"
        await thread_service.finish_run(
            records,
            thread_id=thread.id,
            run_id=run_id,
            status=RunStatus.COMPLETED,
            mode="llm",
            latency_ms=1.0,
            input_tokens=1,
            output_tokens=1,
            cost=Decimal("0"),
            transcript=[],
        )
        assert await _setting(records) == "on"
    async with engine.connect() as connection:
        shown = await connection.exec_driver_sql("SHOW synchronous_commit")
        assert shown.scalar_one() == "on"


async def test_checkpoints_commit_without_waiting_for_the_disk(committed_url: str) -> None:
    async with open_checkpointer(committed_url, min_size=1, max_size=1) as checkpointer:
        async with checkpointer._cursor() as cursor:
            await cursor.execute("SHOW synchronous_commit")
            row = await cursor.fetchone()
    assert row is not None
    assert row["synchronous_commit"] == "off"
