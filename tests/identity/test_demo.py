"""The demo data: a firm with one login per role, loaded idempotently, every login usable."""

from __future__ import annotations

import re

import httpx
import pyotp
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.demo import seed_demo
from lending.models.audit import AuditEvent
from lending.models.identity import Organization, User


async def _counts(session: AsyncSession) -> tuple[int, int, int]:
    users = (await session.execute(select(func.count()).select_from(User))).scalar_one()
    orgs = (await session.execute(select(func.count()).select_from(Organization))).scalar_one()
    events = (await session.execute(select(func.count()).select_from(AuditEvent))).scalar_one()
    return users, orgs, events


async def test_seeding_twice_changes_nothing_the_second_time(
    session: AsyncSession, settings: Settings
) -> None:
    first = await seed_demo(session, settings)
    after_first = await _counts(session)
    second = await seed_demo(session, settings)

    assert await _counts(session) == after_first
    assert first.render() == second.render()
    roles = {login.role for login in first.logins}
    assert roles == {"borrower", "broker", "broker_manager", "platform_admin", "prompt_engineer"}
    assert len(first.logins) == 6


async def test_every_demo_login_signs_in(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    summary = await seed_demo(session, settings)
    rendered = summary.render()
    # Every staff role that requires MFA (admins and prompt engineers) is enrolled, its secret
    # printed under its own address.
    secrets = dict(
        re.findall(
            r"\(([^)\s]+@[^)\s]+)\) signs in.*?authenticator app: ([A-Z2-7]+)", rendered, re.S
        )
    )
    assert set(secrets) == {"admin@omnifin.demo", "prompts@omnifin.demo"}, rendered

    for login in summary.logins:
        body = {"email": login.email, "password": login.password}
        if login.email in secrets:
            body["otp"] = pyotp.TOTP(secrets[login.email]).now()
        response = await client.post("/api/v1/auth/token", json=body)
        assert response.status_code == 200, (login.email, response.text)
        assert response.json()["mfa_enrollment_required"] is False
        me = await client.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {response.json()['access_token']}"}
        )
        assert me.json()["role"] == login.role


async def test_the_referred_borrower_is_attributed_to_the_demo_broker(
    session: AsyncSession, settings: Settings
) -> None:
    await seed_demo(session, settings)

    referred = (
        await session.execute(select(User).where(User.email == "referred@harbor.demo"))
    ).scalar_one()
    broker = (
        await session.execute(select(User).where(User.email == "broker@harbor.demo"))
    ).scalar_one()

    assert referred.referred_by_user_id == broker.id
    assert referred.organization_id == broker.organization_id
