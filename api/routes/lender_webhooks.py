"""Lenders' webhooks: `POST /api/v1/lenders/webhooks/{lender_code}`.

Called by lenders, not users: no bearer token, the HMAC signature is the authentication (see
`lending.lenders.integration`), checked with that lender's own secret (`LenderSecrets.secret_for`)
before anything else is made or read: no adapter, no JSON parsing for an unsigned request (its
only write is its row in the webhook history). A bad or missing signature, or a lender we cannot
verify (no secret for it, no lender API configured), is a 401 and logged; a duplicate delivery
is a 200 and nothing is done again. Callers are rate-limited per address
(`rate_limits["lender_webhooks"]`). What a verified event means (a
decision, a loan's servicing report) is `lending.lenders.webhooks`; a reference that is not a
loan this lender funded is a 404.

If processing fails the event's replay key is released before the error answer, so the lender's
re-delivery is processed.

Every request with a well-formed lender code is recorded in the webhook history
(`lending.lenders.webhook_history`) with its outcome, after the answer is decided.
"""

from __future__ import annotations

import re
import time
from typing import Literal

import httpx
from fastapi import APIRouter, Request
from pydantic import BaseModel, SecretStr

from api.auth import app_state
from api.errors import error_responses
from api.ratelimit import rate_limit_anonymous
from api.state import AppState
from lending.errors import Conflict, InvalidInput, NotFound, RateLimited
from lending.lenders.integration.errors import DuplicateWebhook, InvalidWebhook, WebhookRejected
from lending.lenders.integration.protocol import LenderWebhookEvent
from lending.lenders.integration.registry import LenderAdapters, LenderIntegration, callback_url
from lending.lenders.integration.replay import StoreReplayGuard
from lending.lenders.integration.signing import SIGNATURE_HEADER, SignatureError, verify
from lending.lenders.integration_service import integration_service
from lending.lenders.webhook_history import webhook_history_service
from lending.lenders.webhooks import record_lender_event
from lending.logs import get_logger
from lending.models.lenders import WebhookOutcome

log = get_logger(__name__)

router = APIRouter(prefix="/api/v1/lenders/webhooks", tags=["lenders"])

_ADAPTERS_KEY = "lender_adapters"
# A catalog slug, as LenderEndpoint accepts it; anything else has no secret to look up.
_LENDER_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


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


def _check_signature(
    state: AppState,
    adapters: LenderAdapters,
    lender_code: str,
    request: Request,
    body: bytes,
    integration: LenderIntegration | None,
) -> None:
    """Refuse (401) unless the request is signed with this lender's own secret, for this path:
    the catalog's secrets (the current one, then any still in its grace period after a rotation)
    when the lender has its own, else what `LenderSecrets` gives."""
    reason = ""
    secrets: tuple[SecretStr, ...] = ()
    if _LENDER_CODE.match(lender_code):
        if integration is not None and integration.webhook_secrets:
            secrets = integration.webhook_secrets
        elif (shared := adapters.secrets.secret_for(lender_code)) is not None:
            secrets = (shared,)
    if not secrets:
        reason = "no webhook secret for this lender code"
    path = httpx.URL(callback_url(state.settings, lender_code)).raw_path.decode("ascii")
    for secret in secrets:
        try:
            verify(
                secret,
                request.headers.get(SIGNATURE_HEADER),
                "POST",
                path,
                body,
                now=time.time(),
                tolerance_seconds=state.settings.lender_signature_tolerance_seconds,
            )
        except SignatureError as exc:
            reason = str(exc)
        else:
            reason = ""
            break
    if reason:
        log.warning("lender_webhook_rejected", lender_code=lender_code[:64], reason=reason)
        raise WebhookRejected(lender_code[:64], reason)


@router.post(
    "/{lender_code}",
    summary="A lender's webhook: decisions and loan servicing events (HMAC-signed)",
    dependencies=[rate_limit_anonymous("lender_webhooks")],
    responses=error_responses(
        WebhookRejected, InvalidWebhook, NotFound, Conflict, InvalidInput, RateLimited
    ),
)
async def receive_lender_webhook(lender_code: str, request: Request) -> WebhookAnswer:
    state = app_state(request)
    body = await request.body()
    adapters = lender_adapters(state)
    integration = None
    if _LENDER_CODE.match(lender_code):
        assert state.sessionmaker is not None, "lifespan not started"
        async with state.sessionmaker() as session:  # the lender's own secrets, if it has any
            integration = await integration_service.integration_for(
                session, settings=state.settings, lender_code=lender_code
            )
    assert state.sessionmaker is not None, "lifespan not started"
    history = state.sessionmaker if _LENDER_CODE.match(lender_code) else None

    async def record(
        outcome: WebhookOutcome,
        *,
        signature_ok: bool,
        reason: str | None = None,
        event: LenderWebhookEvent | None = None,
    ) -> None:
        if history is not None:
            await webhook_history_service.record(
                history,
                lender_code=lender_code,
                outcome=outcome,
                signature_ok=signature_ok,
                reason=reason,
                event=event,
            )

    try:
        _check_signature(state, adapters, lender_code, request, body, integration)
    except WebhookRejected as rejected:
        await record(WebhookOutcome.REJECTED, signature_ok=False, reason=rejected.reason)
        raise
    adapter, reason = adapters.get(lender_code, integration)
    if adapter is None:
        log.warning("lender_webhook_rejected", lender_code=lender_code[:64], reason=reason)
        await record(WebhookOutcome.REJECTED, signature_ok=True, reason=reason)
        raise WebhookRejected(lender_code, reason)
    try:
        event = await adapter.verify_webhook(request.headers, body)
    except DuplicateWebhook:
        await record(WebhookOutcome.DUPLICATE, signature_ok=True)
        return WebhookAnswer(status="duplicate")
    except InvalidWebhook as invalid:
        await record(WebhookOutcome.INVALID, signature_ok=True, reason=invalid.message)
        raise
    except WebhookRejected as rejected:
        await record(WebhookOutcome.REJECTED, signature_ok=False, reason=rejected.reason)
        raise
    try:
        if not await record_lender_event(state.sessionmaker, event):
            await record(WebhookOutcome.DUPLICATE, signature_ok=True, event=event)
            return WebhookAnswer(status="duplicate")
    except BaseException as failed:
        await adapter.release_webhook(event)
        await record(
            WebhookOutcome.FAILED, signature_ok=True, event=event, reason=type(failed).__name__
        )
        log.warning(
            "lender_webhook_failed",
            lender_code=lender_code,
            event_id=event.event_id,
            event_type=event.event_type,
            subject=event.subject,
        )
        raise
    await record(WebhookOutcome.PROCESSED, signature_ok=True, event=event)
    return WebhookAnswer(status="processed")
