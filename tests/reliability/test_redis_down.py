"""With Redis down, the paths that need it fail closed, in the envelope, as 503 + Retry-After
(not a 500): authentication, sign-in (its throttle), rate-limited routes and lenders' webhooks
(replay guard). docs/DECISIONS.md, "Hardening: webhooks and sign-in", lists every path."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from api.app import create_app
from lending.config import Settings
from lending.db import SessionMaker
from lending.kv import RedisStore
from tests.identity.factories import PASSWORD, bearer, create_user, issue_token


async def test_with_redis_down_the_paths_that_need_it_answer_503(
    settings: Settings, sessionmaker: SessionMaker, session: AsyncSession
) -> None:
    user = await create_user(session)
    token = await issue_token(session, user, settings=settings)
    unreachable = RedisStore("redis://127.0.0.1:1/0")  # nothing listens on port 1
    app = create_app(settings, sessionmaker=sessionmaker, store=unreachable)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
        ):
            answers = {
                "me": await client.get("/api/v1/me", headers=bearer(token)),
                "sign-in": await client.post(
                    "/api/v1/auth/token", json={"email": user.email, "password": PASSWORD}
                ),
                "webhook": await client.post("/api/v1/lenders/webhooks/alpha", content=b"{}"),
            }
    finally:
        await unreachable.close()

    for name, response in answers.items():
        assert response.status_code == 503, (name, response.text)
        assert response.json()["error"] == "StoreUnavailable", name
        assert response.json()["request_id"], name
        assert int(response.headers["retry-after"]) >= 1, name
