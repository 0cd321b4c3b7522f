"""Password reset by e-mail: the same answer and the same statements for every address (the mail
is the job's), a single-use link that expires, the password policy, every session revoked,
audited and throttled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from lending.config import Settings
from lending.db import SessionMaker
from lending.identity.password_reset import REQUEST_TASK
from lending.identity.tokens import digest
from lending.jobs import PRIORITY_PERSON_WAITING
from lending.models.audit import AuditEvent
from lending.models.identity import EmailLinkToken
from tests.identity.factories import PASSWORD, bearer, create_user, issue_token
from tests.mail.outbox import link_from_mail, messages_of, run_reset_requests
from tests.statements import statements_sent

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
    assert await messages_of(session, user.id) == []  # the job mails it, not the request

    assert await run_reset_requests(session, settings) == 1  # the unknown address: nothing
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
    [requested] = [
        details for action, details in actions if action == "auth.password_reset_requested"
    ]
    assert set(requested) == {"link_id"}


async def test_an_unknown_address_gets_no_mail(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await create_user(session, is_active=False)
    await session.commit()
    answer = await client.post("/api/v1/auth/password-reset", json={"email": user.email})
    assert answer.status_code == 202
    assert await run_reset_requests(session, settings) == 0
    assert await messages_of(session, user.id) == []  # a disabled account gets nothing either
    audited = await session.scalar(
        select(AuditEvent.id).where(AuditEvent.subject_id == str(user.id))
    )
    assert audited is None


async def test_a_weak_password_is_refused_and_the_link_still_works(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: SessionMaker,
    settings: Settings,
) -> None:
    user = await create_user(session)
    await session.commit()
    await client.post("/api/v1/auth/password-reset", json={"email": user.email})
    await run_reset_requests(session, settings)
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
    await run_reset_requests(session, settings)
    first, _ = await link_from_mail(session, sessionmaker, settings, user.id)
    await client.post("/api/v1/auth/password-reset", json={"email": user.email})
    await run_reset_requests(session, settings)
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
    assert await run_reset_requests(session, settings) == settings.password_reset_max_per_window
    assert len(await messages_of(session, user.id)) == settings.password_reset_max_per_window


async def test_a_request_runs_the_same_statements_whether_or_not_the_address_has_an_account(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, engine: AsyncEngine
) -> None:
    """Response time must not tell whether an address has an account: the request does the same
    work for both (throttle, one job), never a lookup; the job does the rest."""
    user = await create_user(session)
    await session.commit()
    await client.post("/api/v1/auth/password-reset", json={"email": "warm-up@example.com"})
    by_address: dict[str, list[str]] = {}
    for email in (user.email, "nobody-at-all@example.com"):
        with statements_sent(engine) as seen:
            answer = await client.post("/api/v1/auth/password-reset", json={"email": email})
        assert answer.status_code == 202
        by_address[email] = seen
    existing, unknown = by_address[user.email], by_address["nobody-at-all@example.com"]
    assert existing == unknown
    assert sum("procrastinate_defer_jobs" in statement for statement in existing) == 1
    assert not any("user_account" in statement for statement in existing)

    # The jobs carry the address and the origin sealed, never in clear (procrastinate keeps
    # and logs a job's arguments).
    stored = (
        await session.execute(
            text("SELECT args::text, priority FROM procrastinate_jobs WHERE task_name = :task"),
            {"task": REQUEST_TASK},
        )
    ).all()
    assert len(stored) == 3
    assert not any("@example.com" in args or user.email.split("@")[0] in args for args, _ in stored)
    # Fetched before background work queued earlier: a person is waiting for this mail.
    assert {priority for _, priority in stored} == {PRIORITY_PERSON_WAITING}
    assert await run_reset_requests(session, settings) == 1
    assert len(await messages_of(session, user.id)) == 1
