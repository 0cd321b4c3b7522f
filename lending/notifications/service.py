"""Notifications: written by the services where the events happen, read by their person.

`notification.application_status_changed` is called by the one place an application's status
changes (lending.applications.service.ApplicationService.move); `notification.document_rejected`
by the one place a document's status changes (lending.documents.service). The person who caused
the event is not told about it. A notification holds what its message is made from (a
reference, statuses, a document type), never typed text; the message is made when it is read.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from lending.errors import NotFound
from lending.identity.actor import Actor
from lending.models.notifications import Notification
from lending.notifications.repository import NotificationRepository
from lending.notifications.schemas import (
    MarkedRead,
    NotificationChanges,
    NotificationList,
    NotificationRead,
)

APPLICATION_STATUS_CHANGED = "application.status_changed"
DOCUMENT_REJECTED = "document.rejected"
_MAX_LIST = 100


def _words(value: object) -> str:
    return str(value).replace("_", " ")


def message_of(notification: Notification) -> str:
    data = notification.data
    if notification.kind == APPLICATION_STATUS_CHANGED:
        return f"Application {data.get('reference')} is now {_words(data.get('to_status'))}."
    if notification.kind == DOCUMENT_REJECTED:
        return (
            f"Your {_words(data.get('document_type'))} for application {data.get('reference')} "
            "was not accepted; open it to see why and upload another."
        )
    return _words(notification.kind)


def _read(notification: Notification) -> NotificationRead:
    return NotificationRead(
        id=notification.id,
        kind=notification.kind,
        message=message_of(notification),
        application_id=notification.application_id,
        document_id=notification.document_id,
        data=notification.data,
        read_at=notification.read_at,
        created_at=notification.created_at,
    )


class NotificationService:
    def _write(
        self,
        session: AsyncSession,
        recipients: Iterable[uuid.UUID | None],
        *,
        caused_by: uuid.UUID | None,
        kind: str,
        application_id: uuid.UUID | None,
        document_id: uuid.UUID | None = None,
        data: dict[str, str],
    ) -> int:
        repository = NotificationRepository.from_session(session)
        people = {person for person in recipients if person is not None and person != caused_by}
        for person in people:
            repository.add(
                Notification(
                    user_id=person,
                    kind=kind,
                    application_id=application_id,
                    document_id=document_id,
                    data=data,
                )
            )
        return len(people)

    def application_status_changed(
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
        return self._write(
            session,
            (borrower_id, broker_id),
            caused_by=caused_by,
            kind=APPLICATION_STATUS_CHANGED,
            application_id=application_id,
            data={"reference": reference, "from_status": from_status, "to_status": to_status},
        )

    def document_rejected(
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
        return self._write(
            session,
            recipients,
            caused_by=caused_by,
            kind=DOCUMENT_REJECTED,
            application_id=application_id,
            document_id=document_id,
            data={"reference": reference or "", "document_type": document_type},
        )

    async def list_own(
        self, session: AsyncSession, actor: Actor, *, unread_only: bool = False, limit: int = 50
    ) -> NotificationList:
        repository = NotificationRepository.from_session(session)
        rows = await repository.list_own(
            actor.user_id, unread_only=unread_only, limit=max(1, min(limit, _MAX_LIST))
        )
        return NotificationList(
            items=[_read(row) for row in rows],
            unread_count=await repository.unread_count(actor.user_id),
        )

    async def mark_read(
        self, session: AsyncSession, actor: Actor, *, notification_id: uuid.UUID | None = None
    ) -> MarkedRead:
        """Mark one of the person's notifications read (NotFound when it is not theirs), or
        all of them when no id is given."""
        repository = NotificationRepository.from_session(session)
        if notification_id is not None and not await repository.exists_own(
            actor.user_id, notification_id
        ):
            raise NotFound("No such notification.")
        marked = await repository.mark_read(actor.user_id, datetime.now(UTC), notification_id)
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
        items = [_read(row) for row in (newer or ())[:_MAX_LIST]]
        return NotificationChanges(
            items=items,
            more=len(newer or ()) > _MAX_LIST,
            unread_count=await repository.unread_count(actor.user_id),
            cursor=items[-1].id if items else await repository.newest_id(actor.user_id),
        )


notification = NotificationService()
