"""Background jobs of the assistant: checkpoint retention.

Every turn writes LangGraph checkpoints; only the latest is needed to continue a conversation.
The job keeps the latest `agent_checkpoints_kept` per thread and drops all checkpoint state of
threads idle for `agent_thread_ttl_days` (their redacted transcript stays in chat_message). A
thread waiting for an approval is never touched: its pending interrupt lives in the checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass

from procrastinate import JobContext
from sqlalchemy.ext.asyncio import AsyncSession

from lending.jobs import queue
from lending.jobs.runtime import job_settings

PRUNE_TASK = "agents.prune_checkpoints"

# A conversation waiting for an answer keeps its checkpoints: its paused turn resumes from them.
_PROTECTED = (
    "SELECT thread_id::text FROM tool_approval WHERE status = 'pending' AND thread_id IS NOT NULL"
)

_OLD_CHECKPOINTS = f"""
    DELETE FROM checkpoints AS c
    USING (
        SELECT thread_id, checkpoint_ns, checkpoint_id,
               row_number() OVER (
                   PARTITION BY thread_id, checkpoint_ns ORDER BY checkpoint_id DESC
               ) AS position
        FROM checkpoints
    ) AS ranked
    WHERE c.thread_id = ranked.thread_id
      AND c.checkpoint_ns = ranked.checkpoint_ns
      AND c.checkpoint_id = ranked.checkpoint_id
      AND ranked.position > %(keep)s
      AND c.thread_id NOT IN ({_PROTECTED})
    """
_IDLE_THREADS = f"""
    DELETE FROM checkpoints
    WHERE thread_id IN (
        SELECT id::text FROM chat_thread
        WHERE coalesce(last_message_at, created_at) < now() - make_interval(days => %(days)s)
    )
      AND thread_id NOT IN ({_PROTECTED})
    """
_ORPHAN_WRITES = """
    DELETE FROM checkpoint_writes AS w
    WHERE NOT EXISTS (
        SELECT 1 FROM checkpoints AS c
        WHERE c.thread_id = w.thread_id AND c.checkpoint_ns = w.checkpoint_ns
          AND c.checkpoint_id = w.checkpoint_id
    )
    """
# A blob is one channel's value at one version; it is needed while a checkpoint points at it.
_ORPHAN_BLOBS = """
    DELETE FROM checkpoint_blobs AS b
    WHERE NOT EXISTS (
        SELECT 1 FROM checkpoints AS c
        WHERE c.thread_id = b.thread_id AND c.checkpoint_ns = b.checkpoint_ns
          AND c.checkpoint -> 'channel_versions' ->> b.channel = b.version
    )
    """


@dataclass(frozen=True)
class PruneResult:
    checkpoints: int
    writes: int
    blobs: int


async def prune_checkpoints(session: AsyncSession, *, keep: int, ttl_days: int) -> PruneResult:
    """Apply the retention rules in the session's transaction (set-based, one pass)."""
    connection = await session.connection()
    older = await connection.exec_driver_sql(_OLD_CHECKPOINTS, {"keep": keep})
    idle = await connection.exec_driver_sql(_IDLE_THREADS, {"days": ttl_days})
    writes = await connection.exec_driver_sql(_ORPHAN_WRITES)
    blobs = await connection.exec_driver_sql(_ORPHAN_BLOBS)
    return PruneResult(
        checkpoints=older.rowcount + idle.rowcount,
        writes=writes.rowcount,
        blobs=blobs.rowcount,
    )


@queue.periodic(cron="17 * * * *", periodic_id="hourly")
@queue.task(name=PRUNE_TASK, queue="maintenance", pass_context=True)
async def prune_checkpoints_job(context: JobContext, timestamp: int) -> None:
    # On the worker's own connection (the database it serves), one statement at a time: each
    # is idempotent, and the orphan passes tidy whatever an earlier pass left.
    settings = job_settings()
    connector = context.app.connector
    await connector.execute_query_async(_OLD_CHECKPOINTS, keep=settings.agent_checkpoints_kept)
    await connector.execute_query_async(_IDLE_THREADS, days=settings.agent_thread_ttl_days)
    await connector.execute_query_async(_ORPHAN_WRITES)
    await connector.execute_query_async(_ORPHAN_BLOBS)
