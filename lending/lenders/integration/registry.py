"""Which lenders can be reached and how: one `HttpLenderAdapter` per lender, made from the settings.

Where each lender's API and secrets come from (kept simple on purpose; the catalog has no column
for a lender's API today):

- `OMNIFIN_LENDER_API_BASE_URL` is the base of every lender's API; the lender whose catalog slug
  is `slug` is served at `{base}/lenders/{slug}`, which is the layout of `omnifin lender-sim`.
  Unset (the default), no lender is reachable: `get` answers None, the submission job leaves
  submissions `pending` and logs why, and the webhook route refuses every delivery (401).
- Secrets come from `LenderSecrets` (lending/lenders/integration/secrets.py): each lender's own
  webhook secret (`OMNIFIN_LENDER_WEBHOOK_SECRETS`) and request-signing secret
  (`OMNIFIN_LENDER_REQUEST_SECRETS`, rotated with an overlap window), both required whenever the
  lender has a URL, except against the simulator (`OMNIFIN_LENDER_SIMULATOR`), whose lenders
  share its secrets.
- The callback URL each lender is given is `{OMNIFIN_PUBLIC_URL}/api/v1/lenders/webhooks/{slug}`.

Per lender (issue 17), the catalog's integration settings override this: a `LenderIntegration`
(from `lending.lenders.integration_service.integration_for`) says which adapter (`simulator`:
the layout above; `http`: the lender's own API base; `none`: not reachable) and carries the
lender's own webhook secrets (current first, then any still in their grace period after a
rotation), which replace what `LenderSecrets` gives for that lender.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from pydantic import SecretStr

from lending.config import Settings
from lending.lenders.integration.http_adapter import (
    HttpLenderAdapter,
    LenderEndpoint,
    LenderHttpPolicy,
)
from lending.lenders.integration.replay import WebhookReplayGuard
from lending.lenders.integration.secrets import (
    LenderSecretMissing,
    LenderSecrets,
    SettingsLenderSecrets,
)
from lending.models.lenders import IntegrationAdapter

WEBHOOK_PATH = "/api/v1/lenders/webhooks/{lender_code}"


def callback_url(settings: Settings, lender_code: str) -> str:
    """Our webhook route for a lender, as the lender reaches it."""
    return settings.public_url.rstrip("/") + WEBHOOK_PATH.format(lender_code=lender_code)


@dataclass(frozen=True, slots=True)
class LenderIntegration:
    """A lender's integration settings from the catalog (hashable: adapters are cached by it)."""

    adapter: IntegrationAdapter
    base_url: str | None = None
    # The lender's own webhook secrets, current first; empty: `LenderSecrets` decides.
    webhook_secrets: tuple[SecretStr, ...] = ()


def lender_endpoint(
    settings: Settings,
    lender_code: str,
    integration: LenderIntegration | None = None,
    secrets: LenderSecrets | None = None,
) -> tuple[LenderEndpoint | None, str]:
    """The lender's endpoint from the settings and its catalog integration settings, or None
    and the reason it cannot be reached."""
    adapter = integration.adapter if integration else IntegrationAdapter.SIMULATOR
    if adapter is IntegrationAdapter.NONE:
        return None, "the lender's integration is off in the catalog"
    if adapter is IntegrationAdapter.HTTP and integration and integration.base_url:
        base_url = integration.base_url.rstrip("/")
    elif settings.lender_api_base_url is None:
        return None, "OMNIFIN_LENDER_API_BASE_URL is not set"
    else:
        base_url = f"{settings.lender_api_base_url.rstrip('/')}/lenders/{lender_code}"
    secrets = secrets or SettingsLenderSecrets(settings)
    own = integration.webhook_secrets if integration else ()
    try:
        request_secrets = secrets.request_secrets_for(lender_code)
    except LenderSecretMissing as exc:
        return None, str(exc)
    webhook_secret = own[0] if own else secrets.secret_for(lender_code)
    if webhook_secret is None:
        return None, "the lender has no webhook secret (OMNIFIN_LENDER_WEBHOOK_SECRETS)"
    try:
        endpoint = LenderEndpoint(
            lender_code=lender_code,
            base_url=base_url,
            callback_url=callback_url(settings, lender_code),
            request_secret=request_secrets.current,
            previous_request_secret=request_secrets.previous,
            previous_request_secret_until=request_secrets.previous_until,
            webhook_secret=webhook_secret,
            previous_webhook_secrets=own[1:],
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
        self._adapters: dict[tuple[str, LenderIntegration | None], HttpLenderAdapter] = {}
        self._client: httpx.AsyncClient | None = None

    def get(
        self, lender_code: str, integration: LenderIntegration | None = None
    ) -> tuple[HttpLenderAdapter | None, str]:
        """The lender's adapter, or None and the reason it cannot be reached. With the
        lender's catalog `integration` (None: the settings alone); a change of it makes a new
        adapter, with a fresh circuit breaker."""
        key = (lender_code, integration)
        adapter = self._adapters.get(key)
        if adapter is not None:
            return adapter, ""
        endpoint, reason = lender_endpoint(self._settings, lender_code, integration, self.secrets)
        if endpoint is None:
            return None, reason
        if self._client is None:
            self._client = httpx.AsyncClient()
        adapter = HttpLenderAdapter(
            endpoint, self._policy, replay_guard=self._replay_guard, client=self._client
        )
        for stale in [k for k in self._adapters if k[0] == lender_code]:
            del self._adapters[stale]
        self._adapters[key] = adapter
        return adapter, ""

    def count(self) -> int:
        """How many adapters were made (one per lender reached or verified)."""
        return len(self._adapters)

    async def aclose(self) -> None:
        self._adapters.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
