"""Background jobs of commissions: accrual when an application is funded, the clawback of a
discharge or refinance, and the monthly trail (a periodic job on the 1st for the month before).

Each runs in one transaction of its own and is idempotent (the ledger's unique key and the
statements' "already in the ledger" checks), so a job run twice after a crash writes nothing new.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from procrastinate import RetryStrategy

from lending.commissions.accrual import accrual_service
from lending.commissions.common import ACCRUE_FUNDED_TASK, CLAWBACK_TASK, TRAIL_TASK
from lending.commissions.servicing import servicing_service
from lending.db import SessionMaker, transaction
from lending.jobs import queue
from lending.jobs.runtime import job_sessionmaker
from lending.logs import get_logger

log = get_logger(__name__)

# A failure (the database away for a moment) is tried again after 2, 4, 8, 16 s; each job is
# one idempotent transaction, so a run after a crash writes nothing twice.
_RETRY = RetryStrategy(max_attempts=5, exponential_wait=2)


def previous_month(today: date) -> date:
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


async def accrue_funded(sessionmaker: SessionMaker, *, application_id: uuid.UUID) -> int:
    async with transaction(sessionmaker) as session:
        run = await accrual_service.accrue_funded(session, application_id=application_id)
    log.info("commission accrued", application_id=str(application_id), entries=run.entries_written)
    return run.entries_written


async def claw_back(sessionmaker: SessionMaker, *, servicing_event_id: int) -> int:
    async with transaction(sessionmaker) as session:
        written = await servicing_service.claw_back(session, servicing_event_id=servicing_event_id)
    log.info("commission clawed back", servicing_event_id=servicing_event_id, entries=written)
    return written


async def accrue_trail(sessionmaker: SessionMaker, *, month: date) -> int:
    async with transaction(sessionmaker) as session:
        run = await accrual_service.accrue_trail(session, month=month)
    log.info("trail accrued", month=run.month, entries=run.entries_written)
    return run.entries_written


@queue.task(name=ACCRUE_FUNDED_TASK, retry=_RETRY, pass_context=False)
async def accrue_funded_job(application_id: str) -> None:
    await accrue_funded(job_sessionmaker(), application_id=uuid.UUID(application_id))


@queue.task(name=CLAWBACK_TASK, retry=_RETRY, pass_context=False)
async def claw_back_job(servicing_event_id: int) -> None:
    await claw_back(job_sessionmaker(), servicing_event_id=servicing_event_id)


@queue.periodic(cron="0 2 1 * *", periodic_id="monthly")
@queue.task(name=TRAIL_TASK, queue="maintenance", retry=_RETRY, pass_context=False)
async def accrue_trail_job(timestamp: int) -> None:
    # The run on the 1st accrues the month that just ended.
    month = previous_month(datetime.fromtimestamp(timestamp, UTC).date())
    await accrue_trail(job_sessionmaker(), month=month)
