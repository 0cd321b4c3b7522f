"""Background jobs of the lenders domain: delivering a submission to a lender.

Delivery over HTTP (the lender adapter: signed JSON requests, timeouts, retries with backoff,
a circuit breaker, the lender simulator) is built by the lender-integration part of issue 4 on
top of this job. Until then the job records that the submission is pending delivery and sends
nothing; it never makes up a lender's decision. Decisions arrive through
`application.record_lender_decision` (lending/applications/service.py).
"""

from __future__ import annotations

import uuid

from lending.config import Settings, get_settings
from lending.db import (
    SessionMaker,
    create_engine,
    create_sessionmaker,
    resolve_database_url,
    transaction,
)
from lending.jobs import queue
from lending.lenders.service import SUBMIT_TASK
from lending.lenders.service import submission as submission_service
from lending.logs import get_logger

log = get_logger(__name__)

_sessionmaker: SessionMaker | None = None


def _job_sessionmaker(settings: Settings) -> SessionMaker:
    """One small engine per worker process for this domain's jobs, made on first use."""
    global _sessionmaker
    if _sessionmaker is None:
        _sessionmaker = create_sessionmaker(create_engine(settings, resolve_database_url(settings)))
    return _sessionmaker


async def submit_application(sessionmaker: SessionMaker, *, submission_id: uuid.UUID) -> str | None:
    """Take one submission up for delivery; returns its status afterwards (None if it is gone).

    Today that means queued → pending: the HTTP delivery to the lender is not built yet (see
    the module docstring), so the submission waits, visibly, for the lender adapter.
    """
    async with transaction(sessionmaker) as session:
        row = await submission_service.mark_pending(session, submission_id=submission_id)
        if row is None:
            return None
        status = row.status.value
    log.info(
        "lender submission pending delivery (lender adapter not built yet)",
        submission_id=str(submission_id),
        status=status,
    )
    return status


@queue.task(name=SUBMIT_TASK, retry=5, pass_context=False)
async def submit_application_job(submission_id: str) -> None:
    await submit_application(
        _job_sessionmaker(get_settings()), submission_id=uuid.UUID(submission_id)
    )
