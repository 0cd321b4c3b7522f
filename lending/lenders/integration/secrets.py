"""Each lender's secrets, from one place: `LenderSecrets.secret_for(lender_code)`.

A lender's webhooks are verified with that lender's own secret (`OMNIFIN_LENDER_WEBHOOK_SECRETS`,
a JSON mapping of catalog slug to secret): one lender's secret can never sign another's events.
A lender with an API URL but no webhook secret cannot be reached at all (no submission is sent to
it, its webhooks are refused), in every environment but the simulator's.

The simulator's environment is `OMNIFIN_LENDER_SIMULATOR=true` (`make run`, the tests that start
`omnifin lender-sim`): every simulated lender then shares `OMNIFIN_LENDER_WEBHOOK_SECRET`, or the
simulator's public development secret when that is unset. Production refuses that setting.

A lender with its own secrets in the catalog (rotated there, lending/lenders/integration_service.py)
is verified with those instead (`LenderIntegration.webhook_secrets`); these settings are the
fallback for a lender that has none.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import SecretStr

from lending.config import Settings

# The simulator's public development secrets (simulators/lender/config.py): simulator mode only.
DEV_REQUEST_SECRET = SecretStr("lender-sim-request-secret")
DEV_WEBHOOK_SECRET = SecretStr("lender-sim-webhook-secret")


class LenderSecrets(Protocol):
    def secret_for(self, lender_code: str) -> SecretStr | None:
        """The secret that verifies this lender's webhooks; None: refuse them."""
        ...

    def request_secret_for(self, lender_code: str) -> SecretStr | None:
        """The secret our requests to this lender are signed with; None: send nothing."""
        ...


class SettingsLenderSecrets:
    """Lenders' secrets from the settings (see the module's docstring)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def _simulated(self) -> bool:
        return self._settings.lender_simulator and self._settings.environment != "production"

    def secret_for(self, lender_code: str) -> SecretStr | None:
        own = self._settings.lender_webhook_secrets.get(lender_code)
        if own is not None and own.get_secret_value():
            return own
        if self._simulated():
            return self._settings.lender_webhook_secret or DEV_WEBHOOK_SECRET
        return None

    def request_secret_for(self, lender_code: str) -> SecretStr | None:
        shared = self._settings.lender_request_secret
        if shared is not None and shared.get_secret_value():
            return shared
        return DEV_REQUEST_SECRET if self._simulated() else None
