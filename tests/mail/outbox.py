"""Reading the outbox in tests: run the jobs that put mail into it, deliver a user's newest
message to a real SMTP server on loopback and take the link out of what arrived, as the person
would."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.db import SessionMaker
from lending.identity.password_reset import REQUEST_TASK, password_reset_service
from lending.mail.delivery import deliver
from lending.models.mail import MailMessage
from tests.jobs import take_waiting_jobs
from tests.mail.smtp import body_text, smtp_server


async def messages_of(session: AsyncSession, user_id: uuid.UUID) -> list[MailMessage]:
    rows = await session.execute(
        select(MailMessage)
        .where(MailMessage.user_id == user_id)
        .order_by(MailMessage.created_at, MailMessage.id)
        .execution_options(populate_existing=True)
    )
    return list(rows.scalars().all())


async def run_reset_requests(session: AsyncSession, settings: Settings) -> int:
    """Run the waiting password reset request jobs (lending.identity.tasks) on the test's
    session; how many mailed a link."""
    mailed = 0
    for args in await take_waiting_jobs(session, REQUEST_TASK):
        mailed += await password_reset_service.send_requested_link(
            session, settings=settings, **args
        )
    await session.commit()
    return mailed


async def link_from_mail(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings, user_id: uuid.UUID
) -> tuple[str, str]:
    """Deliver the user's one waiting message over SMTP; (the link's token, the received
    subject)."""
    [message] = [m for m in await messages_of(session, user_id) if m.status == "pending"]
    with smtp_server() as (inbox, port):
        smtp = settings.model_copy(
            update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none"}
        )
        assert await deliver(sessionmaker, smtp, message.id) == "sent"
    [received] = inbox.messages
    assert received["To"] == message.to_address
    found = re.search(r"\?token=([A-Za-z0-9_\-]+)", body_text(received))
    assert found is not None
    return found.group(1), str(received["Subject"])
