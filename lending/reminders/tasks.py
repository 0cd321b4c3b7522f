"""The `reminders.scan` periodic job: the scheduled notifications (lending/reminders/service.py)."""

from __future__ import annotations

from lending.db import transaction
from lending.jobs import queue
from lending.jobs.runtime import job_sessionmaker, job_settings
from lending.logs import get_logger
from lending.reminders.service import reminder_service

SCAN_TASK = "reminders.scan"
log = get_logger(__name__)


@queue.periodic(cron="*/15 * * * *", periodic_id="quarter-hourly")
@queue.task(name=SCAN_TASK, queue="maintenance")
async def scan_reminders(timestamp: int) -> None:
    """Write the notifications that came due: expiring offers, missing documents, commission,
    payout batches. Safe to run twice or at once: each event's key is written once."""
    settings = job_settings()
    async with transaction(job_sessionmaker(settings)) as session:
        run = await reminder_service.run_scheduled(session, settings=settings)
    if run.total:
        log.info("scheduled notifications written", count=run.total)
