"""Queries of notifications; every read and write is scoped to the person they belong to."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from lending.models.notifications import Notification


class NotificationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: AsyncSession) -> NotificationRepository:
        return cls(session)

    def add(self, notification: Notification) -> None:
        self.session.add(notification)

    async def list_own(
        self, user_id: uuid.UUID, *, unread_only: bool, limit: int
    ) -> Sequence[Notification]:
        statement = select(Notification).where(Notification.user_id == user_id)
        if unread_only:
            statement = statement.where(Notification.read_at.is_(None))
        statement = statement.order_by(
            Notification.created_at.desc(), Notification.id.desc()
        ).limit(limit)
        return (await self.session.execute(statement)).scalars().all()

    async def unread_count(self, user_id: uuid.UUID) -> int:
        statement = select(func.count()).where(
            Notification.user_id == user_id, Notification.read_at.is_(None)
        )
        return int((await self.session.execute(statement)).scalar_one())

    async def mark_read(
        self, user_id: uuid.UUID, now: datetime, notification_id: uuid.UUID | None = None
    ) -> list[uuid.UUID]:
        """Mark the person's unread notifications (one, or all) read; the ids marked."""
        statement = update(Notification).where(
            Notification.user_id == user_id, Notification.read_at.is_(None)
        )
        if notification_id is not None:
            statement = statement.where(Notification.id == notification_id)
        result = await self.session.execute(
            statement.values(read_at=now).returning(Notification.id)
        )
        return list(result.scalars().all())

    async def exists_own(self, user_id: uuid.UUID, notification_id: uuid.UUID) -> bool:
        statement = select(Notification.id).where(
            Notification.user_id == user_id, Notification.id == notification_id
        )
        return (await self.session.execute(statement)).scalar_one_or_none() is not None

    async def newer_than(
        self, user_id: uuid.UUID, after: uuid.UUID | None, *, limit: int
    ) -> Sequence[Notification] | None:
        """The person's notifications written after their notification `after` (all of them when
        it is None), oldest first; None when `after` is not one of theirs (deleted, or another
        person's)."""
        statement = select(Notification).where(Notification.user_id == user_id)
        if after is not None:
            mark = (
                await self.session.execute(
                    select(Notification.created_at, Notification.id).where(
                        Notification.user_id == user_id, Notification.id == after
                    )
                )
            ).one_or_none()
            if mark is None:
                return None
            statement = statement.where(
                tuple_(Notification.created_at, Notification.id) > tuple_(mark[0], mark[1])
            )
        statement = statement.order_by(Notification.created_at, Notification.id).limit(limit)
        return (await self.session.execute(statement)).scalars().all()

    async def newest_id(self, user_id: uuid.UUID) -> uuid.UUID | None:
        statement = (
            select(Notification.id)
            .where(Notification.user_id == user_id)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(1)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()
