"""A person's in-app notifications: list (with the unread count), mark one or all read."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from api.auth import CurrentActor
from api.deps import SessionDep
from api.errors import error_responses
from api.ratelimit import rate_limit
from lending.errors import NotAuthenticated, NotFound, RateLimited
from lending.identity.errors import MfaEnrollmentRequired
from lending.notifications.schemas import MarkedRead, NotificationList
from lending.notifications.service import notification as notification_service

router = APIRouter(
    prefix="/api/v1/notifications",
    tags=["notifications"],
    dependencies=[rate_limit("default")],
)


@router.get(
    "",
    summary="Your notifications, newest first, with how many are unread",
    responses=error_responses(NotAuthenticated, MfaEnrollmentRequired, RateLimited),
)
async def list_notifications(
    actor: CurrentActor,
    session: SessionDep,
    unread_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> NotificationList:
    return await notification_service.list_own(session, actor, unread_only=unread_only, limit=limit)


@router.post(
    "/{notification_id}/read",
    summary="Mark one of your notifications read",
    responses=error_responses(NotAuthenticated, MfaEnrollmentRequired, NotFound, RateLimited),
)
async def mark_read(
    notification_id: uuid.UUID, actor: CurrentActor, session: SessionDep
) -> MarkedRead:
    return await notification_service.mark_read(session, actor, notification_id=notification_id)


@router.post(
    "/read-all",
    summary="Mark all your notifications read",
    responses=error_responses(NotAuthenticated, MfaEnrollmentRequired, RateLimited),
)
async def mark_all_read(actor: CurrentActor, session: SessionDep) -> MarkedRead:
    return await notification_service.mark_read(session, actor)
