"""What the fuzzer found, kept as plain regression tests (tests/reliability/test_api_fuzz.py).

1. An `offset` past PostgreSQL's bigint (e.g. 83991848121228423553433468928) reached the query
   and failed there: a 500. Every paged list (routes and tools) now refuses it as bad input.
"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.db import SessionMaker
from lending.models.identity import Role
from tests.identity.factories import bearer, create_user, issue_token
from tests.tools.support import context_for
from tools.base import ToolError
from tools.registry import registry

HUGE = 10**28


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/applications",
        "/api/v1/commissions/entries",
        "/api/v1/invitations",
        "/api/v1/knowledge/entries",
        "/api/v1/users",
    ],
)
async def test_an_offset_past_bigint_is_bad_input_not_a_server_error(
    path: str, client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await create_user(session, role=Role.PLATFORM_ADMIN)
    token = await issue_token(session, admin, settings=settings)

    response = await client.get(path, params={"offset": str(HUGE)}, headers=bearer(token))

    assert response.status_code == 422, response.text
    assert response.json()["error"] == "ValidationError"


@pytest.mark.parametrize("tool", ["list_applications", "list_commission_entries"])
async def test_a_tools_offset_past_bigint_is_bad_input(
    tool: str, session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    admin = await create_user(session, role=Role.PLATFORM_ADMIN)
    await session.commit()

    with pytest.raises(ToolError) as raised:
        await registry.execute(tool, {"offset": HUGE}, context_for(admin, sessionmaker, settings))

    assert raised.value.kind == "InvalidInput"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/chat/threads"),
        ("POST", "/api/v1/applications"),
        ("POST", "/api/v1/mfa/disable"),
    ],
)
async def test_a_body_that_is_not_utf8_is_a_validation_error(
    method: str, path: str, client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await create_user(session)
    token = await issue_token(session, user, settings=settings)

    response = await client.request(
        method,
        path,
        content=b'{"purpose": "\xff\xfe"}',
        headers={**bearer(token), "content-type": "application/json"},
    )

    assert response.status_code == 422, response.text
    assert response.json()["error"] == "ValidationError"
    assert response.json()["detail"][0]["loc"] == ["body"]


async def test_a_nul_character_the_database_refuses_is_bad_input(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await create_user(session)

    response = await client.post(
        "/api/v1/auth/token", json={"email": "m\u0086\u0000", "password": "whatever-it-is"}
    )
    other = await client.post(
        "/api/v1/auth/token", json={"email": user.email, "password": "x" * 12}
    )

    assert response.status_code == 422, response.text
    assert response.json()["error"] == "InvalidInput"
    assert other.status_code == 401  # the session was rolled back, the app goes on
