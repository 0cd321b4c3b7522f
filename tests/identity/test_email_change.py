"""Changing one's e-mail address: the password first, a link to the new address (nothing changes
until it is opened), the old address told, every session signed out, throttled and audited; and
invitations and referral links delivered by mail in the recipient's language."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.db import SessionMaker
from lending.mail.service import open_sealed
from lending.models.audit import AuditEvent
from lending.models.identity import Role, User
from lending.models.mail import MailMessage
from tests.identity.factories import PASSWORD, bearer, create_user, issue_token
from tests.mail.outbox import link_from_mail, messages_of


async def test_a_new_address_is_confirmed_there_and_the_old_one_is_told(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: SessionMaker,
    settings: Settings,
) -> None:
    user = await create_user(session, email="riley.old@example.com", full_name="Riley Park")
    user_id = user.id
    user.language = "zh"
    token = await issue_token(session, user, settings=settings)
    other = await create_user(session, email="taken@example.com")
    await session.commit()
    headers = bearer(token)

    wrong = await client.post(
        "/api/v1/auth/email-change",
        json={"new_email": "riley.new@example.com", "password": "not-the-password"},
        headers=headers,
    )
    assert wrong.status_code == 422
    taken = await client.post(
        "/api/v1/auth/email-change",
        json={"new_email": other.email.upper(), "password": PASSWORD},
        headers=headers,
    )
    assert taken.status_code == 409
    asked = await client.post(
        "/api/v1/auth/email-change",
        json={"new_email": "riley.new@example.com", "password": PASSWORD},
        headers=headers,
    )
    assert asked.status_code == 202
    session.expire_all()
    still = await session.get(User, user_id)
    assert still is not None
    assert still.email == "riley.old@example.com"
    [pending] = [m for m in await messages_of(session, user_id) if m.status == "pending"]
    assert pending.to_address == "riley.new@example.com"
    link, subject = await link_from_mail(session, sessionmaker, settings, user_id)
    assert subject == "确认您在 Omnifin 的新邮箱地址"

    confirmed = await client.post("/api/v1/auth/verify-email/confirm", json={"token": link})
    assert confirmed.status_code == 204
    session.expire_all()
    moved = await session.get(User, user_id)
    assert moved is not None
    assert moved.email == "riley.new@example.com"
    assert moved.email_verified_at is not None
    # Every session was signed out: the old token no longer works.
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401
    told = [m for m in await messages_of(session, user_id) if m.kind == "email_changed"]
    assert [m.to_address for m in told] == ["riley.old@example.com"]
    text = open_sealed(settings, told[0]).text
    assert "r***@example.com" in text
    assert "riley.new" not in text
    again = await client.post("/api/v1/auth/verify-email/confirm", json={"token": link})
    assert again.status_code == 422
    signed_in = await client.post(
        "/api/v1/auth/token", json={"email": "riley.new@example.com", "password": PASSWORD}
    )
    assert signed_in.status_code == 200
    actions = set(
        (
            await session.scalars(
                select(AuditEvent.action).where(AuditEvent.subject_id == str(user_id))
            )
        ).all()
    )
    assert {"user.email_change_requested", "user.email_changed"} <= actions
    everything = " ".join(
        str(details)
        for details in (
            await session.scalars(
                select(AuditEvent.details).where(AuditEvent.subject_id == str(user_id))
            )
        ).all()
    )
    assert "riley.new@example.com" not in everything


async def test_email_change_requests_are_throttled(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await create_user(session)
    token = await issue_token(session, user, settings=settings)
    await session.commit()
    statuses = [
        (
            await client.post(
                "/api/v1/auth/email-change",
                json={"new_email": f"n{i}@example.com", "password": PASSWORD},
                headers=bearer(token),
            )
        ).status_code
        for i in range(settings.password_reset_max_per_window + 1)
    ]
    assert statuses[:-1] == [202] * settings.password_reset_max_per_window
    assert statuses[-1] == 429


async def test_an_invitation_and_a_referral_link_arrive_by_mail_in_the_recipient_s_language(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await create_user(session, role=Role.PLATFORM_ADMIN, full_name="Ada Admin")
    broker = await create_user(session, role=Role.BROKER, full_name="Bo Broker")
    tokens = {u.id: await issue_token(session, u, settings=settings) for u in (admin, broker)}
    await session.commit()
    invited = await client.post(
        "/api/v1/invitations",
        json={"role": "borrower", "email": "mei.invited@example.com", "language": "zh"},
        headers=bearer(tokens[admin.id]),
    )
    assert invited.status_code == 201, invited.text
    assert invited.json()["emailed"] is True
    [message] = (
        await session.scalars(
            select(MailMessage).where(MailMessage.to_address == "mei.invited@example.com")
        )
    ).all()
    content = open_sealed(settings, message)
    assert content.subject == "Ada Admin 邀请您加入 Omnifin"
    assert invited.json()["url"] in content.text
    assert "借款人" in content.text

    sent = await client.post(
        "/api/v1/me/referral/send",
        json={"email": "sam.prospect@example.com", "language": "en"},
        headers=bearer(tokens[broker.id]),
    )
    assert sent.status_code == 202
    [referral] = (
        await session.scalars(
            select(MailMessage).where(MailMessage.to_address == "sam.prospect@example.com")
        )
    ).all()
    referral_text = open_sealed(settings, referral).text
    link = (await client.get("/api/v1/me/referral", headers=bearer(tokens[broker.id]))).json()
    assert link["url"] in referral_text
    assert "Bo Broker" in referral_text
    borrower = await create_user(session)
    borrower_token = await issue_token(session, borrower, settings=settings)
    await session.commit()
    refused = await client.post(
        "/api/v1/me/referral/send",
        json={"email": "x@example.com"},
        headers=bearer(borrower_token),
    )
    assert refused.status_code == 403
