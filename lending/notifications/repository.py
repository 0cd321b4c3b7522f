"""Queries of notifications and preferences; every read and write is scoped to one person."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from lending.models.base import new_id
from lending.models.identity import User
from lending.models.notifications import Notification, NotificationPreference
from lending.notifications import kinds


class NotificationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: AsyncSession) -> NotificationRepository:
        return cls(session)

    async def insert(
        self,
        *,
        user_id: uuid.UUID,
        kind: str,
        application_id: uuid.UUID | None,
        document_id: uuid.UUID | None,
        data: dict[str, Any],
        in_app: bool,
        email_status: str | None,
        event_key: str | None,
    ) -> uuid.UUID | None:
        """Write one notification; None when the person already has one for `event_key` (the
        unique index decides, so two writers at once cannot both write it)."""
        statement = (
            insert(Notification)
            .values(
                id=new_id(),
                user_id=user_id,
                kind=kind,
                application_id=application_id,
                document_id=document_id,
                data=data,
                in_app=in_app,
                email_status=email_status,
                event_key=event_key,
            )
            .on_conflict_do_nothing(
                index_elements=["user_id", "event_key"],
                index_where=text("event_key IS NOT NULL"),
            )
            .returning(Notification.id)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def list_own(
        self,
        user_id: uuid.UUID,
        *,
        unread_only: bool,
        limit: int,
        application_id: uuid.UUID | None = None,
    ) -> Sequence[Notification]:
        statement = select(Notification).where(
            Notification.user_id == user_id, Notification.in_app.is_(True)
        )
        if unread_only:
            statement = statement.where(Notification.read_at.is_(None))
        if application_id is not None:
            statement = statement.where(Notification.application_id == application_id)
        statement = statement.order_by(
            Notification.created_at.desc(), Notification.id.desc()
        ).limit(limit)
        return (await self.session.execute(statement)).scalars().all()

    async def unread_count(self, user_id: uuid.UUID) -> int:
        statement = select(func.count()).where(
            Notification.user_id == user_id,
            Notification.read_at.is_(None),
            Notification.in_app.is_(True),
        )
        return int((await self.session.execute(statement)).scalar_one())

    async def language_of(self, user_id: uuid.UUID) -> str | None:
        return await self.session.scalar(select(User.language).where(User.id == user_id))

    async def mark_read(
        self, user_id: uuid.UUID, now: datetime, notification_ids: list[uuid.UUID] | None = None
    ) -> list[uuid.UUID]:
        """Mark the person's unread notifications (these, or all) read; the ids marked."""
        statement = update(Notification).where(
            Notification.user_id == user_id, Notification.read_at.is_(None)
        )
        if notification_ids is not None:
            statement = statement.where(Notification.id.in_(notification_ids))
        result = await self.session.execute(
            statement.values(read_at=now).returning(Notification.id)
        )
        return list(result.scalars().all())

    async def exists_own(self, user_id: uuid.UUID, notification_id: uuid.UUID) -> bool:
        statement = select(Notification.id).where(
            Notification.user_id == user_id, Notification.id == notification_id
        )
        return (await self.session.execute(statement)).scalar_one_or_none() is not None

    async def claim_mail(self, notification_id: uuid.UUID) -> tuple[Notification, User] | None:
        """Move a notification's mail from pending to queued and return it with its person;
        None when it was queued already (a retried job) or is not to be mailed."""
        claimed = await self.session.execute(
            update(Notification)
            .where(Notification.id == notification_id, Notification.email_status == "pending")
            .values(email_status="queued")
            .returning(Notification.id)
        )
        if claimed.scalar_one_or_none() is None:
            return None
        row = (
            await self.session.execute(
                select(Notification, User)
                .join(User, User.id == Notification.user_id)
                .where(Notification.id == notification_id)
            )
        ).one()
        return row[0], row[1]

    async def skip_mail(self, notification_id: uuid.UUID) -> None:
        await self.session.execute(
            update(Notification)
            .where(Notification.id == notification_id)
            .values(email_status="skipped")
        )

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


class PreferenceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: AsyncSession) -> PreferenceRepository:
        return cls(session)

    async def own(self, user_id: uuid.UUID) -> dict[str, NotificationPreference]:
        rows = await self.session.execute(
            select(NotificationPreference).where(NotificationPreference.user_id == user_id)
        )
        return {row.kind: row for row in rows.scalars()}

    async def channels(
        self, user_ids: Iterable[uuid.UUID], kind: str
    ) -> dict[uuid.UUID, tuple[bool, bool]]:
        """(email, in_app) for each person for `kind`: their choice, else the kind's default."""
        ids = list(user_ids)
        default = kinds.KINDS[kind]
        chosen = {
            row.user_id: (row.email, row.in_app)
            for row in (
                await self.session.execute(
                    select(NotificationPreference).where(
                        NotificationPreference.user_id.in_(ids),
                        NotificationPreference.kind == kind,
                    )
                )
            ).scalars()
        }
        return {person: chosen.get(person, (default.email, default.in_app)) for person in ids}

    async def put(self, user_id: uuid.UUID, kind: str, *, email: bool, in_app: bool) -> None:
        statement = insert(NotificationPreference).values(
            user_id=user_id, kind=kind, email=email, in_app=in_app, updated_at=func.now()
        )
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["user_id", "kind"],
                set_={"email": email, "in_app": in_app, "updated_at": func.now()},
            )
        )

    async def turn_off_email(self, user_id: uuid.UUID, kind: str) -> None:
        """Unsubscribe: e-mail off for the kind, the in-app choice kept (or its default)."""
        in_app = kinds.KINDS[kind].in_app
        statement = insert(NotificationPreference).values(
            user_id=user_id, kind=kind, email=False, in_app=in_app, updated_at=func.now()
        )
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["user_id", "kind"],
                set_={"email": False, "updated_at": func.now()},
            )
        )
