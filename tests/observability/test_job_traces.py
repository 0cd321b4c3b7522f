"""A background job continues the trace of the request that enqueued it, and its trace id is
stored with it (job_trace); a job nobody traced starts its own trace, stored the same way."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from lending import tracing
from lending.db import create_sessionmaker, transaction
from lending.jobs import enqueue, open_queue, queue
from lending.jobs.traces import trace_job

ran: list[str | None] = []


@queue.task(name="tests.traced")
async def traced(note: str) -> None:
    ran.append(tracing.current_trace_id())


@pytest.fixture
def spans(engine: AsyncEngine) -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    tracing.configure_tracing(exporter=exporter, environ={})
    try:
        yield exporter
    finally:
        tracing.shutdown_tracing()


@pytest.fixture
async def committed_jobs(engine: AsyncEngine) -> AsyncIterator[None]:
    """These tests commit for real (a worker must see the rows); clean up after them."""
    yield
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "DELETE FROM job_trace WHERE job_id IN "
                "(SELECT id FROM procrastinate_jobs WHERE task_name = 'tests.traced')"
            )
        )
        await connection.execute(
            text("DELETE FROM procrastinate_jobs WHERE task_name = 'tests.traced'")
        )


@pytest.mark.usefixtures("committed_jobs")
async def test_a_job_continues_the_enqueuing_trace(
    spans: InMemorySpanExporter, engine: AsyncEngine, database_url: str
) -> None:
    ran.clear()
    sessionmaker = create_sessionmaker(engine)
    with tracing.span("request") as request:
        assert request is not None
        async with transaction(sessionmaker) as session:
            traced_id = await enqueue(session, "tests.traced", args={"note": "from a request"})
    async with transaction(sessionmaker) as session:
        untraced_id = await enqueue(session, "tests.traced", args={"note": "periodic"})

    async with open_queue(database_url) as app:
        await app.run_worker_async(
            wait=False, install_signal_handlers=False, worker_middleware=[trace_job]
        )

    request_trace = f"{request.get_span_context().trace_id:032x}"
    job_spans = {
        (s.attributes or {})["messaging.message.id"]: s
        for s in spans.get_finished_spans()
        if s.name == "job tests.traced"
    }
    continued = job_spans[str(traced_id)]
    assert continued.parent is not None
    assert continued.parent.span_id == request.get_span_context().span_id
    fresh = job_spans[str(untraced_id)]
    assert fresh.parent is None
    assert fresh.context is not None
    fresh_trace = f"{fresh.context.trace_id:032x}"
    assert fresh_trace != request_trace
    assert sorted(ran, key=str) == sorted([request_trace, fresh_trace])
    async with sessionmaker() as session:
        stored: dict[int, str] = dict(
            (
                await session.execute(
                    text("SELECT job_id, trace_id FROM job_trace WHERE job_id = ANY(:ids)"),
                    {"ids": [traced_id, untraced_id]},
                )
            ).all()
        )
    assert stored == {traced_id: request_trace, untraced_id: fresh_trace}


async def test_off_enqueue_writes_no_trace(engine: AsyncEngine) -> None:
    assert not tracing.enabled()
    async with create_sessionmaker(engine)() as session:
        job_id = await enqueue(session, "tests.traced", args={"note": "untraced"})
        found = await session.scalar(
            text("SELECT count(*) FROM job_trace WHERE job_id = :id"), {"id": job_id}
        )
        await session.rollback()
    assert found == 0
