"""Notifications: written by the services where the events happen, read by their person.

`notification.notify` is the one way in. It writes one row per person (never the person who
caused the event) with the channels their preferences choose for the kind (in the app, by
e-mail): a row not shown in the app still records the event, and one to be mailed is queued for
the `notifications.mail` job in the same transaction. A scheduled event passes an `event_key`,
unique per person: writing it twice (a second run, two workers at once) adds nothing. A row holds
what its words are made from, never typed text; the words are made in the reader's language when
it is read (lending/notifications/kinds.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.errors import NotFound
from lending.identity.actor import Actor
from lending.jobs import enqueue
from lending.mail.service import mail_service
from lending.models.notifications import Notification
from lending.notifications import kinds
from lending.notifications.preferences import label_of, unsubscribe_url
from lending.notifications.repository import NotificationRepository, PreferenceRepository
from lending.notifications.schemas import (
    MarkedRead,
    NotificationChanges,
    NotificationList,
    NotificationRead,
)

# Kept for the callers that name them here.
APPLICATION_STATUS_CHANGED = kinds.APPLICATION_STATUS_CHANGED
DOCUMENT_REJECTED = kinds.DOCUMENT_REJECTED
MAIL_TASK = "notifications.mail"
_MAX_LIST = 100


def message_of(notification: Notification, language: str | None = None) -> str:
    return kinds.words(notification.kind, notification.data, language)[1]


def _read(notification: Notification, language: str | None) -> NotificationRead:
    return NotificationRead(
        id=notification.id,
        kind=notification.kind,
        message=message_of(notification, language),
        application_id=notification.application_id,
        document_id=notification.document_id,
        data=notification.data,
        read_at=notification.read_at,
        created_at=notification.created_at,
    )


class NotificationService:
    async def notify(
        self,
        session: AsyncSession,
        recipients: Iterable[uuid.UUID | None],
        *,
        kind: str,
        data: dict[str, Any],
        caused_by: uuid.UUID | None = None,
        application_id: uuid.UUID | None = None,
        document_id: uuid.UUID | None = None,
        event_key: str | None = None,
    ) -> list[uuid.UUID]:
        """Tell each recipient (not whoever caused it) through the channels they chose for
        `kind`; the ids of the rows written (none for a person already told of `event_key`)."""
        if kind not in kinds.KINDS:
            raise ValueError(f"unknown notification kind {kind!r}")
        people = {person for person in recipients if person is not None and person != caused_by}
        if not people:
            return []
        choices = await PreferenceRepository.from_session(session).channels(people, kind)
        repository = NotificationRepository.from_session(session)
        written: list[uuid.UUID] = []
        for person in sorted(people):
            email, in_app = choices[person]
            if not email and not in_app:
                continue
            notification_id = await repository.insert(
                user_id=person,
                kind=kind,
                application_id=application_id,
                document_id=document_id,
                data=data,
                in_app=in_app,
                email_status="pending" if email else None,
                event_key=event_key,
            )
            if notification_id is None:
                continue  # this person was told of this event already
            written.append(notification_id)
            if email:
                await enqueue(
                    session,
                    MAIL_TASK,
                    args={"notification_id": str(notification_id)},
                    queue_name="mail",
                )
        return written

    async def application_status_changed(
        self,
        session: AsyncSession,
        *,
        application_id: uuid.UUID,
        reference: str,
        borrower_id: uuid.UUID,
        broker_id: uuid.UUID | None,
        from_status: str,
        to_status: str,
        caused_by: uuid.UUID | None,
    ) -> int:
        """Tell the borrower and their broker (not whoever moved it); how many were told."""
        return len(
            await self.notify(
                session,
                (borrower_id, broker_id),
                caused_by=caused_by,
                kind=kinds.APPLICATION_STATUS_CHANGED,
                application_id=application_id,
                data={"reference": reference, "from_status": from_status, "to_status": to_status},
            )
        )

    async def document_rejected(
        self,
        session: AsyncSession,
        *,
        document_id: uuid.UUID,
        document_type: str,
        application_id: uuid.UUID | None,
        reference: str | None,
        recipients: Iterable[uuid.UUID | None],
        caused_by: uuid.UUID | None,
    ) -> int:
        return len(
            await self.notify(
                session,
                recipients,
                caused_by=caused_by,
                kind=kinds.DOCUMENT_REJECTED,
                application_id=application_id,
                document_id=document_id,
                data={"reference": reference or "", "document_type": document_type},
            )
        )

    async def list_own(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        unread_only: bool = False,
        limit: int = 50,
        application_id: uuid.UUID | None = None,
    ) -> NotificationList:
        """The person's notifications shown in the app, newest first, in their language."""
        repository = NotificationRepository.from_session(session)
        rows = await repository.list_own(
            actor.user_id,
            unread_only=unread_only,
            limit=max(1, min(limit, _MAX_LIST)),
            application_id=application_id,
        )
        language = await repository.language_of(actor.user_id)
        return NotificationList(
            items=[_read(row, language) for row in rows],
            unread_count=await repository.unread_count(actor.user_id),
        )

    async def mark_read(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        notification_id: uuid.UUID | None = None,
        notification_ids: Iterable[uuid.UUID] | None = None,
    ) -> MarkedRead:
        """Mark one of the person's notifications read (NotFound when it is not theirs), a set
        of them (those that are theirs), or all of them when no id is given."""
        repository = NotificationRepository.from_session(session)
        if notification_id is not None and not await repository.exists_own(
            actor.user_id, notification_id
        ):
            raise NotFound("No such notification.")
        ids = [notification_id] if notification_id is not None else notification_ids
        marked = await repository.mark_read(
            actor.user_id, datetime.now(UTC), None if ids is None else list(ids)
        )
        return MarkedRead(marked=len(marked))

    async def changes_since(
        self, session: AsyncSession, actor: Actor, *, after: uuid.UUID | None, from_start: bool
    ) -> NotificationChanges:
        """For a live bell: the person's notifications written after their notification `after`
        (with no `after`, all of them when `from_start`, else none; none when `after` is not
        theirs), the unread count, and the newest id as the next cursor."""
        repository = NotificationRepository.from_session(session)
        newer = (
            await repository.newer_than(actor.user_id, after, limit=_MAX_LIST + 1)
            if after is not None or from_start
            else None
        )
        language = await repository.language_of(actor.user_id) if newer else None
        items = [_read(row, language) for row in (newer or ())[:_MAX_LIST]]
        return NotificationChanges(
            items=items,
            more=len(newer or ()) > _MAX_LIST,
            unread_count=await repository.unread_count(actor.user_id),
            cursor=items[-1].id if items else await repository.newest_id(actor.user_id),
        )


notification_service = NotificationService()


async def mail_notification(
    session: AsyncSession, *, settings: Settings, notification_id: uuid.UUID
) -> bool:
    """The `notifications.mail` job's work: put one notification's mail in the outbox, in the
    person's language with its unsubscribe link; once (a retried job finds it queued). Whether a
    message was queued: not for an inactive account, nor when the person turned the kind's
    e-mail off since it was written."""
    repository = NotificationRepository.from_session(session)
    claimed = await repository.claim_mail(notification_id)
    if claimed is None:
        return False
    row, user = claimed
    email, _ = (await PreferenceRepository.from_session(session).channels([user.id], row.kind))[
        user.id
    ]
    if not user.is_active or not email:
        await repository.skip_mail(row.id)
        return False
    subject, message = kinds.words(row.kind, row.data, user.language)
    base = settings.public_url.rstrip("/")
    link = f"{base}/applications/{row.application_id}" if row.application_id else f"{base}/"
    await mail_service.queue(
        session,
        settings=settings,
        to_address=user.email,
        kind="notification",
        language=user.language,
        context={
            "name": user.full_name,
            "subject": subject,
            "message": message,
            "link": link,
            "kind_label": label_of(row.kind, user.language),
            "unsubscribe_url": unsubscribe_url(settings, user.id, row.kind),
        },
        user_id=user.id,
    )
    return True
