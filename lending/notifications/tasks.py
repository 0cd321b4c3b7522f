"""The `notifications.mail` job: one notification's mail into the outbox (then `mail.deliver`)."""

from __future__ import annotations

import uuid

from lending.db import transaction
from lending.jobs import queue
from lending.jobs.runtime import job_sessionmaker, job_settings
from lending.notifications.service import MAIL_TASK, mail_notification


@queue.task(name=MAIL_TASK, queue="mail", pass_context=False)
async def mail_notification_job(notification_id: str) -> None:
    settings = job_settings()
    async with transaction(job_sessionmaker(settings)) as session:
        await mail_notification(
            session, settings=settings, notification_id=uuid.UUID(notification_id)
        )
