"""A person's in-app notifications: list (with the unread count), mark one or all read, the
live bell (Server-Sent Events), their per-kind preferences, and the one-click unsubscribe link of
non-essential mail (no sign-in: RFC 8058)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Header, Query
from fastapi.responses import HTMLResponse, StreamingResponse

from api.auth import CurrentActor, OriginDep
from api.deps import SessionDep, StateDep
from api.errors import error_responses
from api.ratelimit import rate_limit, rate_limit_anonymous
from lending.errors import (
    InvalidInput,
    NotAuthenticated,
    NotFound,
    RateLimited,
    ServiceUnavailable,
)
from lending.identity.errors import MfaEnrollmentRequired
from lending.notifications.live import live_events
from lending.notifications.preferences import (
    FROM_PAGE_FIELD,
    FROM_PAGE_VALUE,
    preference_service,
)
from lending.notifications.schemas import (
    MarkedRead,
    NotificationList,
    PreferenceRead,
    PreferenceUpdate,
    Unsubscribed,
)
from lending.notifications.service import notification_service

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
async def unsubscribe_form(
    token: Annotated[str, Query(max_length=300)], session: SessionDep, state: StateDep
) -> HTMLResponse:
    page = await preference_service.unsubscribe_form(session, settings=state.settings, token=token)
    return HTMLResponse(page.body, status_code=page.status_code)


@router.post(
    "/unsubscribe",
    summary="Turn off one kind of mail from its signed link (RFC 8058 one-click; no sign-in)",
    description="A mail client's one-click POST (`List-Unsubscribe=One-Click`) is answered "
    "with JSON. The unsubscribe page's button sends `source=page` and is answered with a page "
    "in the person's language saying what stopped and how to turn it back on.",
    response_model=Unsubscribed,
    dependencies=[rate_limit_anonymous("auth")],
    responses={
        **error_responses(InvalidInput, RateLimited),
        200: {"content": {"text/html": {}}},
    },
)
async def unsubscribe(
    token: Annotated[str, Query(max_length=300)],
    session: SessionDep,
    state: StateDep,
    origin: OriginDep,
    list_unsubscribe: Annotated[str | None, Form(alias="List-Unsubscribe")] = None,
    source: Annotated[str | None, Form(alias=FROM_PAGE_FIELD, max_length=16)] = None,
) -> Unsubscribed | HTMLResponse:
    if source == FROM_PAGE_VALUE:
        page = await preference_service.unsubscribe_from_page(
            session, settings=state.settings, token=token, origin=origin
        )
        return HTMLResponse(page.body, status_code=page.status_code)
    return await preference_service.unsubscribe(
        session, settings=state.settings, token=token, origin=origin
    )


@router.get(
    "/stream",
    summary="Your bell, live: the unread count and each new notification (Server-Sent Events)",
    description='Events: `unread` with `{"unread_count": n}` at the start and whenever it '
    "changes; `notification` with one notification as in the list. Every event's id is a "
    "cursor: reconnect with it as `Last-Event-ID` to receive what was written meanwhile. A "
    "`: keep-alive` comment comes every 15 s; the stream ends after 5 minutes (a setting) so "
    "the client reconnects (and is authenticated again).",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}},
        **error_responses(NotAuthenticated, MfaEnrollmentRequired, RateLimited, ServiceUnavailable),
    },
)
async def stream(
    actor: CurrentActor,
    state: StateDep,
    last_event_id: Annotated[str | None, Header(max_length=64)] = None,
) -> StreamingResponse:
    if state.notification_feed is None or state.sessionmaker is None:
        raise ServiceUnavailable("The live bell is not running in this process.")
    return StreamingResponse(
        live_events(
            state.sessionmaker,
            state.notification_feed,
            actor,
            last_event_id=last_event_id,
            stream_seconds=state.settings.notification_stream_seconds,
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
