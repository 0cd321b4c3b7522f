"""The outbox delivered over SMTP to a real server on loopback: sent, retried with backoff,
failed for good, and kept in the development mailbox when no server is configured."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.db import SessionMaker
from lending.jobs import PRIORITY_PERSON_WAITING
from lending.mail.delivery import deliver, retry_delay_seconds
from lending.mail.service import DELIVER_TASK, mail_service
from lending.models.mail import MailMessage
from tests.identity.factories import create_user
from tests.mail.smtp import body_html, body_text, free_port, smtp_server


def _smtp(settings: Settings, port: int, **changes: object) -> Settings:
    return settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none", **changes}
    )


async def _queue(session: AsyncSession, settings: Settings, language: str = "en") -> MailMessage:
    user = await create_user(session)
    return await mail_service.queue(
        session,
        settings=settings,
        to_address=user.email,
        kind="password_reset",
        language=language,
        context={"name": "Riley <b>", "link": "http://x.test/reset?token=abc", "minutes": 30},
        user_id=user.id,
    )


async def _jobs(session: AsyncSession, message: MailMessage) -> list[tuple[str, datetime | None]]:
    return [(status, scheduled) for status, scheduled, _ in await _job_rows(session, message)]


async def _job_rows(session: AsyncSession, message: MailMessage) -> list[tuple[Any, ...]]:
    """The message's delivery jobs: status, scheduled_at, priority."""
    rows = await session.execute(
        text(
            "SELECT status::text, scheduled_at, priority FROM procrastinate_jobs "
            "WHERE task_name = :task AND args->>'message_id' = :id ORDER BY id"
        ),
        {"task": DELIVER_TASK, "id": str(message.id)},
    )
    return [tuple(row) for row in rows.all()]


async def test_queued_mail_has_a_job_and_no_clear_content(
    session: AsyncSession, settings: Settings
) -> None:
    message = await _queue(session, settings)
    assert await _jobs(session, message) == [("todo", None)]
    assert b"abc" not in message.content_sealed  # the link's token is sealed
    assert message.status == "pending"


async def test_sent_over_smtp_in_the_recipients_language(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    message = await _queue(session, settings, language="zh")
    await session.commit()
    with smtp_server() as (inbox, port):
        status = await deliver(sessionmaker, _smtp(settings, port), message.id)
    assert status == "sent"
    [received] = inbox.messages
    assert received["To"] == message.to_address
    assert received["Subject"] == "重置您的 Omnifin 密码"
    assert "http://x.test/reset?token=abc" in body_text(received)
    html = body_html(received)
    assert 'href="http://x.test/reset?token=abc"' in html
    assert "Riley &lt;b&gt;" in html  # values are escaped in HTML
    await session.refresh(message)
    assert (message.status, message.attempts) == ("sent", 1)
    # A second run of the same job sends nothing again.
    with smtp_server() as (inbox, port):
        assert await deliver(sessionmaker, _smtp(settings, port), message.id) == "sent"
    assert inbox.messages == []


async def test_a_temporary_failure_is_retried_later_with_a_growing_delay(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    message = await _queue(session, settings)
    await session.commit()
    with smtp_server() as (inbox, port):
        inbox.reply = "451 Try again later"
        before = datetime.now(UTC)
        status = await deliver(sessionmaker, _smtp(settings, port), message.id)
        assert status == "pending"
        await session.refresh(message)
        assert message.attempts == 1
        assert message.last_error is not None
        assert "451" in message.last_error
        retry = (await _jobs(session, message))[-1]
        # The retry keeps its place ahead of queued work, as the first attempt had.
        assert [row[2] for row in await _job_rows(session, message)] == [
            PRIORITY_PERSON_WAITING,
            PRIORITY_PERSON_WAITING,
        ]
        assert retry[0] == "todo"
        assert retry[1] is not None
        assert (retry[1] - before).total_seconds() >= retry_delay_seconds(settings, 1) - 1
        # The server is back: the retry delivers it.
        inbox.reply = "250 OK"
        assert await deliver(sessionmaker, _smtp(settings, port), message.id) == "sent"
    assert len(inbox.messages) == 1
    assert retry_delay_seconds(settings, 2) == 2 * retry_delay_seconds(settings, 1)
    assert retry_delay_seconds(settings, 50) == settings.mail_retry_max_delay_seconds


async def test_an_unreachable_server_fails_after_the_last_attempt(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    message = await _queue(session, settings)
    await session.commit()
    nobody = _smtp(settings, free_port(), mail_max_attempts=2, smtp_timeout_seconds=5)
    assert await deliver(sessionmaker, nobody, message.id) == "pending"
    assert await deliver(sessionmaker, nobody, message.id) == "failed"
    await session.refresh(message)
    assert message.attempts == 2
    assert len(await _jobs(session, message)) == 2  # the first job and one retry, no more


async def test_a_permanent_refusal_fails_at_once(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    message = await _queue(session, settings)
    await session.commit()
    with smtp_server() as (inbox, port):
        inbox.reply = "550 No such mailbox"
        assert await deliver(sessionmaker, _smtp(settings, port), message.id) == "failed"
    await session.refresh(message)
    assert message.attempts == 1
    assert "550" in (message.last_error or "")
    assert len(await _jobs(session, message)) == 1


@pytest.mark.parametrize(
    ("environment", "expected"), [("development", "dev_mailbox"), ("production", "failed")]
)
async def test_without_an_smtp_server(
    session: AsyncSession,
    sessionmaker: SessionMaker,
    settings: Settings,
    environment: str,
    expected: str,
) -> None:
    message = await _queue(session, settings)
    await session.commit()
    # model_copy skips validation: production's required secrets are not the point here.
    configured = settings.model_copy(update={"environment": environment, "smtp_host": None})
    assert await deliver(sessionmaker, configured, message.id) == expected
