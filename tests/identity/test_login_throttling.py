"""Brute force: a generic refusal, per-(account, address) and per-address lockout, and its
release (both stores). The account-wide lock: test_sign_in_abuse.py."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.db import SessionMaker
from lending.kv import Store
from lending.models.audit import AuditEvent
from tests.identity.factories import PASSWORD, api_client, create_user

LOCKOUT_SECONDS = 1.0


def _strict(settings: Settings, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "login_max_failures_per_account_and_ip": 3,
        "login_max_failures_per_account": 100,
        "login_max_failures_per_ip": 100,
        "login_failure_window_seconds": 60,
        "login_lockout_seconds": LOCKOUT_SECONDS,
    }
    values.update(overrides)
    return settings.model_copy(update=values)


async def _attempt(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/api/v1/auth/token", json={"email": email, "password": password})


async def test_unknown_email_and_wrong_password_get_the_same_answer(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await create_user(session)

    unknown = await _attempt(client, "nobody@example.com", PASSWORD)
    wrong = await _attempt(client, user.email, "wrong-password-entirely")

    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json()["error"] == wrong.json()["error"] == "InvalidCredentials"
    assert (
        unknown.json()["detail"] == wrong.json()["detail"] == "The email or password is incorrect."
    )


async def test_failures_are_audited_even_though_the_request_fails(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await create_user(session)

    await _attempt(client, user.email, "wrong-password-entirely")

    events = (
        await session.execute(
            select(AuditEvent).where(
                AuditEvent.action == "auth.login_failed", AuditEvent.subject_id == str(user.id)
            )
        )
    ).scalars()
    assert [event.details["reason"] for event in events] == ["wrong_password"]


async def test_an_account_locks_after_repeated_failures_and_unlocks_later(
    settings: Settings, sessionmaker: SessionMaker, session: AsyncSession, store: Store
) -> None:
    user = await create_user(session)
    async with api_client(_strict(settings), sessionmaker, store) as client:
        refusals = [await _attempt(client, user.email, "wrong-password-entirely") for _ in range(3)]
        locked = await _attempt(client, user.email, PASSWORD)  # right password, still locked

        assert [r.status_code for r in refusals] == [401, 401, 401]
        assert locked.status_code == 429
        assert locked.json()["error"] == "TooManyLoginAttempts"
        assert int(locked.headers["retry-after"]) >= 1

        await asyncio.sleep(LOCKOUT_SECONDS + 0.2)
        released = await _attempt(client, user.email, PASSWORD)

    assert released.status_code == 200, released.text


async def test_unknown_addresses_lock_the_same_way(
    settings: Settings, sessionmaker: SessionMaker, store: Store
) -> None:
    async with api_client(_strict(settings), sessionmaker, store) as client:
        statuses = [
            (await _attempt(client, "ghost@example.com", "whatever-it-is")).status_code
            for _ in range(4)
        ]

    assert statuses == [401, 401, 401, 429]


async def test_one_address_locking_leaves_the_others_alone(
    settings: Settings, sessionmaker: SessionMaker, session: AsyncSession, store: Store
) -> None:
    victim = await create_user(session)
    bystander = await create_user(session)
    async with api_client(_strict(settings), sessionmaker, store) as client:
        for _ in range(3):
            await _attempt(client, victim.email, "wrong-password-entirely")
        bystander_login = await _attempt(client, bystander.email, PASSWORD)

    assert bystander_login.status_code == 200


async def test_an_ip_spraying_many_accounts_is_locked(
    settings: Settings, sessionmaker: SessionMaker, session: AsyncSession, store: Store
) -> None:
    user = await create_user(session)
    spraying = _strict(settings, login_max_failures_per_ip=4)
    async with api_client(spraying, sessionmaker, store) as client:
        statuses = [
            (await _attempt(client, f"target{i}@example.com", "guess-number-one")).status_code
            for i in range(4)
        ]
        genuine = await _attempt(client, user.email, PASSWORD)

    assert statuses == [401, 401, 401, 401]
    assert genuine.status_code == 429


async def test_a_success_clears_the_accounts_earlier_failures(
    settings: Settings, sessionmaker: SessionMaker, session: AsyncSession, store: Store
) -> None:
    user = await create_user(session)
    async with api_client(_strict(settings), sessionmaker, store) as client:
        for _ in range(2):
            await _attempt(client, user.email, "wrong-password-entirely")
        assert (await _attempt(client, user.email, PASSWORD)).status_code == 200
        for _ in range(2):
            await _attempt(client, user.email, "wrong-password-entirely")
        still_open = await _attempt(client, user.email, PASSWORD)

    assert still_open.status_code == 200
