"""The background-job worker: names every layer's task modules and runs them on the job queue.

The worker, not `lending`, knows which modules declare tasks (they live in `lending`, `knowledge`
and `agents`), so the lowest layer never names the ones above it. `omnifin worker` and
`omnifin serve` (its in-process worker) both start here.
"""

from __future__ import annotations

import importlib

import procrastinate

from lending import tracing
from lending.jobs.runtime import dispose_job_engines
from lending.jobs.traces import trace_job

# Modules whose import registers tasks (and periodic tasks) on `lending.jobs.queue`.
TASK_MODULES: tuple[str, ...] = (
    "knowledge.tasks",
    "lending.lenders.tasks",
    "lending.documents.tasks",
    "lending.commissions.tasks",
    "lending.analytics.tasks",
    "agents.tasks",
)


def register_tasks() -> None:
    """Import every task module, so the worker knows every task a job may name."""
    for module in TASK_MODULES:
        importlib.import_module(module)


async def run_job_worker(
    app: procrastinate.App, *, concurrency: int, install_signal_handlers: bool = True
) -> None:
    """Run a worker on an open job app until it is stopped, then close the tasks' engines."""
    register_tasks()
    tracing.configure_tracing(service_name="omnifin-worker")  # a no-op when already on or off
    try:
        await app.run_worker_async(
            concurrency=concurrency,
            install_signal_handlers=install_signal_handlers,
            worker_middleware=[trace_job] if tracing.enabled() else [],
        )
    finally:
        tracing.flush()
        await dispose_job_engines()
