"""E-mail verification at registration: a mail in the person's language with a single-use link;
an unverified account can use the assistant but cannot submit an application (the tool says why,
in English and Chinese); accounts made otherwise count as verified."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.db import SessionMaker
from lending.kv import MemoryStore
from lending.mail.delivery import deliver
from lending.models.applications import ApplicationStatus
from lending.models.identity import User
from tests.identity.factories import PASSWORD, api_client, bearer, create_user, issue_token
from tests.lending.factories import create_borrower, create_catalog, give_consent
from tests.mail.outbox import link_from_mail, messages_of, run_reset_requests
from tests.tools.support import context_for
from tools.approvals import Decision
from tools.base import ToolError
from tools.context import ApprovalRequest
from tools.messages import render
from tools.registry import registry


async def test_registration_mails_a_link_in_the_chosen_language(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: SessionMaker,
    settings: Settings,
) -> None:
    registered = await client.post(
        "/api/v1/auth/register",
        json={
            "email": "mei.new@example.com",
            "password": PASSWORD,
            "full_name": "Mei Chen",
            "language": "zh",
        },
    )
    assert registered.status_code == 201
    assert registered.json()["email_verified_at"] is None
    user_id = registered.json()["id"]
    token, subject = await link_from_mail(session, sessionmaker, settings, user_id)
    assert subject == "确认您在 Omnifin 的电子邮件地址"

    bad = await client.post("/api/v1/auth/verify-email/confirm", json={"token": token + "x"})
    assert bad.status_code == 422
    ok = await client.post("/api/v1/auth/verify-email/confirm", json={"token": token})
    assert ok.status_code == 204
    user = await session.get(User, user_id, populate_existing=True)
    assert user is not None
    assert user.email_verified_at is not None
    reused = await client.post("/api/v1/auth/verify-email/confirm", json={"token": token})
    assert reused.status_code == 422

    bearer_token = await issue_token(session, user, settings=settings)
    await session.commit()
    resend = await client.post("/api/v1/auth/verify-email/resend", headers=bearer(bearer_token))
    assert resend.status_code == 409  # already confirmed: no new mail
    assert len(await messages_of(session, user.id)) == 1


async def test_resend_replaces_the_earlier_link(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: SessionMaker,
    settings: Settings,
) -> None:
    registered = await client.post(
        "/api/v1/auth/register",
        json={"email": "sam.new@example.com", "password": PASSWORD, "full_name": "Sam Lee"},
    )
    user_id = registered.json()["id"]
    first, subject = await link_from_mail(session, sessionmaker, settings, user_id)
    assert subject == "Confirm your e-mail address for Omnifin"
    signed_in = await client.post(
        "/api/v1/auth/token", json={"email": "sam.new@example.com", "password": PASSWORD}
    )
    assert signed_in.status_code == 200  # unverified people can sign in (and chat)
    headers = bearer(signed_in.json()["access_token"])
    assert (
        await client.post("/api/v1/auth/verify-email/resend", headers=headers)
    ).status_code == 202
    second, _ = await link_from_mail(session, sessionmaker, settings, user_id)
    old = await client.post("/api/v1/auth/verify-email/confirm", json={"token": first})
    assert old.status_code == 422
    new = await client.post("/api/v1/auth/verify-email/confirm", json={"token": second})
    assert new.status_code == 204


async def test_an_unverified_borrower_cannot_submit_until_verified(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    await create_catalog(session)
    borrower = await create_borrower(session, settings)
    assert borrower.email_verified_at is not None  # made by a factory, not registration
    borrower.email_verified_at = None
    await give_consent(session, borrower)
    await session.commit()

    async def approver(request: ApprovalRequest) -> Decision:
        return Decision.APPROVED

    context = context_for(borrower, sessionmaker, settings, approver=approver)
    started = await registry.execute(
        "start_application",
        {
            "product_type": "personal",
            "purpose": "home_improvement",
            "amount": "15000",
            "term_months": 36,
        },
        context,
    )
    application_id = str(started.model_dump()["id"])
    offers = await registry.execute("get_offers", {"application_id": application_id}, context)
    submit = {
        "application_id": application_id,
        "lender_ids": [str(offers.model_dump()["offers"][0]["lender_id"])],
    }
    with pytest.raises(ToolError) as refused:
        await registry.execute("submit_application", submit, context, idempotency_key="v-1")
    assert refused.value.kind == "EmailNotVerified"
    assert refused.value.status == 409
    assert refused.value.key == "error.email_not_verified"
    assert "确认您的电子邮件地址" in render(refused.value.key, {}, "zh")
    still = await registry.execute("get_application", {"application_id": application_id}, context)
    assert still.model_dump()["status"] is ApplicationStatus.DRAFT

    broker_made = await create_user(session)  # any account made otherwise counts as verified
    assert broker_made.email_verified_at is not None
    borrower.email_verified_at = broker_made.email_verified_at
    await session.commit()
    done = await registry.execute("submit_application", submit, context, idempotency_key="v-2")
    assert done.model_dump()["status"] is ApplicationStatus.SUBMITTED


async def test_the_dev_mailbox_lists_kept_mail_only_in_development(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    development = settings.model_copy(update={"environment": "development", "smtp_host": None})
    user = await create_user(session)
    await session.commit()
    async with api_client(development, sessionmaker, MemoryStore()) as http:
        assert (
            await http.post("/api/v1/auth/password-reset", json={"email": user.email})
        ).status_code == 202
        assert await run_reset_requests(session, development) == 1
        [message] = await messages_of(session, user.id)
        assert await deliver(sessionmaker, development, message.id) == "dev_mailbox"
        listed = await http.get("/api/v1/dev/mailbox")
        assert listed.status_code == 200
        mine = [m for m in listed.json() if m["to_address"] == user.email]
        assert len(mine) == 1
        assert mine[0]["subject"] == "Reset your Omnifin password"
        assert "/reset-password?token=" in mine[0]["text"]
    async with api_client(settings, sessionmaker, MemoryStore()) as http:
        assert (await http.get("/api/v1/dev/mailbox")).status_code == 404
