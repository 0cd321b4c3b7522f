"""Sign-in abuse (issue 14): a stranger cannot keep a named account locked out; the account-wide
lock comes only past a much higher count, is bounded and an admin lifts it; re-checks of a second
factor are throttled like sign-in; a revoked token is forgotten after the commit; a manager cannot
undo a platform admin's deactivation."""

from __future__ import annotations

import time

import httpx
import pyotp
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from lending.config import Settings
from lending.db import SessionMaker, transaction
from lending.identity.schemas import UserUpdate
from lending.identity.sessions import token_service
from lending.identity.tokens import CachedToken, cache_key, digest
from lending.identity.users import user_service
from lending.kv import Store
from lending.models.audit import AuditEvent
from lending.models.identity import Role, User
from tests.identity.factories import (
    PASSWORD,
    actor_of,
    api_clients,
    bearer,
    create_organization,
    create_user,
    issue_token,
)
from tests.statements import statements_sent

ATTACKER, OWNER = "203.0.113.7", "198.51.100.20"


def _throttling(settings: Settings, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "login_max_failures_per_account_and_ip": 3,
        "login_max_failures_per_ip": 100,
        "login_max_failures_per_account": 8,
        "login_failure_window_seconds": 60,
        "login_lockout_seconds": 60,
        "login_account_lockout_seconds": 30,
        "rate_limits": {"default": {"*": 10_000, "anonymous": 10_000}},
    }
    values.update(overrides)
    return settings.model_copy(update=values)


async def _login(
    client: httpx.AsyncClient, email: str, password: str, otp: str | None = None
) -> httpx.Response:
    body = {"email": email, "password": password} | ({"otp": otp} if otp else {})
    return await client.post("/api/v1/auth/token", json=body)


async def test_a_stranger_guessing_cannot_lock_the_owner_out(
    settings: Settings, sessionmaker: SessionMaker, session: AsyncSession, store: Store
) -> None:
    admin = await create_user(session, role=Role.BORROWER)
    async with api_clients(_throttling(settings), sessionmaker, store, ATTACKER, OWNER) as c:
        guesses = [
            (await _login(c[ATTACKER], admin.email, "guess-guess-1")).status_code for _ in range(5)
        ]
        owner = await _login(c[OWNER], admin.email, PASSWORD)

    assert guesses == [401, 401, 401, 429, 429]  # the attacker's own address is locked
    assert owner.status_code == 200, owner.text


async def test_the_account_locks_everywhere_only_past_the_higher_count_and_not_for_long(
    settings: Settings, sessionmaker: SessionMaker, session: AsyncSession, store: Store
) -> None:
    user = await create_user(session)
    ips = [f"203.0.113.{n}" for n in range(1, 5)]
    strict = _throttling(settings)
    async with api_clients(strict, sessionmaker, store, *ips, OWNER) as c:
        for ip in ips:  # 4 addresses x 2 guesses = 8: the account-wide limit
            for _ in range(2):
                assert (await _login(c[ip], user.email, "guess-guess-1")).status_code == 401
        locked = await _login(c[OWNER], user.email, PASSWORD)

    assert locked.status_code == 429
    assert 1 <= int(locked.headers["retry-after"]) <= strict.login_account_lockout_seconds


async def test_a_platform_admin_lifts_the_lock_and_it_is_audited(
    settings: Settings, sessionmaker: SessionMaker, session: AsyncSession, store: Store
) -> None:
    user = await create_user(session)
    admin = await create_user(session, role=Role.PLATFORM_ADMIN)
    firm = await create_organization(session)
    manager = await create_user(session, organization=firm, role=Role.BROKER_MANAGER)
    admin_token = await issue_token(session, admin, settings=settings)
    manager_token = await issue_token(session, manager, settings=settings)
    strict = _throttling(settings, login_max_failures_per_account=3)
    async with api_clients(strict, sessionmaker, store, ATTACKER, OWNER) as c:
        for _ in range(3):
            await _login(c[ATTACKER], user.email, "guess-guess-1")
        assert (await _login(c[OWNER], user.email, PASSWORD)).status_code == 429

        by_manager = await c[OWNER].post(
            f"/api/v1/users/{user.id}/sign-in-unlock", headers=bearer(manager_token)
        )
        by_admin = await c[OWNER].post(
            f"/api/v1/users/{user.id}/sign-in-unlock", headers=bearer(admin_token)
        )
        owner = await _login(c[OWNER], user.email, PASSWORD)
        attacker = await _login(c[ATTACKER], user.email, PASSWORD)

    assert by_manager.status_code == 403
    assert by_admin.status_code == 204, by_admin.text
    assert owner.status_code == 200, owner.text
    assert attacker.status_code == 200  # the pair's lock went with the unlock
    actions = (
        await session.execute(
            select(AuditEvent.action).where(
                AuditEvent.subject_id == str(user.id), AuditEvent.action == "auth.sign_in_unlocked"
            )
        )
    ).scalars()
    assert list(actions) == ["auth.sign_in_unlocked"]


async def test_mfa_disable_codes_are_throttled_like_sign_in(
    settings: Settings, sessionmaker: SessionMaker, session: AsyncSession, store: Store
) -> None:
    secret = pyotp.random_base32()
    user = await create_user(session, mfa_secret=secret, settings=settings)
    token = await issue_token(session, user, settings=settings)
    async with api_clients(_throttling(settings), sessionmaker, store, ATTACKER) as c:
        statuses = [
            (
                await c[ATTACKER].post(
                    "/api/v1/mfa/disable",
                    headers=bearer(token),
                    json={"password": PASSWORD, "code": f"{n:06d}"},
                )
            ).status_code
            for n in range(4)
        ]
        right_code = await c[ATTACKER].post(
            "/api/v1/mfa/disable",
            headers=bearer(token),
            json={"password": PASSWORD, "code": pyotp.TOTP(secret).now()},
        )

    assert statuses == [422, 422, 422, 429]
    assert right_code.status_code == 429
    assert (await session.get(User, user.id, populate_existing=True)).mfa_enabled  # type: ignore[union-attr]


async def test_recovery_code_regeneration_is_throttled_like_sign_in(
    settings: Settings, sessionmaker: SessionMaker, session: AsyncSession, store: Store
) -> None:
    user = await create_user(session, mfa_secret=pyotp.random_base32(), settings=settings)
    token = await issue_token(session, user, settings=settings)
    async with api_clients(_throttling(settings), sessionmaker, store, ATTACKER) as c:
        statuses = [
            (
                await c[ATTACKER].post(
                    "/api/v1/mfa/recovery-codes", headers=bearer(token), json={"code": f"{n:06d}"}
                )
            ).status_code
            for n in range(4)
        ]

    assert statuses == [422, 422, 422, 429]


async def test_a_revoked_token_cached_again_before_the_commit_is_forgotten_after_it(
    settings: Settings, sessionmaker: SessionMaker, session: AsyncSession, store: Store
) -> None:
    firm = await create_organization(session)
    manager = await create_user(session, organization=firm, role=Role.BROKER_MANAGER)
    broker = await create_user(session, organization=firm, role=Role.BROKER)
    token = await issue_token(session, broker, settings=settings)
    await session.commit()
    async with transaction(sessionmaker) as own:
        actor = await token_service.authenticate(own, store=store, settings=settings, token=token)

    async with transaction(sessionmaker) as work:
        await user_service.update(
            work,
            actor_of(manager),
            store=store,
            user_id=broker.id,
            data=UserUpdate(is_active=False),
        )
        # A concurrent request, reading the row as committed so far (the token still live),
        # caches it again between the revocation and the commit.
        stale = CachedToken(
            actor.token_id,  # type: ignore[arg-type]
            broker.id,
            broker.role,
            broker.organization_id,
            actor.purpose,
            time.time() + 3600,
        )
        await store.set(cache_key(digest(token)), stale.dumps(), 60)

    assert await token_service.cached_actor(store=store, settings=settings, token=token) is None


async def test_a_manager_cannot_reactivate_someone_a_platform_admin_deactivated(
    settings: Settings, sessionmaker: SessionMaker, session: AsyncSession, store: Store
) -> None:
    firm = await create_organization(session)
    admin = await create_user(session, role=Role.PLATFORM_ADMIN)
    manager = await create_user(session, organization=firm, role=Role.BROKER_MANAGER)
    by_admin = await create_user(session, organization=firm, role=Role.BROKER)
    by_manager = await create_user(session, organization=firm, role=Role.BROKER)
    admin_token = await issue_token(session, admin, settings=settings)
    manager_token = await issue_token(session, manager, settings=settings)
    async with api_clients(_throttling(settings), sessionmaker, store, OWNER) as c:
        client = c[OWNER]
        assert (
            await client.patch(
                f"/api/v1/users/{by_admin.id}",
                headers=bearer(admin_token),
                json={"is_active": False},
            )
        ).status_code == 200
        assert (
            await client.patch(
                f"/api/v1/users/{by_manager.id}",
                headers=bearer(manager_token),
                json={"is_active": False},
            )
        ).status_code == 200
        refused = await client.patch(
            f"/api/v1/users/{by_admin.id}", headers=bearer(manager_token), json={"is_active": True}
        )
        own_undone = await client.patch(
            f"/api/v1/users/{by_manager.id}",
            headers=bearer(manager_token),
            json={"is_active": True},
        )
        admin_undone = await client.patch(
            f"/api/v1/users/{by_admin.id}", headers=bearer(admin_token), json={"is_active": True}
        )

    assert refused.status_code == 403
    assert refused.json()["error"] == "PermissionDenied"
    assert own_undone.status_code == 200
    assert own_undone.json()["is_active"] is True
    assert admin_undone.status_code == 200
    assert admin_undone.json()["is_active"] is True


async def test_a_wrong_password_costs_the_same_statements_as_an_unknown_address(
    client: httpx.AsyncClient, session: AsyncSession, engine: AsyncEngine
) -> None:
    """Sign-in tells nothing by its work either: an unknown address checks a dummy hash and is
    refused and audited through the same statements as a known one with a wrong password."""
    user = await create_user(session)
    await session.commit()
    wrong = {"password": "not-the-password-at-all"}
    await client.post("/api/v1/auth/token", json={"email": "warm-up@example.com", **wrong})
    sent: list[list[str]] = []
    for email in (user.email, "nobody-signs-in@example.com"):
        with statements_sent(engine) as seen:
            answer = await client.post("/api/v1/auth/token", json={"email": email, **wrong})
        assert answer.status_code == 401
        sent.append(seen)
    assert sent[0] == sent[1]
    assert any("user_account" in statement for statement in sent[0])  # the lookup is there
