"""Each lender's secrets, from one place: `LenderSecrets`.

A lender's webhooks are verified with that lender's own secret (`OMNIFIN_LENDER_WEBHOOK_SECRETS`,
a JSON mapping of catalog slug to secret): one lender's secret can never sign another's events.
Our requests to a lender are signed with that lender's own request secret
(`OMNIFIN_LENDER_REQUEST_SECRETS`), so a lender never sees a signature another lender could make.
A lender with an API URL but no secret of either kind cannot be reached at all (no submission is
sent to it, its webhooks are refused, and the reason names the missing setting), in every
environment but the simulator's. There is no shared fallback outside it.

A request secret is rotated with an overlap window: the new secret goes into
`OMNIFIN_LENDER_REQUEST_SECRETS` and the old one into `OMNIFIN_LENDER_PREVIOUS_REQUEST_SECRETS`
with the end of the window; until then each request carries both signatures (two `v1=` entries,
lending/lenders/integration/signing.py), so the lender may switch to the new secret at any moment
in the window, and after it only the new one is sent.

The simulator's environment is `OMNIFIN_LENDER_SIMULATOR=true` (`make run`, the tests that start
`omnifin lender-sim`): a simulated lender without a secret of its own then shares
`OMNIFIN_LENDER_REQUEST_SECRET` / `OMNIFIN_LENDER_WEBHOOK_SECRET`, or the simulator's public
development secrets when those are unset. Production refuses that setting, and the shared request
secret is refused without it.

A lender with its own webhook secrets in the catalog (rotated there,
lending/lenders/integration_service.py) is verified with those instead
(`LenderIntegration.webhook_secrets`); these settings are the fallback for a lender that has none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from pydantic import SecretStr

from lending.config import Settings

# The simulator's public development secrets (simulators/lender/config.py): simulator mode only.
DEV_REQUEST_SECRET = SecretStr("lender-sim-request-secret")
DEV_WEBHOOK_SECRET = SecretStr("lender-sim-webhook-secret")


@dataclass(frozen=True, slots=True)
class RequestSecrets:
    """What a lender's requests are signed with: the current secret, and during a rotation's
    overlap window (until `previous_until`) the previous one as well."""

    current: SecretStr
    previous: SecretStr | None = None
    previous_until: datetime | None = None

    def signing(self, now: datetime) -> tuple[SecretStr, ...]:
        """The secrets a request made at `now` carries a signature with, current first."""
        if (
            self.previous is None
            or self.previous_until is None
            or now >= self.previous_until
            or self.previous.get_secret_value() == self.current.get_secret_value()
        ):
            return (self.current,)
        return (self.current, self.previous)


class LenderSecrets(Protocol):
    def secret_for(self, lender_code: str) -> SecretStr | None:
        """The secret that verifies this lender's webhooks; None: refuse them."""
        ...

    def request_secrets_for(self, lender_code: str) -> RequestSecrets:
        """The secrets our requests to this lender are signed with: its current one, and a
        rotation's previous one with the end of its overlap window.

        Raises:
            LenderSecretMissing: the lender has none (a configuration error, never a fallback).
        """
        ...


class LenderSecretMissing(ValueError):
    """A lender's secret is not configured: nothing is sent to it. The message names the
    setting to fill in (and never holds a secret)."""


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

    def request_secrets_for(self, lender_code: str) -> RequestSecrets:
        own = self._settings.lender_request_secrets.get(lender_code)
        if own is not None and own.get_secret_value():
            previous = self._settings.lender_previous_request_secrets.get(lender_code)
            if previous is not None and previous.secret.get_secret_value():
                return RequestSecrets(own, previous.secret, previous.until)
            return RequestSecrets(own)
        if self._simulated():
            shared = self._settings.lender_request_secret
            if shared is not None and shared.get_secret_value():
                return RequestSecrets(shared)
            return RequestSecrets(DEV_REQUEST_SECRET)
        raise LenderSecretMissing(
            f"lender {lender_code!r} has no request-signing secret: set its entry in "
            "OMNIFIN_LENDER_REQUEST_SECRETS (the shared OMNIFIN_LENDER_REQUEST_SECRET is the "
            "simulator's only)"
        )
