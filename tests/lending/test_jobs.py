"""Jobs are written in the caller's transaction and run by a real worker on the same PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import procrastinate
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from lending.config import Settings
from lending.db import create_engine, create_sessionmaker, transaction
from lending.jobs import enqueue, open_queue, queue, queue_depth

ran: list[dict[str, object]] = []


@queue.task(name="tests.remember")
async def remember(note: str, amount: str) -> None:
    ran.append({"note": note, "amount": amount})


@pytest.fixture
async def committed_jobs(engine: AsyncEngine) -> AsyncIterator[None]:
    """This test commits for real (a worker must see the rows); clean up after it."""
    yield
    async with engine.begin() as connection:
        await connection.execute(
            text("DELETE FROM procrastinate_jobs WHERE task_name LIKE 'tests.%'")
        )


async def test_a_rolled_back_transaction_leaves_no_job(engine: AsyncEngine) -> None:
    sessionmaker = create_sessionmaker(engine)

    async def failing_unit_of_work() -> None:
        async with transaction(sessionmaker) as session:
            await enqueue(session, "tests.remember", args={"note": "lost", "amount": "1.00"})
            raise RuntimeError("the unit of work failed after enqueueing")

    with pytest.raises(RuntimeError):
        await failing_unit_of_work()
    async with sessionmaker() as session:
        count = await session.scalar(
            text("SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'tests.remember'")
        )
    assert count == 0


@pytest.mark.usefixtures("committed_jobs")
async def test_a_committed_job_is_run_by_the_worker(engine: AsyncEngine, database_url: str) -> None:
    ran.clear()
    sessionmaker = create_sessionmaker(engine)
    async with transaction(sessionmaker) as session:
        job_id = await enqueue(
            session, "tests.remember", args={"note": "funded", "amount": "3250.00"}
        )
    assert job_id > 0
    async with sessionmaker() as session:
        assert (await queue_depth(session))["todo"] >= 1

    async with open_queue(database_url) as app:
        await app.run_worker_async(wait=False, install_signal_handlers=False)

    assert ran == [{"note": "funded", "amount": "3250.00"}]
    async with sessionmaker() as session:
        status = await session.scalar(
            text("SELECT status::text FROM procrastinate_jobs WHERE id = :id"), {"id": job_id}
        )
    assert status == "succeeded"


@pytest.mark.usefixtures("committed_jobs")
async def test_queueing_lock_keeps_one_waiting_job(engine: AsyncEngine) -> None:
    sessionmaker = create_sessionmaker(engine)
    async with transaction(sessionmaker) as session:
        await enqueue(
            session, "tests.remember", args={"note": "a", "amount": "1"}, queueing_lock="x"
        )
    with pytest.raises(Exception, match="procrastinate_jobs_queueing_lock_idx"):
        async with transaction(sessionmaker) as session:
            await enqueue(
                session, "tests.remember", args={"note": "b", "amount": "1"}, queueing_lock="x"
            )


async def test_job_connections_get_the_engine_s_timeouts(
    settings: Settings, database_url: str
) -> None:
    """The queue's own pool (the worker's fetches, retries, LISTEN) is opened like the app's
    engine: a statement, an idle transaction and a connection attempt are all bounded, from the
    same settings."""
    chosen = settings.model_copy(
        update={
            "database_statement_timeout_ms": 12_345,
            "database_idle_in_transaction_timeout_ms": 23_456,
            "database_connect_timeout_seconds": 7,
        }
    )
    async with open_queue(database_url, settings=chosen) as app:
        connector = app.connector
        assert isinstance(connector, procrastinate.PsycopgConnector)
        statement = await connector.execute_query_one_async("SHOW statement_timeout")
        idle = await connector.execute_query_one_async("SHOW idle_in_transaction_session_timeout")
        async with connector.pool.connection() as connection:
            parameters = connection.info.get_parameters()
    assert (statement["statement_timeout"], idle["idle_in_transaction_session_timeout"]) == (
        "12345ms",
        "23456ms",
    )
    assert parameters["connect_timeout"] == "7"

    engine = create_engine(chosen, database_url)  # the same arguments as the app's engine
    try:
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            assert raw.driver_connection is not None
            engine_parameters = raw.driver_connection.info.get_parameters()
            engine_statement = await connection.scalar(text("SHOW statement_timeout"))
    finally:
        await engine.dispose()
    assert engine_statement == "12345ms"
    assert engine_parameters["connect_timeout"] == "7"
