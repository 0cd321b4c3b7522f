"""Delivering one outbox message: over SMTP (aiosmtplib), or into the development mailbox.

`deliver(sessionmaker, settings, message_id)` is what the `mail.deliver` job runs:

1. In one transaction, the message is read (a message no longer pending is left alone, so a job
   that runs twice sends once).
2. Outside any transaction, the message goes to the SMTP server. Without `OMNIFIN_SMTP_HOST`, in
   development and test it is kept for the development mailbox instead; in production it fails
   with the reason (nothing pretends to have sent it).
3. In its own transaction, the outcome: `sent`; or, on a temporary failure (connection refused,
   timeout, a 4xx reply), attempts + 1 and another job after a growing delay
   (`mail_retry_first_delay_seconds` doubling up to `mail_retry_max_delay_seconds`) until
   `mail_max_attempts`, then `failed`; a permanent refusal (a 5xx reply) fails at once.

A crash between the server's acceptance and step 3 sends the message again when the job is
recovered: delivery is at least once, as with any SMTP client.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib

from lending.config import Settings
from lending.db import SessionMaker, transaction
from lending.jobs import PRIORITY_PERSON_WAITING, enqueue
from lending.logs import get_logger
from lending.mail.repository import MailRepository
from lending.mail.service import DELIVER_TASK, open_sealed
from lending.mail.templates import RenderedMail
from lending.models.mail import MailStatus

log = get_logger(__name__)


class PermanentMailError(Exception):
    """The server refused the message for good (a 5xx reply): trying again will not help."""


def retry_delay_seconds(settings: Settings, attempt: int) -> float:
    """How long after failed attempt `attempt` (1-based) the next one runs."""
    delay = settings.mail_retry_first_delay_seconds * 2.0 ** (attempt - 1)
    return float(min(settings.mail_retry_max_delay_seconds, delay))


def build_message(settings: Settings, to_address: str, content: RenderedMail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to_address
    message["Subject"] = content.subject
    message["Message-ID"] = make_msgid(domain="omnifin")
    if content.unsubscribe_url:
        # RFC 8058: a mail client may unsubscribe with one POST to this URL, no sign-in.
        message["List-Unsubscribe"] = f"<{content.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(content.text)
    message.add_alternative(content.html, subtype="html")
    return message


async def send_smtp(settings: Settings, message: EmailMessage) -> None:
    """Hand one message to the configured SMTP server.

    Raises:
        PermanentMailError: a 5xx reply.
        aiosmtplib.SMTPException, OSError: anything temporary (4xx, connection, timeout).
    """
    assert settings.smtp_host is not None
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    try:
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=password,
            use_tls=settings.smtp_security == "tls",
            start_tls=True if settings.smtp_security == "starttls" else False,
            timeout=settings.smtp_timeout_seconds,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [refused.code for refused in exc.recipients]
        if all(code >= 500 for code in codes):
            raise PermanentMailError(f"recipient refused ({', '.join(map(str, codes))})") from exc
        raise
    except aiosmtplib.SMTPResponseException as exc:
        if exc.code >= 500:
            raise PermanentMailError(f"refused by the server ({exc.code})") from exc
        raise


async def deliver(sessionmaker: SessionMaker, settings: Settings, message_id: uuid.UUID) -> str:
    """Deliver one outbox message (see the module's docstring); its status afterwards."""
    async with transaction(sessionmaker) as session:
        message = await MailRepository.from_session(session).get_for_update(message_id)
        if message is None:
            log.warning("mail message not found", message_id=str(message_id))
            return "missing"
        if message.status != MailStatus.PENDING.value:
            return message.status
        if settings.smtp_host is None:
            if settings.environment == "production":
                message.status = MailStatus.FAILED.value
                message.last_error = "No SMTP server is configured (OMNIFIN_SMTP_HOST)."
                log.error("mail not sent: no SMTP server configured", message_id=str(message_id))
            else:
                message.status = MailStatus.DEV_MAILBOX.value
                message.sent_at = datetime.now(UTC)
                log.info("mail kept in the development mailbox", message_id=str(message_id))
            return message.status
        to_address, attempt = message.to_address, message.attempts + 1
        email = build_message(settings, to_address, open_sealed(settings, message))

    error: str | None = None
    permanent = False
    try:
        await send_smtp(settings, email)
    except PermanentMailError as exc:
        error, permanent = str(exc), True
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]

    async with transaction(sessionmaker) as session:
        message = await MailRepository.from_session(session).get_for_update(message_id)
        assert message is not None
        message.attempts = attempt
        if error is None:
            message.status = MailStatus.SENT.value
            message.sent_at = datetime.now(UTC)
            message.last_error = None
            log.info("mail sent", message_id=str(message_id), attempt=attempt)
        elif permanent or attempt >= settings.mail_max_attempts:
            message.status = MailStatus.FAILED.value
            message.last_error = error
            log.error("mail failed", message_id=str(message_id), attempt=attempt, error=error)
        else:
            message.last_error = error
            delay = retry_delay_seconds(settings, attempt)
            await enqueue(
                session,
                DELIVER_TASK,
                args={"message_id": str(message_id)},
                queue_name="mail",
                # A retry is still mail a person may be waiting for (a reset link, a code).
                priority=PRIORITY_PERSON_WAITING,
                scheduled_at=datetime.now(UTC) + timedelta(seconds=delay),
            )
            log.warning(
                "mail delivery will be retried",
                message_id=str(message_id),
                attempt=attempt,
                delay_seconds=delay,
                error=error,
            )
        return message.status
