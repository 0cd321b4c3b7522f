"""Bearer tokens: issued by sign-in, opaque and stored hashed, listed, revoked, expiring."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.db import SessionMaker
from lending.kv import MemoryStore
from lending.models.identity import AccessToken, Role
from tests.identity.factories import (
    PASSWORD,
    api_client,
    bearer,
    create_organization,
    create_user,
    issue_token,
)


async def _login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    response = await client.post("/api/v1/auth/token", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def test_sign_in_issues_an_opaque_token_stored_only_as_its_hash(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await create_user(session, email="Reader@Example.com")

    response = await client.post(
        "/api/v1/auth/token", json={"email": "reader@example.com", "password": PASSWORD}
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["access_token"].startswith("omf_")
    assert datetime.fromisoformat(body["expires_at"]) > datetime.now(UTC)
    stored = (
        await session.execute(select(AccessToken).where(AccessToken.user_id == user.id))
    ).scalar_one()
    assert stored.token_hash == hashlib.sha256(body["access_token"].encode()).digest()
    me = await client.get("/api/v1/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["id"] == str(user.id)
    assert "applications:read:own" in me.json()["scopes"]


async def test_sign_in_re_hashes_a_password_made_with_other_parameters(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await create_user(session)  # factory hashes are cheap (m=8 KiB)

    await _login(client, user.email)

    await session.refresh(user)
    assert "m=19456,t=2,p=1" in user.password_hash


async def test_no_token_or_a_wrong_one_is_401_with_the_envelope(
    client: httpx.AsyncClient,
) -> None:
    missing = await client.get("/api/v1/me")
    wrong = await client.get("/api/v1/me", headers=bearer("omf_not-a-token"))
    basic = await client.get("/api/v1/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})

    for response in (missing, wrong, basic):
        assert response.status_code == 401
        assert response.json()["error"] == "NotAuthenticated"
        assert response.headers["www-authenticate"] == "Bearer"


async def test_a_token_stops_working_when_logged_out_even_when_cached(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await create_user(session)
    token = await _login(client, user.email)
    assert (await client.get("/api/v1/me", headers=bearer(token))).status_code == 200  # cached

    logout = await client.post("/api/v1/auth/logout", headers=bearer(token))

    assert logout.status_code == 204
    after = await client.get("/api/v1/me", headers=bearer(token))
    assert after.status_code == 401


async def test_a_user_lists_their_tokens_and_revokes_one(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await create_user(session)
    phone = await _login(client, user.email)
    laptop = await _login(client, user.email)
    assert (await client.get("/api/v1/me", headers=bearer(phone))).status_code == 200

    listed = await client.get("/api/v1/tokens", headers=bearer(laptop))
    assert listed.status_code == 200
    tokens = listed.json()
    assert len(tokens) == 2
    assert [token["current"] for token in tokens].count(True) == 1
    phone_id = next(token["id"] for token in tokens if not token["current"])
    assert "token_hash" not in tokens[0]

    revoked = await client.delete(f"/api/v1/tokens/{phone_id}", headers=bearer(laptop))

    assert revoked.status_code == 204
    assert (await client.get("/api/v1/me", headers=bearer(phone))).status_code == 401
    assert (await client.get("/api/v1/me", headers=bearer(laptop))).status_code == 200


async def test_someone_elses_token_cannot_be_revoked_or_seen(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    alice = await create_user(session)
    bob = await create_user(session)
    alice_token = await issue_token(session, alice, settings=settings)
    bob_token = await issue_token(session, bob, settings=settings)
    bob_token_id = (
        await session.execute(select(AccessToken.id).where(AccessToken.user_id == bob.id))
    ).scalar_one()

    response = await client.delete(f"/api/v1/tokens/{bob_token_id}", headers=bearer(alice_token))

    assert response.status_code == 404
    assert (await client.get("/api/v1/me", headers=bearer(bob_token))).status_code == 200


async def test_a_password_change_revokes_every_other_token(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await create_user(session)
    other = await _login(client, user.email)
    current = await _login(client, user.email)
    assert (await client.get("/api/v1/me", headers=bearer(other))).status_code == 200

    changed = await client.post(
        "/api/v1/auth/password",
        headers=bearer(current),
        json={"current_password": PASSWORD, "new_password": "quartz-meadow-lantern-9"},
    )

    assert changed.status_code == 204, changed.text
    assert (await client.get("/api/v1/me", headers=bearer(other))).status_code == 401
    assert (await client.get("/api/v1/me", headers=bearer(current))).status_code == 200
    await _login(client, user.email, "quartz-meadow-lantern-9")
    old = await client.post("/api/v1/auth/token", json={"email": user.email, "password": PASSWORD})
    assert old.status_code == 401


async def test_a_password_change_needs_the_current_password_and_the_policy(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await create_user(session)
    token = await issue_token(session, user, settings=settings)

    wrong = await client.post(
        "/api/v1/auth/password",
        headers=bearer(token),
        json={"current_password": "not-my-password", "new_password": "quartz-meadow-lantern-9"},
    )
    weak = await client.post(
        "/api/v1/auth/password",
        headers=bearer(token),
        json={"current_password": PASSWORD, "new_password": "password"},
    )

    assert wrong.status_code == 422
    assert wrong.json()["detail"][0]["loc"] == ["body", "current_password"]
    assert weak.status_code == 422
    assert weak.json()["detail"][0]["loc"] == ["body", "new_password"]


async def test_an_expired_token_is_refused(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await create_user(session)
    token = await issue_token(session, user, settings=settings)
    await session.execute(
        update(AccessToken)
        .where(AccessToken.user_id == user.id)
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )

    response = await client.get("/api/v1/me", headers=bearer(token))

    assert response.status_code == 401


async def test_deactivating_a_user_ends_their_cached_sessions_at_once(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    firm = await create_organization(session)
    manager = await create_user(session, organization=firm, role=Role.BROKER_MANAGER)
    broker = await create_user(session, organization=firm, role=Role.BROKER)
    manager_token = await issue_token(session, manager, settings=settings)
    broker_token = await issue_token(session, broker, settings=settings)
    assert (await client.get("/api/v1/me", headers=bearer(broker_token))).status_code == 200

    response = await client.patch(
        f"/api/v1/users/{broker.id}", headers=bearer(manager_token), json={"is_active": False}
    )

    assert response.status_code == 200, response.text
    assert response.json()["is_active"] is False
    assert (await client.get("/api/v1/me", headers=bearer(broker_token))).status_code == 401
    login = await client.post(
        "/api/v1/auth/token", json={"email": broker.email, "password": PASSWORD}
    )
    assert login.status_code == 401
    assert login.json()["detail"] == "The email or password is incorrect."


async def test_last_used_is_written_at_most_once_per_resolution_period(
    settings: Settings, sessionmaker: SessionMaker, session: AsyncSession
) -> None:
    uncached = settings.model_copy(update={"token_cache_seconds": 0})
    user = await create_user(session)
    token = await issue_token(session, user, settings=settings)
    stored = (
        await session.execute(select(AccessToken).where(AccessToken.user_id == user.id))
    ).scalar_one()
    assert stored.last_used_at is None

    async with api_client(uncached, sessionmaker, MemoryStore()) as client:
        await client.get("/api/v1/me", headers=bearer(token))
        await session.refresh(stored)
        first = stored.last_used_at
        await client.get("/api/v1/me", headers=bearer(token))
        await session.refresh(stored)

    assert first is not None
    assert stored.last_used_at == first
