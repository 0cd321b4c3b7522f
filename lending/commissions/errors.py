"""The commission services' own errors (their default messages are what a caller sees)."""

from __future__ import annotations

from typing import Any

from lending.errors import Conflict, InvalidInput, PermissionDenied


class GuardRejected(InvalidInput):
    message = "The rule breaks a guard of its jurisdiction."

    def __init__(self, detail: dict[str, Any]) -> None:
        super().__init__(detail)
        self.args = (detail["message"],)


class MakerCheckerRefused(PermissionDenied):
    message = "Maker-checker: the administrator who created a payout batch cannot approve it."


class BatchStateConflict(Conflict):
    message = "The payout batch is not in a state that allows this."
