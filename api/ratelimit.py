"""Per-role, per-route-group rate limits on the shared store's sliding window; 429 + Retry-After.

Limits come from `settings.rate_limits[group][role]` per `settings.rate_limit_window_seconds`
('anonymous' for unauthenticated callers, '*' for roles not listed; a group that is not
configured uses 'default'; no entry at all means no limit). Authenticated callers are counted
per user, anonymous ones per IP.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request, Response

from api.auth import TokenActor, app_state
from lending.config import Settings
from lending.errors import RateLimited
from lending.kv import Store

ANONYMOUS = "anonymous"


def limit_for(settings: Settings, group: str, role: str) -> int | None:
    limits = settings.rate_limits.get(group) or settings.rate_limits.get("default") or {}
    return limits.get(role, limits.get("*"))


async def _enforce(
    store: Store, settings: Settings, response: Response, group: str, role: str, subject: str
) -> None:
    limit = limit_for(settings, group, role)
    if limit is None:
        return
    decision = await store.hit(
        f"ratelimit:{group}:{subject}", limit, settings.rate_limit_window_seconds
    )
    if not decision.allowed:
        raise RateLimited(
            decision.retry_after_seconds,
            f"Too many requests; try again in {decision.retry_after_seconds} s.",
        )
    response.headers["RateLimit-Limit"] = str(limit)
    response.headers["RateLimit-Remaining"] = str(decision.remaining)


def rate_limit(group: str) -> Any:
    """A route dependency limiting authenticated callers by user id and role."""

    async def limit_actor(actor: TokenActor, request: Request, response: Response) -> None:
        state = app_state(request)
        assert state.store is not None, "lifespan not started"
        subject = f"user:{actor.user_id}"
        await _enforce(state.store, state.settings, response, group, actor.role.value, subject)

    return Depends(limit_actor)


def rate_limit_anonymous(group: str) -> Any:
    """A route dependency limiting callers by IP (sign-in, registration)."""

    async def limit_ip(request: Request, response: Response) -> None:
        state = app_state(request)
        assert state.store is not None, "lifespan not started"
        ip = request.client.host if request.client else "unknown"
        await _enforce(state.store, state.settings, response, group, ANONYMOUS, f"ip:{ip}")

    return Depends(limit_ip)
