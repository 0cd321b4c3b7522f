"""The `mail.deliver` job run by a real procrastinate worker on committed data: the message
written with its event is picked up and handed to a real SMTP server on loopback."""

from __future__ import annotations

from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncEngine

import lending.mail.tasks  # noqa: F401 - registers the job's task, as the worker does
from api.worker import TASK_MODULES
from lending.config import Settings
from lending.db import create_sessionmaker, transaction
from lending.mail.service import DELIVER_TASK, mail_service
from lending.models.identity import User
from lending.models.mail import MailMessage
from tests.identity.factories import create_user
from tests.mail.smtp import MailWorker, body_text


def test_the_worker_knows_the_mail_tasks() -> None:
    assert "lending.mail.tasks" in TASK_MODULES


async def test_a_real_worker_delivers_a_committed_message(
    engine: AsyncEngine, settings: Settings, mail_worker: MailWorker
) -> None:
    sessionmaker = create_sessionmaker(engine)
    async with transaction(sessionmaker) as session:
        user = await create_user(session)
        message = await mail_service.queue(
            session,
            settings=settings,
            to_address=user.email,
            kind="email_verification",
            language="en",
            context={"name": "Riley", "link": "http://x.test/verify-email?token=t1", "hours": 72},
            user_id=user.id,
        )
    try:
        inbox = await mail_worker(["mail"])
        [received] = inbox.messages
        assert received["To"] == user.email
        assert "http://x.test/verify-email?token=t1" in body_text(received)
        async with sessionmaker() as session:
            stored = await session.get(MailMessage, message.id)
            job_status = await session.scalar(
                text(
                    "SELECT status::text FROM procrastinate_jobs "
                    "WHERE task_name = :task AND args->>'message_id' = :id"
                ),
                {"task": DELIVER_TASK, "id": str(message.id)},
            )
        assert stored is not None
        assert stored.status == "sent"
        assert job_status == "succeeded"
    finally:
        async with engine.begin() as connection:
            await connection.execute(
                text("DELETE FROM procrastinate_jobs WHERE args->>'message_id' = :id"),
                {"id": str(message.id)},
            )
            await connection.execute(delete(User).where(User.id == user.id))
