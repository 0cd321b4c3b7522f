"""The error envelope `{"error", "detail", "request_id"}` for every 4xx/5xx, validation included."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from psycopg_pool import PoolTimeout
from pydantic import BaseModel
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DataError as DBAPIDataError
from sqlalchemy.exc import TimeoutError as ConnectionPoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from lending import errors
from lending.logs import get_logger

log = get_logger(__name__)
STORE_RETRY_AFTER_SECONDS = 5
BUSY_RETRY_AFTER_SECONDS = 2

_HTTP_ERROR_NAMES = {
    400: "BadRequest",
    401: "NotAuthenticated",
    403: "PermissionDenied",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    422: "InvalidInput",
    429: "RateLimited",
    503: "ServiceUnavailable",
}


class ErrorEnvelope(BaseModel):
    """What every error response carries."""

    error: str
    detail: Any
    request_id: str | None


def envelope(
    status_code: int,
    error: str,
    detail: Any,
    request_id: str | None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = orjson.dumps({"error": error, "detail": detail, "request_id": request_id}, default=str)
    return Response(body, status_code, headers=headers, media_type="application/json")


def _request_id(request: Request) -> str | None:
    value = request.scope.get("state", {}).get("request_id")
    return str(value) if value else None


async def _omnifin_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.OmnifinError)
    return envelope(
        exc.status_code, type(exc).__name__, exc.detail, _request_id(request), exc.headers
    )


# FastAPI's answer to a body it cannot decode at all (e.g. JSON that is not UTF-8): a 400 no
# route documents. Malformed input is a 422 everywhere else; so is this (found by the fuzzer).
_UNPARSABLE_BODY = "There was an error parsing the body"


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == _UNPARSABLE_BODY:
        detail = [
            {
                "loc": ["body"],
                "msg": "The body could not be read (not UTF-8, or not the declared content type).",
                "type": "body_unparsable",
            }
        ]
        return envelope(422, "ValidationError", detail, _request_id(request))
    name = _HTTP_ERROR_NAMES.get(exc.status_code, "HTTPError")
    return envelope(
        exc.status_code, name, exc.detail, _request_id(request), dict(exc.headers or {})
    )


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    detail = [
        {"loc": list(item.get("loc", ())), "msg": item.get("msg"), "type": item.get("type")}
        for item in exc.errors()
    ]
    return envelope(422, "ValidationError", detail, _request_id(request))


async def _store_unavailable(request: Request, exc: Exception) -> Response:
    # Redis (the shared store) is down: whatever needed it (authentication, rate limits, the
    # sign-in throttle, webhook replay) refuses rather than goes on without it (fail closed).
    log.error("shared store unavailable", path=request.url.path, error=type(exc).__name__)
    return envelope(
        503,
        "StoreUnavailable",
        "A service this request needs is unavailable; try again shortly.",
        _request_id(request),
        {"Retry-After": str(STORE_RETRY_AFTER_SECONDS)},
    )


async def _pool_exhausted(request: Request, exc: Exception) -> Response:
    # Every database connection stayed busy for the whole pool timeout: overload, not a fault.
    # A 503 with Retry-After through this handler, not the catch-all: an exception that
    # reaches the server after its response makes uvicorn close the connection, and a client
    # that was reusing it (keep-alive) then fails a request it had already sent (found by
    # benchmarks/bench_load.py: 500s, then read errors on other routes).
    log.warning("database connections exhausted", path=request.url.path, error=type(exc).__name__)
    return envelope(
        503,
        "ServiceUnavailable",
        "The service is busy; try again shortly.",
        _request_id(request),
        {"Retry-After": str(BUSY_RETRY_AFTER_SECONDS)},
    )


async def _data_error(request: Request, exc: Exception) -> Response:
    # A value PostgreSQL refuses as data (a NUL in text, a number past its type): bad input, and
    # the request's transaction is rolled back (found by the fuzzer: it was a 500).
    log.info("value refused by the database", path=request.url.path, error=type(exc).__name__)
    detail = "A value in the request cannot be stored (a NUL character, or a number too large)."
    return envelope(422, "InvalidInput", detail, _request_id(request))


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", path=request.url.path)
    return envelope(500, "InternalError", errors.OmnifinError.message, _request_id(request))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(errors.OmnifinError, _omnifin_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(DBAPIDataError, _data_error)
    app.add_exception_handler(RedisConnectionError, _store_unavailable)
    app.add_exception_handler(RedisTimeoutError, _store_unavailable)
    app.add_exception_handler(ConnectionPoolTimeout, _pool_exhausted)
    app.add_exception_handler(PoolTimeout, _pool_exhausted)
    app.add_exception_handler(Exception, _unexpected_error)


def error_responses(*classes: type[errors.OmnifinError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for the errors a route can return, plus validation."""
    responses: dict[int | str, dict[str, Any]] = {
        422: {"model": ErrorEnvelope, "description": "ValidationError or InvalidInput"}
    }
    for cls in classes:
        entry = responses.setdefault(cls.status_code, {"model": ErrorEnvelope, "description": ""})
        names = [n for n in str(entry["description"]).split(" or ") if n]
        if cls.__name__ not in names:
            names.append(cls.__name__)
        entry["description"] = " or ".join(names)
    return responses
