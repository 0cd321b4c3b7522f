"""Running deferred jobs inside a test's transaction: the job rows a request wrote are not
committed (the test rolls back), so no worker can see them; a test takes them here and calls the
task's body on its own session, as the worker would have."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def take_waiting_jobs(session: AsyncSession, task_name: str) -> list[dict[str, Any]]:
    """The arguments of the task's waiting jobs, oldest first; the rows are removed so that a
    job is taken once."""
    rows = await session.execute(
        text(
            "DELETE FROM procrastinate_jobs WHERE task_name = :task AND status = 'todo' "
            "RETURNING id, args"
        ),
        {"task": task_name},
    )
    return [args for _, args in sorted(rows.all(), key=lambda row: int(row[0]))]
