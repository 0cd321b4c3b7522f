"""The one error hierarchy. Services raise these; the API turns each into the error envelope."""

from __future__ import annotations

from typing import Any


class OmnifinError(Exception):
    """Base of every expected failure. `detail` is safe to show to the caller."""

    status_code = 500
    message = "Something went wrong on our side."

    def __init__(self, detail: Any = None, *, headers: dict[str, str] | None = None) -> None:
        self.detail = detail if detail is not None else self.message
        self.headers = headers or {}
        super().__init__(self.detail if isinstance(self.detail, str) else self.message)


class InvalidInput(OmnifinError):
    status_code = 422
    message = "The request is not valid."


class NotAuthenticated(OmnifinError):
    status_code = 401
    message = "Authentication is required."

    def __init__(self, detail: Any = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class PermissionDenied(OmnifinError):
    status_code = 403
    message = "You are not allowed to do this."


class NotFound(OmnifinError):
    status_code = 404
    message = "Not found."


class Conflict(OmnifinError):
    status_code = 409
    message = "The request conflicts with the current state."


class PayloadTooLarge(OmnifinError):
    status_code = 413
    message = "The request body is too large."


class UnsupportedMediaType(OmnifinError):
    status_code = 415
    message = "This type of content is not accepted."


class RateLimited(OmnifinError):
    status_code = 429
    message = "Too many requests; try again later."

    def __init__(self, retry_after_seconds: int, detail: Any = None) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after_seconds)})
        self.retry_after_seconds = retry_after_seconds


class ServiceUnavailable(OmnifinError):
    status_code = 503
    message = "The service is not ready."
