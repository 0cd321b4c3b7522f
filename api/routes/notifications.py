"""A person's in-app notifications (list with the unread count, mark read), their per-kind
preferences, and the one-click unsubscribe link of non-essential mail (no sign-in: RFC 8058)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse

from api.auth import CurrentActor, OriginDep
from api.deps import SessionDep, StateDep
from api.errors import error_responses
from api.ratelimit import rate_limit, rate_limit_anonymous
from lending.errors import InvalidInput, NotAuthenticated, NotFound, RateLimited
from lending.identity.errors import MfaEnrollmentRequired
from lending.notifications.preferences import preference as preference_service
from lending.notifications.preferences import unsubscribe_page
from lending.notifications.schemas import (
    MarkedRead,
    NotificationList,
    PreferenceRead,
    PreferenceUpdate,
    Unsubscribed,
)
from lending.notifications.service import notification as notification_service

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])
signed_in = [rate_limit("default")]


@router.get(
    "",
    summary="Your notifications, newest first, with how many are unread",
    dependencies=signed_in,
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
    dependencies=signed_in,
    responses=error_responses(NotAuthenticated, MfaEnrollmentRequired, NotFound, RateLimited),
)
async def mark_read(
    notification_id: uuid.UUID, actor: CurrentActor, session: SessionDep
) -> MarkedRead:
    return await notification_service.mark_read(session, actor, notification_id=notification_id)


@router.post(
    "/read-all",
    summary="Mark all your notifications read",
    dependencies=signed_in,
    responses=error_responses(NotAuthenticated, MfaEnrollmentRequired, RateLimited),
)
async def mark_all_read(actor: CurrentActor, session: SessionDep) -> MarkedRead:
    return await notification_service.mark_read(session, actor)


@router.get(
    "/preferences",
    summary="How you are told of each kind of notification: e-mail and/or in the app",
    dependencies=signed_in,
    responses=error_responses(NotAuthenticated, MfaEnrollmentRequired, RateLimited),
)
async def list_preferences(actor: CurrentActor, session: SessionDep) -> list[PreferenceRead]:
    return await preference_service.list_own(session, actor)


@router.patch(
    "/preferences/{kind}",
    summary="Choose e-mail and/or in-app for one kind (essential mail cannot be turned off)",
    dependencies=signed_in,
    responses=error_responses(
        NotAuthenticated, MfaEnrollmentRequired, InvalidInput, NotFound, RateLimited
    ),
)
async def update_preference(
    kind: str, body: PreferenceUpdate, actor: CurrentActor, session: SessionDep, origin: OriginDep
) -> PreferenceRead:
    return await preference_service.update_own(session, actor, kind=kind, data=body, origin=origin)


@router.get(
    "/unsubscribe",
    summary="The page an unsubscribe link opens: one button that turns that mail off",
    response_class=HTMLResponse,
    dependencies=[rate_limit_anonymous("auth")],
    responses=error_responses(RateLimited),
)
async def unsubscribe_form(token: Annotated[str, Query(max_length=300)]) -> HTMLResponse:
    return HTMLResponse(unsubscribe_page(token))


@router.post(
    "/unsubscribe",
    summary="Turn off one kind of mail from its signed link (RFC 8058 one-click; no sign-in)",
    dependencies=[rate_limit_anonymous("auth")],
    responses=error_responses(InvalidInput, RateLimited),
)
async def unsubscribe(
    token: Annotated[str, Query(max_length=300)],
    session: SessionDep,
    state: StateDep,
    origin: OriginDep,
    list_unsubscribe: Annotated[str | None, Form(alias="List-Unsubscribe")] = None,
) -> Unsubscribed:
    return await preference_service.unsubscribe(
        session, settings=state.settings, token=token, origin=origin
    )
