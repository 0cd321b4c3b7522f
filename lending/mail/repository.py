"""Queries of the mail outbox."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.models.mail import MailMessage, MailStatus


class MailRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: AsyncSession) -> MailRepository:
        return cls(session)

    async def add(self, message: MailMessage) -> MailMessage:
        self.session.add(message)
        await self.session.flush()
        return message

    async def get_for_update(self, message_id: uuid.UUID) -> MailMessage | None:
        statement = select(MailMessage).where(MailMessage.id == message_id).with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def list_dev_mailbox(self, limit: int) -> Sequence[MailMessage]:
        statement = (
            select(MailMessage)
            .where(MailMessage.status == MailStatus.DEV_MAILBOX.value)
            .order_by(MailMessage.created_at.desc(), MailMessage.id.desc())
            .limit(limit)
        )
        return (await self.session.execute(statement)).scalars().all()
