"""Traces of background jobs: a job continues the trace of the request that enqueued it.

`enqueue` records the enqueuing span (`job_trace`, written in the caller's transaction) when
tracing is on; the worker middleware here opens the job's span as its child, or a new trace for
a job nobody traced (a periodic one), and records that trace id. Nothing runs when tracing is off.
"""

from __future__ import annotations

from typing import Any

from procrastinate import JobContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from lending import tracing

_RECORD = text(
    "INSERT INTO job_trace (job_id, trace_id, traceparent) "
    "VALUES (:job_id, :trace_id, :traceparent) ON CONFLICT (job_id) DO NOTHING"
)


async def record_enqueued(session: AsyncSession, job_id: int) -> None:
    """Keep the trace a job was enqueued in (when tracing is on and a span is open)."""
    parent = tracing.traceparent()
    if parent is None:
        return
    await session.execute(
        _RECORD, {"job_id": job_id, "trace_id": parent.split("-")[1], "traceparent": parent}
    )


async def trace_job(call_next: Any, context: JobContext, worker: Any) -> Any:
    """A procrastinate worker middleware: the job's span, in the trace that enqueued it."""
    job = context.job
    connector = context.app.connector
    row = await connector.execute_query_one_async(
        "SELECT count(*) AS known, max(traceparent) AS traceparent FROM job_trace "
        "WHERE job_id = %(job_id)s",
        job_id=job.id,
    )
    parent = row["traceparent"]
    attributes = {
        "messaging.system": "procrastinate",
        "messaging.operation.type": "process",
        "messaging.message.id": str(job.id),
        "omnifin.job.task": job.task_name,
        "omnifin.job.attempts": job.attempts,
    }
    with tracing.child_of(parent, f"job {job.task_name}", attributes):
        if not row["known"]:
            trace_id = tracing.current_trace_id()
            await connector.execute_query_async(
                "INSERT INTO job_trace (job_id, trace_id) VALUES (%(job_id)s, %(trace_id)s) "
                "ON CONFLICT (job_id) DO NOTHING",
                job_id=job.id,
                trace_id=trace_id,
            )
        return await call_next()
