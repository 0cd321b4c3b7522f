"""Failures of a lender integration, in the one error hierarchy (their `detail` is safe to show)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from lending.errors import Conflict, InvalidInput, OmnifinError

if TYPE_CHECKING:
    from lending.lenders.integration.protocol import LenderWebhookEvent


class LenderError(OmnifinError):
    """The lender's system did not give a usable answer."""

    status_code = 502
    message = "The lender's system did not give a usable answer."

    def __init__(
        self, lender_code: str, detail: str | None = None, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail, headers=headers)
        self.lender_code = lender_code


class LenderUnavailable(LenderError):
    """Worth trying again later: timeouts, connection failures, 5xx and 429 after every retry.

    `retry_after_seconds` says when, when the lender (Retry-After) or the circuit breaker knows.
    """

    status_code = 503
    message = "The lender's system is not available right now; try again later."

    def __init__(
        self,
        lender_code: str,
        detail: str | None = None,
        *,
        retry_after_seconds: float | None = None,
    ) -> None:
        headers = (
            {"Retry-After": str(math.ceil(retry_after_seconds))}
            if retry_after_seconds is not None
            else None
        )
        super().__init__(lender_code, detail, headers=headers)
        self.retry_after_seconds = retry_after_seconds


class LenderCircuitOpen(LenderUnavailable):
    """Refused without calling the lender: it failed repeatedly and is being left alone to recover."""

    message = "The lender's system is failing; calls to it are paused for a short while."


class LenderRequestRejected(LenderError):
    """The lender refused the request itself (a 4xx other than 429): retrying would not help."""

    def __init__(self, lender_code: str, lender_status: int, detail: str | None = None) -> None:
        super().__init__(
            lender_code, detail or f"The lender refused the request (HTTP {lender_status})."
        )
        self.lender_status = lender_status


class LenderProtocolError(LenderError):
    """The lender answered, but not in the shape its API promises."""


class WebhookRejected(OmnifinError):
    """A webhook whose signature or timestamp does not verify. `reason` is for logs only."""

    status_code = 401
    message = "The webhook signature is not valid."

    def __init__(self, lender_code: str, reason: str) -> None:
        super().__init__()
        self.lender_code = lender_code
        self.reason = reason


class InvalidWebhook(InvalidInput):
    """A correctly signed webhook whose body is not an event we understand."""

    message = "The webhook body is not a valid lender event."


class DuplicateWebhook(Conflict):
    """An event already received: the lender is re-delivering it. Acknowledge it; do not act again."""

    message = "This webhook event was already received."

    def __init__(self, event: LenderWebhookEvent) -> None:
        super().__init__()
        self.event = event
