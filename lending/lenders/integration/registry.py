"""Which lenders can be reached and how: one `HttpLenderAdapter` per lender, made from the settings.

Where each lender's API and secrets come from (kept simple on purpose; the catalog has no column
for a lender's API today):

- `OMNIFIN_LENDER_API_BASE_URL` is the base of every lender's API; the lender whose catalog slug
  is `slug` is served at `{base}/lenders/{slug}`, which is the layout of `omnifin lender-sim`.
  Unset (the default), no lender is reachable: `get` answers None, the submission job leaves
  submissions `pending` and logs why, and the webhook route refuses every delivery (401).
- `OMNIFIN_LENDER_REQUEST_SECRET` signs our requests and `OMNIFIN_LENDER_WEBHOOK_SECRET` verifies
  lenders' webhooks; one pair is shared by every lender, as the simulator's defaults are. Outside
  production an unset secret is the simulator's public development secret, so `make run` works
  against the simulator without configuration; production must set both (else nothing is sent).
- The callback URL each lender is given is `{OMNIFIN_PUBLIC_URL}/api/v1/lenders/webhooks/{slug}`.

Real lenders will need an API URL and secrets of their own (a catalog column and a secrets
store); this registry is the one place that would read them.
"""

from __future__ import annotations

import httpx
from pydantic import SecretStr

from lending.config import Settings
from lending.lenders.integration.http_adapter import (
    HttpLenderAdapter,
    LenderEndpoint,
    LenderHttpPolicy,
)
from lending.lenders.integration.replay import WebhookReplayGuard

WEBHOOK_PATH = "/api/v1/lenders/webhooks/{lender_code}"

# The simulator's public development secrets (simulators/lender/config.py); never used in production.
_DEV_REQUEST_SECRET = SecretStr("lender-sim-request-secret")
_DEV_WEBHOOK_SECRET = SecretStr("lender-sim-webhook-secret")


def callback_url(settings: Settings, lender_code: str) -> str:
    """Our webhook route for a lender, as the lender reaches it."""
    return settings.public_url.rstrip("/") + WEBHOOK_PATH.format(lender_code=lender_code)


def lender_endpoint(settings: Settings, lender_code: str) -> tuple[LenderEndpoint | None, str]:
    """The lender's endpoint from the settings, or None and the reason it cannot be reached."""
    if settings.lender_api_base_url is None:
        return None, "OMNIFIN_LENDER_API_BASE_URL is not set"
    production = settings.environment == "production"
    request_secret = settings.lender_request_secret
    webhook_secret = settings.lender_webhook_secret
    if production and (request_secret is None or webhook_secret is None):
        return None, "OMNIFIN_LENDER_REQUEST_SECRET and OMNIFIN_LENDER_WEBHOOK_SECRET must be set"
    try:
        endpoint = LenderEndpoint(
            lender_code=lender_code,
            base_url=f"{settings.lender_api_base_url.rstrip('/')}/lenders/{lender_code}",
            callback_url=callback_url(settings, lender_code),
            request_secret=request_secret or _DEV_REQUEST_SECRET,
            webhook_secret=webhook_secret or _DEV_WEBHOOK_SECRET,
        )
    except ValueError as exc:  # a slug or URL the endpoint refuses
        return None, f"the lender's endpoint is not valid ({type(exc).__name__})"
    return endpoint, ""


class LenderAdapters:
    """One adapter per lender for the life of the process (its circuit breaker must see every
    call), sharing one HTTP client. Close it when the process stops."""

    def __init__(
        self,
        settings: Settings,
        *,
        replay_guard: WebhookReplayGuard,
        policy: LenderHttpPolicy | None = None,
    ) -> None:
        self._settings = settings
        self._replay_guard = replay_guard
        self._policy = policy or LenderHttpPolicy.from_settings(settings)
        self._adapters: dict[str, HttpLenderAdapter] = {}
        self._client: httpx.AsyncClient | None = None

    def get(self, lender_code: str) -> tuple[HttpLenderAdapter | None, str]:
        """The lender's adapter, or None and the reason it cannot be reached."""
        adapter = self._adapters.get(lender_code)
        if adapter is not None:
            return adapter, ""
        endpoint, reason = lender_endpoint(self._settings, lender_code)
        if endpoint is None:
            return None, reason
        if self._client is None:
            self._client = httpx.AsyncClient()
        adapter = HttpLenderAdapter(
            endpoint, self._policy, replay_guard=self._replay_guard, client=self._client
        )
        self._adapters[lender_code] = adapter
        return adapter, ""

    async def aclose(self) -> None:
        self._adapters.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
