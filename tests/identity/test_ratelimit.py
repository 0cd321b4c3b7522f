"""Per-role, per-route-group rate limits: 429 with Retry-After and the envelope, then recovery."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.db import SessionMaker
from lending.kv import Store
from lending.models.identity import Role
from tests.identity.factories import (
    PASSWORD,
    api_client,
    bearer,
    create_organization,
    create_user,
    issue_token,
)

WINDOW_SECONDS = 1.0


def _limited(settings: Settings, limits: dict[str, dict[str, int]]) -> Settings:
    return settings.model_copy(
        update={"rate_limits": limits, "rate_limit_window_seconds": WINDOW_SECONDS}
    )


async def test_a_role_over_its_limit_gets_429_then_recovers(
    settings: Settings, sessionmaker: SessionMaker, session: AsyncSession, store: Store
) -> None:
    borrower = await create_user(session)
    token = await issue_token(session, borrower, settings=settings)
    limits = _limited(settings, {"default": {"borrower": 2, "*": 100}})

    async with api_client(limits, sessionmaker, store) as client:
        allowed = [await client.get("/api/v1/me", headers=bearer(token)) for _ in range(2)]
        refused = await client.get("/api/v1/me", headers=bearer(token))
        await asyncio.sleep(WINDOW_SECONDS + 0.2)
        recovered = await client.get("/api/v1/me", headers=bearer(token))

    assert [response.status_code for response in allowed] == [200, 200]
    assert allowed[0].headers["ratelimit-limit"] == "2"
    assert allowed[1].headers["ratelimit-remaining"] == "0"
    assert refused.status_code == 429
    assert refused.json()["error"] == "RateLimited"
    assert refused.json()["request_id"]
    assert 1 <= int(refused.headers["retry-after"]) <= 2
    assert recovered.status_code == 200


async def test_limits_are_per_role_and_per_user(
    settings: Settings, sessionmaker: SessionMaker, session: AsyncSession, store: Store
) -> None:
    firm = await create_organization(session)
    borrower = await create_user(session, organization=firm)
    other_borrower = await create_user(session, organization=firm)
    broker = await create_user(session, organization=firm, role=Role.BROKER)
    tokens = {
        user.id: await issue_token(session, user, settings=settings)
        for user in (borrower, other_borrower, broker)
    }
    limits = _limited(settings, {"default": {"borrower": 1, "broker": 3}})

    async with api_client(limits, sessionmaker, store) as client:

        async def statuses(user_id: uuid.UUID, times: int) -> list[int]:
            token = tokens[user_id]
            return [
                (await client.get("/api/v1/me", headers=bearer(token))).status_code
                for _ in range(times)
            ]

        assert await statuses(borrower.id, 2) == [200, 429]
        assert await statuses(other_borrower.id, 1) == [200]
        assert await statuses(broker.id, 4) == [200, 200, 200, 429]


async def test_sign_in_is_limited_per_ip_before_any_password_check(
    settings: Settings, sessionmaker: SessionMaker, session: AsyncSession, store: Store
) -> None:
    user = await create_user(session)
    limits = _limited(settings, {"auth": {"anonymous": 2}, "default": {"*": 100}})
    body = {"email": user.email, "password": PASSWORD}

    async with api_client(limits, sessionmaker, store) as client:
        statuses = [
            (await client.post("/api/v1/auth/token", json=body)).status_code for _ in range(3)
        ]
        await asyncio.sleep(WINDOW_SECONDS + 0.2)
        recovered = await client.post("/api/v1/auth/token", json=body)

    assert statuses == [200, 200, 429]
    assert recovered.status_code == 200


async def test_a_group_without_a_limit_for_a_role_is_unlimited(
    settings: Settings, sessionmaker: SessionMaker, session: AsyncSession, store: Store
) -> None:
    user = await create_user(session)
    token = await issue_token(session, user, settings=settings)
    limits = _limited(settings, {"default": {"broker": 1}})

    async with api_client(limits, sessionmaker, store) as client:
        statuses = {
            (await client.get("/api/v1/me", headers=bearer(token))).status_code for _ in range(5)
        }

    assert statuses == {200}
