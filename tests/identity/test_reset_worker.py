"""The password reset request job run by a real procrastinate worker on committed data: the
request only enqueued it; the worker finds the account, writes the link's mail (delivered to a
real SMTP server on loopback by the next job) and audits with the request's origin."""

from __future__ import annotations

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

import lending.identity.tasks  # noqa: F401 - registers the job's task, as the worker does
import lending.mail.tasks  # noqa: F401
from api.worker import TASK_MODULES
from lending.audit.schemas import Origin
from lending.config import Settings
from lending.db import create_sessionmaker, transaction
from lending.identity.password_reset import REQUEST_TASK, password_reset_service
from lending.kv import MemoryStore
from lending.mail.service import DELIVER_TASK
from lending.models.audit import AuditEvent
from lending.models.identity import User
from tests.identity.factories import create_user
from tests.mail.smtp import MailWorker, body_text


def test_the_worker_knows_the_identity_tasks() -> None:
    assert "lending.identity.tasks" in TASK_MODULES


async def test_a_real_worker_mails_the_link_of_a_committed_request(
    engine: AsyncEngine, settings: Settings, mail_worker: MailWorker
) -> None:
    sessionmaker = create_sessionmaker(engine)
    store = MemoryStore()
    origin = Origin(ip="203.0.113.44", request_id="reset-worker-1", user_agent="pytest")
    async with transaction(sessionmaker) as session:
        user = await create_user(session)
    async with transaction(sessionmaker) as session:
        await password_reset_service.request(
            session, store=store, settings=settings, email=f" {user.email.upper()} ", origin=origin
        )
    try:
        inbox = await mail_worker(["mail"])
        [received] = inbox.messages
        assert received["To"] == user.email
        assert str(received["Subject"]) == "Reset your Omnifin password"
        assert "/reset-password?token=" in body_text(received)
        async with sessionmaker() as session:
            [event] = (
                await session.scalars(
                    select(AuditEvent).where(
                        AuditEvent.subject_id == str(user.id),
                        AuditEvent.action == "auth.password_reset_requested",
                    )
                )
            ).all()
            statuses = (
                await session.scalars(
                    text("SELECT status::text FROM procrastinate_jobs WHERE task_name = :task"),
                    {"task": REQUEST_TASK},
                )
            ).all()
        assert event.request_id == "reset-worker-1"
        assert event.ip_digest is not None  # the request's address, kept as the audit keeps it
        assert set(event.details) == {"link_id"}
        assert "succeeded" in statuses
        assert "todo" not in statuses
    finally:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "DELETE FROM procrastinate_jobs WHERE task_name IN (:reset, :deliver) "
                    "AND status IN ('succeeded', 'failed', 'todo')"
                ),
                {"reset": REQUEST_TASK, "deliver": DELIVER_TASK},
            )
            await connection.execute(delete(User).where(User.id == user.id))
        await store.close()
