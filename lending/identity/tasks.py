"""Background jobs of identity: the mail of a password reset request (lending/identity/
password_reset.py says why the request itself only enqueues it)."""

from __future__ import annotations

from procrastinate import RetryStrategy

from lending.db import transaction
from lending.identity.password_reset import REQUEST_TASK, password_reset_service
from lending.jobs import queue
from lending.jobs.runtime import job_sessionmaker, job_settings

# One transaction per run (lookup, link, outbox row, audit), so a run after a failure (the
# database away for a moment) writes nothing twice; a new link retires the earlier unused one.
_RETRY = RetryStrategy(max_attempts=4, exponential_wait=2)


@queue.task(name=REQUEST_TASK, queue="mail", retry=_RETRY, pass_context=False)
async def password_reset_requested(request: str) -> None:
    settings = job_settings()
    async with transaction(job_sessionmaker(settings)) as session:
        await password_reset_service.send_requested_link(
            session, settings=settings, request=request
        )
