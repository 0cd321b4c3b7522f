"""The background-job worker: names every layer's task modules and runs them on the job queue.

The worker, not `lending`, knows which modules declare tasks (they live in `lending`, `knowledge`
and `agents`), so the lowest layer never names the ones above it. `omnifin worker` and
`omnifin serve` (its in-process worker) both start here.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib

import procrastinate

from lending import tracing
from lending.config import Settings
from lending.error_reporting import configure_error_reporting
from lending.jobs.recovery import recover_stalled_jobs
from lending.jobs.runtime import dispose_job_engines, job_sessionmaker, job_settings
from lending.jobs.traces import trace_job
from lending.logs import get_logger

log = get_logger(__name__)

# Modules whose import registers tasks (and periodic tasks) on `lending.jobs.queue`.
TASK_MODULES: tuple[str, ...] = (
    "knowledge.tasks",
    "lending.lenders.tasks",
    "lending.documents.tasks",
    "lending.commissions.tasks",
    "lending.privacy.tasks",
    "lending.analytics.tasks",
    "lending.mail.tasks",
    "lending.notifications.tasks",
    "lending.reminders.tasks",
    "lending.identity.tasks",
    "agents.tasks",
    "evals.tasks",
)


def register_tasks() -> None:
    """Import every task module, so the worker knows every task a job may name."""
    for module in TASK_MODULES:
        importlib.import_module(module)


async def recover_periodically(settings: Settings) -> None:
    """Take up the jobs of dead workers now and every recovery interval (lending.jobs.recovery)."""
    while True:
        try:
            await recover_stalled_jobs(
                job_sessionmaker(settings),
                stalled_seconds=settings.worker_stalled_seconds,
                max_recoveries=settings.job_max_recoveries,
            )
        except Exception:  # the database away for a moment: the next round tries again
            log.exception("stalled job recovery failed")
        await asyncio.sleep(settings.worker_recovery_interval_seconds)


def _warm_up_extraction() -> None:
    from lending.documents.extraction.isolation import warm_up

    warm_up()


async def run_job_worker(
    app: procrastinate.App, *, concurrency: int, install_signal_handlers: bool = True
) -> None:
    """Run a worker on an open job app until it is stopped, then close the tasks' engines.
    Beside it: the recovery of dead workers' jobs, and the start of the extraction fork server
    (so the first document does not wait for it)."""
    register_tasks()
    settings = job_settings()
    helpers = [
        asyncio.create_task(recover_periodically(settings), name="omnifin-job-recovery"),
        asyncio.create_task(asyncio.to_thread(_warm_up_extraction), name="omnifin-warm-up"),
    ]
    tracing.configure_tracing(service_name="omnifin-worker")  # a no-op when already on or off
    configure_error_reporting(settings, service_name="omnifin-worker")  # off without a DSN
    try:
        await app.run_worker_async(
            concurrency=concurrency,
            install_signal_handlers=install_signal_handlers,
            update_heartbeat_interval=settings.worker_heartbeat_seconds,
            stalled_worker_timeout=settings.worker_stalled_seconds,
            worker_middleware=[trace_job] if tracing.enabled() else [],
        )
    finally:
        tracing.flush()
        for helper in helpers:
            helper.cancel()
        for helper in helpers:
            with contextlib.suppress(BaseException):
                await helper
        await dispose_job_engines()
