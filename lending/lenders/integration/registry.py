"""Which lenders can be reached and how: one `HttpLenderAdapter` per lender, made from the settings.

Where each lender's API and secrets come from (kept simple on purpose; the catalog has no column
for a lender's API today):

- `OMNIFIN_LENDER_API_BASE_URL` is the base of every lender's API; the lender whose catalog slug
  is `slug` is served at `{base}/lenders/{slug}`, which is the layout of `omnifin lender-sim`.
  Unset (the default), no lender is reachable: `get` answers None, the submission job leaves
  submissions `pending` and logs why, and the webhook route refuses every delivery (401).
- Secrets come from `LenderSecrets` (lending/lenders/integration/secrets.py): each lender's own
  webhook secret (`OMNIFIN_LENDER_WEBHOOK_SECRETS`), required whenever the lender has a URL,
  except against the simulator (`OMNIFIN_LENDER_SIMULATOR`), whose lenders share its secrets.
- The callback URL each lender is given is `{OMNIFIN_PUBLIC_URL}/api/v1/lenders/webhooks/{slug}`.

Real lenders will need an API URL of their own (a catalog column); this registry is the one
place that would read it.
"""

from __future__ import annotations

import httpx

from lending.config import Settings
from lending.lenders.integration.http_adapter import (
    HttpLenderAdapter,
    LenderEndpoint,
    LenderHttpPolicy,
)
from lending.lenders.integration.replay import WebhookReplayGuard
from lending.lenders.integration.secrets import LenderSecrets, SettingsLenderSecrets

WEBHOOK_PATH = "/api/v1/lenders/webhooks/{lender_code}"


def callback_url(settings: Settings, lender_code: str) -> str:
    """Our webhook route for a lender, as the lender reaches it."""
    return settings.public_url.rstrip("/") + WEBHOOK_PATH.format(lender_code=lender_code)


def lender_endpoint(
    settings: Settings, lender_code: str, secrets: LenderSecrets | None = None
) -> tuple[LenderEndpoint | None, str]:
    """The lender's endpoint from the settings, or None and the reason it cannot be reached."""
    if settings.lender_api_base_url is None:
        return None, "OMNIFIN_LENDER_API_BASE_URL is not set"
    secrets = secrets or SettingsLenderSecrets(settings)
    request_secret = secrets.request_secret_for(lender_code)
    webhook_secret = secrets.secret_for(lender_code)
    if request_secret is None:
        return None, "OMNIFIN_LENDER_REQUEST_SECRET is not set"
    if webhook_secret is None:
        return None, "the lender has no webhook secret (OMNIFIN_LENDER_WEBHOOK_SECRETS)"
    try:
        endpoint = LenderEndpoint(
            lender_code=lender_code,
            base_url=f"{settings.lender_api_base_url.rstrip('/')}/lenders/{lender_code}",
            callback_url=callback_url(settings, lender_code),
            request_secret=request_secret,
            webhook_secret=webhook_secret,
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
        secrets: LenderSecrets | None = None,
    ) -> None:
        self._settings = settings
        self.secrets: LenderSecrets = secrets or SettingsLenderSecrets(settings)
        self._replay_guard = replay_guard
        self._policy = policy or LenderHttpPolicy.from_settings(settings)
        self._adapters: dict[str, HttpLenderAdapter] = {}
        self._client: httpx.AsyncClient | None = None

    def get(self, lender_code: str) -> tuple[HttpLenderAdapter | None, str]:
        """The lender's adapter, or None and the reason it cannot be reached."""
        adapter = self._adapters.get(lender_code)
        if adapter is not None:
            return adapter, ""
        endpoint, reason = lender_endpoint(self._settings, lender_code, self.secrets)
        if endpoint is None:
            return None, reason
        if self._client is None:
            self._client = httpx.AsyncClient()
        adapter = HttpLenderAdapter(
            endpoint, self._policy, replay_guard=self._replay_guard, client=self._client
        )
        self._adapters[lender_code] = adapter
        return adapter, ""

    def count(self) -> int:
        """How many adapters were made (one per lender reached or verified)."""
        return len(self._adapters)

    async def aclose(self) -> None:
        self._adapters.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
