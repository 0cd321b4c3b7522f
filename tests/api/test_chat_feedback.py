"""Thumbs on a turn: given once per person and turn (a second changes it), read back with the
thread so the web app shows what the person chose; nobody else's thumbs show."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.models.chat import ChatRun, ChatThread
from lending.models.identity import Role
from tests.identity.factories import bearer, create_organization, create_user, issue_token


async def test_thumbs_are_read_back_with_the_thread(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    firm = await create_organization(session)
    borrower = await create_user(session, organization=firm, role=Role.BORROWER)
    headers = bearer(await issue_token(session, borrower, settings=settings))
    created = await client.post("/api/v1/chat/threads", json={}, headers=headers)
    assert created.status_code == 201, created.text
    thread_id = uuid.UUID(created.json()["id"])
    thread = await session.get(ChatThread, thread_id)
    assert thread is not None
    runs = []
    for _ in range(2):
        run = ChatRun(id=uuid.uuid4(), thread_id=thread_id, status="completed", mode="guided")
        session.add(run)
        runs.append(run)
    await session.flush()
    base = f"/api/v1/chat/threads/{thread_id}"

    assert (await client.get(base, headers=headers)).json()["ratings"] == {}
    up = await client.post(
        f"{base}/runs/{runs[0].id}/feedback", json={"rating": 1}, headers=headers
    )
    assert up.status_code == 201, up.text
    down = await client.post(
        f"{base}/runs/{runs[1].id}/feedback", json={"rating": -1}, headers=headers
    )
    assert down.status_code == 201, down.text
    changed = await client.post(
        f"{base}/runs/{runs[0].id}/feedback",
        json={"rating": -1, "comment": "wrong rate"},
        headers=headers,
    )
    assert changed.status_code == 201
    assert changed.json()["id"] == up.json()["id"]  # the same feedback, changed
    detail = (await client.get(base, headers=headers)).json()
    assert detail["ratings"] == {str(runs[0].id): -1, str(runs[1].id): -1}

    bad = await client.post(
        f"{base}/runs/{runs[1].id}/feedback", json={"rating": 0}, headers=headers
    )
    assert bad.status_code == 422
    assert (await client.get(base, headers=headers)).json()["ratings"][str(runs[1].id)] == -1
