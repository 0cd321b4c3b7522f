"""Background jobs on procrastinate, in the same PostgreSQL as the data they concern.

Tasks are declared with `@queue.task(name=...)` in each domain's `tasks.py`; the worker, not this
package, names those modules (`api.worker.TASK_MODULES`), so `lending` never names the layers
above it. Enqueue with `enqueue(session, ...)`: the job row is written in the caller's
transaction, so a job exists exactly when the data it concerns was committed. A task reaches the
database through `lending.jobs.runtime` (one engine per worker process and database URL).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import orjson
import procrastinate
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from lending import tracing
from lending.config import Settings, get_settings
from lending.db import connection_arguments, libpq_url

# Mail a person is waiting for (a reset link, a confirmation) is fetched before background work
# queued earlier (a knowledge ingest, a sweep): procrastinate takes the highest priority first,
# then the oldest. It does not stop a running job; it only jumps the queue.
PRIORITY_PERSON_WAITING = 10

# The tasks register themselves on this app when their module is imported (by the worker).
queue = procrastinate.App(connector=procrastinate.PsycopgConnector())


@contextlib.asynccontextmanager
async def open_queue(
    database_url: str, *, settings: Settings | None = None, max_size: int = 4
) -> AsyncIterator[procrastinate.App]:
    """The job app connected to a database for the duration of the block. Its connections get
    what the app's engine's get (`lending.db.connection_arguments`: connect timeout, statement
    and idle-in-transaction timeouts) from the same settings (the process's when none given),
    and a wait for a free connection is bounded like a request's."""
    settings = settings or get_settings()
    connector = procrastinate.PsycopgConnector(
        conninfo=libpq_url(database_url),
        kwargs=connection_arguments(settings),
        min_size=1,
        max_size=max_size,
        timeout=settings.database_pool_timeout_seconds,
    )
    with queue.replace_connector(connector) as app:
        async with app.open_async():
            yield app


_DEFER = text(
    "SELECT (procrastinate_defer_jobs_v1(ARRAY[ROW(:queue_name, :task_name, :priority, :lock, "
    ":queueing_lock, CAST(:args AS jsonb), :scheduled_at)::procrastinate_job_to_defer_v1]))[1]"
)


async def enqueue(
    session: AsyncSession,
    task_name: str,
    *,
    args: dict[str, Any] | None = None,
    queue_name: str = "default",
    priority: int = 0,
    lock: str | None = None,
    queueing_lock: str | None = None,
    scheduled_at: datetime | None = None,
) -> int:
    """Write a job in the session's transaction and return its id.

    Args:
        session: the caller's session; the job commits or rolls back with its transaction.
        task_name: the `name=` a task was registered with.
        args: JSON-serialisable keyword arguments for the task.
        queue_name: the procrastinate queue.
        priority: higher runs first.
        lock: jobs sharing a lock run one at a time, in order.
        queueing_lock: at most one waiting job per value (a second enqueue raises).
        scheduled_at: run no earlier than this.
    """
    result = await session.execute(
        _DEFER,
        {
            "queue_name": queue_name,
            "task_name": task_name,
            "priority": priority,
            "lock": lock,
            "queueing_lock": queueing_lock,
            "args": orjson.dumps(args or {}).decode(),
            "scheduled_at": scheduled_at,
        },
    )
    job_id: int = result.scalar_one()
    if tracing.enabled():  # the job continues this trace (lending.jobs.traces)
        from lending.jobs.traces import record_enqueued

        await record_enqueued(session, job_id)
    return job_id


async def queue_depth(session: AsyncSession) -> dict[str, int]:
    """Jobs waiting or running, by status, for metrics."""
    rows = await session.execute(
        text(
            "SELECT status::text, count(*) FROM procrastinate_jobs "
            "WHERE status IN ('todo', 'doing') GROUP BY status"
        )
    )
    depth = {"todo": 0, "doing": 0}
    depth.update({status: int(count) for status, count in rows.all()})
    return depth
