"""The rollups' refresh: every five minutes, concurrently (readers are never blocked)."""

from __future__ import annotations

from lending.analytics.service import REFRESH_TASK, analytics_service
from lending.db import transaction
from lending.jobs import queue
from lending.jobs.runtime import job_sessionmaker
from lending.logs import get_logger

log = get_logger(__name__)


@queue.periodic(cron="*/5 * * * *", periodic_id="analytics")
@queue.task(name=REFRESH_TASK, queue="maintenance", queueing_lock=REFRESH_TASK, pass_context=False)
async def refresh_rollups(timestamp: int) -> None:
    async with transaction(job_sessionmaker()) as session:
        await analytics_service.refresh(session)
    log.info("analytics rollups refreshed")
