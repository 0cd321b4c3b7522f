"""The mail outbox: queue a message in the caller's transaction; read the development mailbox.

`mail.queue(...)` renders the message in the recipient's language, seals its content (it carries
single-use links whose tokens are stored nowhere else in clear), writes the outbox row and
enqueues the `mail.deliver` job in the same transaction: a message exists exactly when the event
that caused it was committed, and a rolled-back event sends nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from lending import crypto
from lending.config import Settings
from lending.errors import NotFound
from lending.jobs import PRIORITY_PERSON_WAITING, enqueue
from lending.mail.repository import MailRepository
from lending.mail.schemas import DevMailboxMessage
from lending.mail.templates import ESSENTIAL_KINDS, RenderedMail, language_of, render
from lending.models.base import new_id
from lending.models.mail import MailMessage, MailStatus

DELIVER_TASK = "mail.deliver"
_DEV_MAILBOX_LIMIT = 50


def _associated_data(message_id: uuid.UUID) -> bytes:
    # Binds the sealed content to its row: copied to another message, it does not open.
    return f"mail:{message_id}".encode()


def seal(settings: Settings, message_id: uuid.UUID, content: RenderedMail) -> bytes:
    plain = orjson.dumps(
        {
            "subject": content.subject,
            "text": content.text,
            "html": content.html,
            "unsubscribe_url": content.unsubscribe_url,
        }
    )
    return crypto.encryptor(settings).encrypt(plain, _associated_data(message_id))


def open_sealed(settings: Settings, message: MailMessage) -> RenderedMail:
    plain = crypto.encryptor(settings).decrypt(message.content_sealed, _associated_data(message.id))
    data = orjson.loads(plain)
    return RenderedMail(
        subject=data["subject"],
        text=data["text"],
        html=data["html"],
        unsubscribe_url=data.get("unsubscribe_url"),  # absent in messages sealed before 0024
    )


class MailService:
    async def queue(
        self,
        session: AsyncSession,
        *,
        settings: Settings,
        to_address: str,
        kind: str,
        language: str | None,
        context: dict[str, Any],
        user_id: uuid.UUID | None = None,
    ) -> MailMessage:
        """Write one message to the outbox and its delivery job, in the caller's transaction."""
        lang = language_of(language)
        if kind not in ESSENTIAL_KINDS and not context.get("unsubscribe_url"):
            raise ValueError(f"non-essential mail {kind!r} needs an unsubscribe link")
        content = render(kind, lang, context)
        message_id = new_id()
        message = await MailRepository.from_session(session).add(
            MailMessage(
                id=message_id,
                user_id=user_id,
                to_address=to_address,
                kind=kind,
                language=lang,
                content_sealed=seal(settings, message_id, content),
                status=MailStatus.PENDING.value,
                attempts=0,
            )
        )
        await enqueue(
            session,
            DELIVER_TASK,
            args={"message_id": str(message_id)},
            queue_name="mail",
            priority=PRIORITY_PERSON_WAITING,
        )
        return message

    async def dev_mailbox(
        self, session: AsyncSession, *, settings: Settings
    ) -> list[DevMailboxMessage]:
        """The newest messages kept in the development mailbox (no SMTP server configured).
        Only in the development environment: anywhere else it does not exist (NotFound)."""
        if settings.environment != "development":
            raise NotFound("The development mailbox exists only in development.")
        messages = await MailRepository.from_session(session).list_dev_mailbox(_DEV_MAILBOX_LIMIT)
        shown = []
        for message in messages:
            content = open_sealed(settings, message)
            shown.append(
                DevMailboxMessage(
                    id=message.id,
                    to_address=message.to_address,
                    kind=message.kind,
                    language=message.language,
                    subject=content.subject,
                    text=content.text,
                    html=content.html,
                    created_at=message.created_at,
                )
            )
        return shown


mail_service = MailService()
