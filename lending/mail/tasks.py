"""The `mail.deliver` job: one outbox message (lending/mail/delivery.py does the work)."""

from __future__ import annotations

import uuid

from lending.jobs import queue
from lending.jobs.runtime import job_sessionmaker, job_settings
from lending.mail.delivery import deliver
from lending.mail.service import DELIVER_TASK


@queue.task(name=DELIVER_TASK, queue="mail", pass_context=False)
async def deliver_mail(message_id: str) -> None:
    settings = job_settings()
    await deliver(job_sessionmaker(settings), settings, uuid.UUID(message_id))
