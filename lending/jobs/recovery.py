"""Jobs of dead workers: found by their worker's heartbeat, run again, or settled.

procrastinate's workers record a heartbeat (`procrastinate_workers.last_heartbeat`); a worker
killed mid-job (`kill -9`, the OOM killer, a lost machine) leaves its jobs `doing` and, with
them, their locks (a `lock` is held by the `doing` job that carries it), so nothing else for that
document or submission would ever run. Every worker looks, every
`OMNIFIN_WORKER_RECOVERY_INTERVAL_SECONDS`, for `doing` jobs whose worker has been silent longer
than `OMNIFIN_WORKER_STALLED_SECONDS` (or is gone) and puts them back to `todo` with a growing
delay, so a lock never outlives its holder by more than that. The rows are taken with
`FOR UPDATE SKIP LOCKED`, so two workers recovering at once never both retry one job, and a job
a live worker holds is never touched. A job recovered `OMNIFIN_JOB_MAX_RECOVERIES` times (one
that kills its worker each time) fails instead, after the task's settle hook has put what it was
working on into a final state (a document `failed`, a submission `failed`), with the reason.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from lending.db import SessionMaker, transaction
from lending.logs import get_logger

log = get_logger(__name__)

# What a task does to the data of a job given up on: (sessionmaker, the job's args, reason).
SettleHook = Callable[[SessionMaker, dict[str, Any], str], Awaitable[None]]
_settle_hooks: dict[str, SettleHook] = {}

_FIRST_DELAY_SECONDS = 1.0
_MAX_DELAY_SECONDS = 300.0

_STALLED = text(
    "SELECT job.id, job.task_name, job.args, job.attempts FROM procrastinate_jobs job "
    "LEFT JOIN procrastinate_workers worker ON worker.id = job.worker_id "
    "WHERE job.status = 'doing' AND (worker.id IS NULL "
    "OR worker.last_heartbeat < now() - make_interval(secs => :stalled_seconds)) "
    "ORDER BY job.id FOR UPDATE OF job SKIP LOCKED"
)
_RETRY = text("SELECT procrastinate_retry_job_v2(:id, :retry_at, NULL, NULL, NULL)")
_FAIL = text("SELECT procrastinate_finish_job_v1(:id, 'failed', false)")


def settles(task_name: str) -> Callable[[SettleHook], SettleHook]:
    """Register what to do with a job's data when the job is given up on (idempotent)."""

    def register(hook: SettleHook) -> SettleHook:
        _settle_hooks[task_name] = hook
        return hook

    return register


async def settle(
    sessionmaker: SessionMaker, task_name: str, args: dict[str, Any], reason: str
) -> None:
    """Run the task's settle hook, if it has one (also when procrastinate's retries ran out)."""
    hook = _settle_hooks.get(task_name)
    if hook is not None:
        await hook(sessionmaker, args, reason)


def retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=min(_MAX_DELAY_SECONDS, _FIRST_DELAY_SECONDS * 2.0**attempts))


@dataclass
class Recovered:
    retried: list[int]
    failed: list[int]


async def recover_stalled_jobs(
    sessionmaker: SessionMaker, *, stalled_seconds: float, max_recoveries: int
) -> Recovered:
    """Put the jobs of dead workers back in the queue (or fail them after `max_recoveries`)."""
    done = Recovered(retried=[], failed=[])
    async with transaction(sessionmaker) as session:
        stalled = (await session.execute(_STALLED, {"stalled_seconds": stalled_seconds})).all()
        for job_id, task_name, args, attempts in stalled:
            # `attempts` counts the earlier runs of the job (procrastinate's own retries too).
            if attempts >= max_recoveries:
                reason = (
                    f"The work was started {attempts + 1} times and the process running it "
                    "ended each time or failed; it was not tried again."
                )
                await settle(sessionmaker, task_name, dict(args or {}), reason)
                await session.execute(_FAIL, {"id": job_id})
                done.failed.append(job_id)
                log.warning("stalled job failed", job_id=job_id, task=task_name)
                continue
            retry_at = datetime.now(UTC) + retry_delay(attempts)
            await session.execute(_RETRY, {"id": job_id, "retry_at": retry_at})
            done.retried.append(job_id)
            log.warning("stalled job retried", job_id=job_id, task=task_name, attempt=attempts + 1)
    return done
