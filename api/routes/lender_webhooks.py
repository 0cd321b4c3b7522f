"""Lenders' webhooks: `POST /api/v1/lenders/webhooks/{lender_code}`.

Called by lenders, not users: no bearer token, the HMAC signature is the authentication (see
`lending.lenders.integration`). A bad or missing signature, or a lender we cannot verify (no
lender API configured, an unknown code), is a 401 and logged; a duplicate delivery is a 200 and
nothing is done again. What a verified event means (a decision, a loan's servicing report) is
`lending.lenders.webhooks`; a reference that is not a loan this lender funded is a 404.

If processing fails the event's replay key is released before the error answer, so the lender's
re-delivery is processed.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel

from api.auth import app_state
from api.errors import error_responses
from api.state import AppState
from lending.errors import Conflict, InvalidInput, NotFound
from lending.lenders.integration.errors import DuplicateWebhook, InvalidWebhook, WebhookRejected
from lending.lenders.integration.registry import LenderAdapters
from lending.lenders.integration.replay import StoreReplayGuard
from lending.lenders.integration_service import integration as lender_integration
from lending.lenders.webhooks import record_lender_event
from lending.logs import get_logger

log = get_logger(__name__)

router = APIRouter(prefix="/api/v1/lenders/webhooks", tags=["lenders"])

_ADAPTERS_KEY = "lender_adapters"


class WebhookAnswer(BaseModel):
    status: Literal["processed", "duplicate"]


def lender_adapters(state: AppState) -> LenderAdapters:
    """The app's lender adapters, made on first use (webhook replay keys on the shared store)."""
    adapters = state.extras.get(_ADAPTERS_KEY)
    if not isinstance(adapters, LenderAdapters):
        assert state.store is not None, "lifespan not started"
        adapters = LenderAdapters(state.settings, replay_guard=StoreReplayGuard(state.store))
        state.extras[_ADAPTERS_KEY] = adapters
    return adapters


@router.post(
    "/{lender_code}",
    summary="A lender's webhook: decisions and loan servicing events (HMAC-signed)",
    responses=error_responses(WebhookRejected, InvalidWebhook, NotFound, Conflict, InvalidInput),
)
async def receive_lender_webhook(lender_code: str, request: Request) -> WebhookAnswer:
    state = app_state(request)
    body = await request.body()
    assert state.sessionmaker is not None, "lifespan not started"
    async with state.sessionmaker() as session:  # the lender's own secrets, if it has any
        integration = await lender_integration.integration_for(
            session, settings=state.settings, lender_code=lender_code
        )
    adapter, reason = lender_adapters(state).get(lender_code, integration)
    if adapter is None:
        log.warning("lender_webhook_rejected", lender_code=lender_code[:64], reason=reason)
        raise WebhookRejected(lender_code, reason)
    try:
        event = await adapter.verify_webhook(request.headers, body)
    except DuplicateWebhook:
        return WebhookAnswer(status="duplicate")
    try:
        assert state.sessionmaker is not None, "lifespan not started"
        if not await record_lender_event(state.sessionmaker, event):
            return WebhookAnswer(status="duplicate")
    except BaseException:
        await adapter.release_webhook(event)
        log.warning(
            "lender_webhook_failed",
            lender_code=lender_code,
            event_id=event.event_id,
            event_type=event.event_type,
            subject=event.subject,
        )
        raise
    return WebhookAnswer(status="processed")
