"""Password reset by e-mail: the same answer for every address, a single-use link that expires,
the password policy, every session revoked, audited and throttled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.db import SessionMaker
from lending.identity.tokens import digest
from lending.models.audit import AuditEvent
from lending.models.identity import EmailLinkToken
from tests.identity.factories import PASSWORD, bearer, create_user, issue_token
from tests.mail.outbox import link_from_mail, messages_of

NEW_PASSWORD = "lantern-harbor-quiet-77"


async def _sign_in(client: httpx.AsyncClient, email: str, password: str) -> int:
    answer = await client.post("/api/v1/auth/token", json={"email": email, "password": password})
    return answer.status_code


async def test_reset_by_mail_sets_the_password_and_ends_every_session(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: SessionMaker,
    settings: Settings,
) -> None:
    user = await create_user(session)
    old_tokens = [await issue_token(session, user, settings=settings) for _ in range(2)]
    await session.commit()
    assert (await client.get("/api/v1/me", headers=bearer(old_tokens[0]))).status_code == 200

    asked = await client.post("/api/v1/auth/password-reset", json={"email": user.email.upper()})
    assert asked.status_code == 202
    unknown = await client.post(
        "/api/v1/auth/password-reset", json={"email": "nobody-here@example.com"}
    )
    assert (unknown.status_code, unknown.json()) == (202, asked.json())

    token, subject = await link_from_mail(session, sessionmaker, settings, user.id)
    assert subject == "Reset your Omnifin password"
    stored = (await session.execute(select(EmailLinkToken.token_hash))).scalars().all()
    assert digest(token) in stored
    assert token.encode() not in stored  # only the hash is kept

    done = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert done.status_code == 204
    for old in old_tokens:
        assert (await client.get("/api/v1/me", headers=bearer(old))).status_code == 401
    assert await _sign_in(client, user.email, PASSWORD) == 401
    assert await _sign_in(client, user.email, NEW_PASSWORD) == 200

    again = await client.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": token, "new_password": "another-fresh-phrase-91"},
    )
    assert again.status_code == 422
    assert "already used" in again.json()["detail"]
    actions = (
        await session.execute(
            select(AuditEvent.action, AuditEvent.details).where(
                AuditEvent.subject_id == str(user.id)
            )
        )
    ).all()
    reset = [details for action, details in actions if action == "auth.password_reset"]
    assert len(reset) == 1
    assert reset[0]["tokens_revoked"] == 2


async def test_an_unknown_address_gets_no_mail(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await create_user(session, is_active=False)
    await session.commit()
    answer = await client.post("/api/v1/auth/password-reset", json={"email": user.email})
    assert answer.status_code == 202
    assert await messages_of(session, user.id) == []  # a disabled account gets nothing either


async def test_a_weak_password_is_refused_and_the_link_still_works(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: SessionMaker,
    settings: Settings,
) -> None:
    user = await create_user(session)
    await session.commit()
    await client.post("/api/v1/auth/password-reset", json={"email": user.email})
    token, _ = await link_from_mail(session, sessionmaker, settings, user.id)
    weak = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": "password"}
    )
    assert weak.status_code == 422
    assert weak.json()["detail"][0]["loc"] == ["body", "new_password"]
    assert await _sign_in(client, user.email, PASSWORD) == 200
    ok = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert ok.status_code == 204


async def test_an_expired_or_superseded_link_does_not_work(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: SessionMaker,
    settings: Settings,
) -> None:
    user = await create_user(session)
    await session.commit()
    await client.post("/api/v1/auth/password-reset", json={"email": user.email})
    first, _ = await link_from_mail(session, sessionmaker, settings, user.id)
    await client.post("/api/v1/auth/password-reset", json={"email": user.email})
    second, _ = await link_from_mail(session, sessionmaker, settings, user.id)
    superseded = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": first, "new_password": NEW_PASSWORD}
    )
    assert superseded.status_code == 422
    await session.execute(
        update(EmailLinkToken)
        .where(EmailLinkToken.token_hash == digest(second))
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    await session.commit()
    expired = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": second, "new_password": NEW_PASSWORD}
    )
    assert expired.status_code == 422
    assert await _sign_in(client, user.email, PASSWORD) == 200


async def test_requests_are_throttled_per_address_whether_or_not_it_exists(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await create_user(session)
    await session.commit()
    for email in (user.email, "nobody-else@example.com"):
        codes = [
            (await client.post("/api/v1/auth/password-reset", json={"email": email})).status_code
            for _ in range(settings.password_reset_max_per_window + 1)
        ]
        assert codes == [202] * settings.password_reset_max_per_window + [429]
    assert len(await messages_of(session, user.id)) == settings.password_reset_max_per_window
