"""Daily jobs: retention (lending.privacy.retention) and, when OMNIFIN_BACKUP_DIR is set, a
backup of the embedded default (lending.backups) keeping the newest OMNIFIN_BACKUP_KEEP."""

from __future__ import annotations

import asyncio

from lending.db import resolve_database_url, transaction
from lending.jobs import queue
from lending.jobs.runtime import job_sessionmaker, job_settings
from lending.logs import get_logger

log = get_logger(__name__)

RETENTION_TASK = "privacy.enforce_retention"
BACKUP_TASK = "backups.nightly"


@queue.periodic(cron="23 3 * * *", periodic_id="daily")
@queue.task(name=RETENTION_TASK, queue="maintenance")
async def enforce_retention_daily(timestamp: int) -> None:
    from lending.privacy.retention import enforce_retention

    settings = job_settings()
    async with transaction(job_sessionmaker(settings)) as session:
        report = await enforce_retention(session, settings)
    log.info("retention enforced", removed=report.removed, files=report.files_destroyed)


@queue.periodic(cron="7 2 * * *", periodic_id="daily")
@queue.task(name=BACKUP_TASK, queue="maintenance")
async def nightly_backup(timestamp: int) -> None:
    from lending.backups.archive import create_backup, prune

    settings = job_settings()
    if settings.backup_dir is None:
        log.info("nightly backup skipped: OMNIFIN_BACKUP_DIR is not set")
        return
    url = resolve_database_url(settings)
    result = await asyncio.to_thread(create_backup, settings, url, settings.backup_dir)
    removed = await asyncio.to_thread(prune, settings.backup_dir, settings.backup_keep)
    log.info(
        "backup written",
        path=str(result.path),
        size_bytes=result.size_bytes,
        documents=result.documents,
        pruned=len(removed),
    )
