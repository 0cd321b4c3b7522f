"""Registration: a borrower and nothing else; invitations and referral links; the password policy."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.models.audit import AuditEvent
from lending.models.identity import OrganizationKind, Role, User
from tests.identity.factories import (
    PASSWORD,
    create_invitation,
    create_organization,
    create_user,
    platform_organization,
)


def _body(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "email": "new.person@example.com",
        "password": PASSWORD,
        "full_name": "New Person",
    }
    body.update(overrides)
    return body


async def _user(session: AsyncSession, email: str) -> User:
    statement = select(User).where(User.email == email).execution_options(populate_existing=True)
    return (await session.execute(statement)).scalar_one()


async def test_registration_creates_a_direct_borrower(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await client.post("/api/v1/auth/register", json=_body())

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["role"] == "borrower"
    platform = await platform_organization(session)
    assert body["organization_id"] == str(platform.id)
    assert platform.kind is OrganizationKind.PLATFORM
    assert "password" not in response.text
    assert "password_hash" not in body
    user = await _user(session, "new.person@example.com")
    assert user.password_hash.startswith("$argon2id$")


async def test_a_role_in_the_registration_body_is_refused(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    for field, value in (
        ("role", "platform_admin"),
        ("organization_id", "00000000-0000-0000-0000-000000000000"),
        ("is_active", True),
        ("scopes", ["audit:read"]),
    ):
        response = await client.post("/api/v1/auth/register", json=_body(**{field: value}))
        assert response.status_code == 422, field
        assert response.json()["error"] == "ValidationError"
        assert response.json()["detail"][0]["loc"] == ["body", field]
    found = await session.execute(select(User).where(User.email == "new.person@example.com"))
    assert found.first() is None


async def test_email_is_unique_whatever_its_case(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await create_user(session, email="Taken.Address@Example.com")

    response = await client.post(
        "/api/v1/auth/register", json=_body(email="taken.address@example.COM")
    )

    assert response.status_code == 409
    assert response.json()["error"] == "Conflict"


async def test_weak_passwords_get_every_reason_in_plain_words(client: httpx.AsyncClient) -> None:
    short = await client.post("/api/v1/auth/register", json=_body(password="Pa55!"))
    common = await client.post("/api/v1/auth/register", json=_body(password="Password123456!"))
    personal = await client.post(
        "/api/v1/auth/register", json=_body(password="new.person-rocks-2026")
    )

    assert short.status_code == 422
    assert short.json()["error"] == "InvalidInput"
    messages = [item["msg"] for item in short.json()["detail"]]
    assert "Use at least 12 characters." in messages
    assert common.status_code == 422
    assert "too common" in common.json()["detail"][0]["msg"]
    assert personal.status_code == 422
    assert personal.json()["detail"][0]["msg"] == "Do not use your email address in your password."


async def test_a_referral_link_attributes_the_borrower_to_the_broker(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    firm = await create_organization(session)
    broker = await create_user(session, organization=firm, role=Role.BROKER)
    assert broker.referral_code is not None

    response = await client.post(
        "/api/v1/auth/register", json=_body(referral_code=broker.referral_code)
    )

    assert response.status_code == 201, response.text
    user = await _user(session, "new.person@example.com")
    assert user.role is Role.BORROWER
    assert user.organization_id == firm.id
    assert user.referred_by_user_id == broker.id
    event = (
        await session.execute(
            select(AuditEvent).where(
                AuditEvent.action == "user.registered", AuditEvent.subject_id == str(user.id)
            )
        )
    ).scalar_one()
    assert event.details["via"] == "referral"


async def test_a_referral_code_of_a_borrower_or_unknown_is_refused(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/api/v1/auth/register", json=_body(referral_code="nope"))

    assert response.status_code == 422
    assert response.json()["detail"] == "This referral link is not valid."


async def test_an_invitation_gives_its_role_and_firm_once(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    firm = await create_organization(session)
    manager = await create_user(session, organization=firm, role=Role.BROKER_MANAGER)
    invitation, code = await create_invitation(
        session, organization=firm, role=Role.BROKER, created_by=manager
    )

    first = await client.post("/api/v1/auth/register", json=_body(invitation_code=code))
    again = await client.post(
        "/api/v1/auth/register",
        json=_body(email="someone.else@example.com", invitation_code=code),
    )

    assert first.status_code == 201, first.text
    assert first.json()["role"] == "broker"
    assert first.json()["organization_id"] == str(firm.id)
    assert again.status_code == 422
    assert again.json()["detail"] == "This invitation has already been used."
    await session.refresh(invitation)
    assert invitation.used_at is not None
    assert str(invitation.used_by_user_id) == first.json()["id"]


async def test_an_expired_invitation_is_refused(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    firm = await create_organization(session)
    _, code = await create_invitation(session, organization=firm, expires_in=timedelta(seconds=-1))

    response = await client.post("/api/v1/auth/register", json=_body(invitation_code=code))

    assert response.status_code == 422
    assert response.json()["detail"] == "This invitation has expired; ask for a new one."


async def test_an_email_bound_invitation_refuses_another_address(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    firm = await create_organization(session)
    _, code = await create_invitation(session, organization=firm, email="Invited@Example.com")

    wrong = await client.post(
        "/api/v1/auth/register", json=_body(email="intruder@example.com", invitation_code=code)
    )
    right = await client.post(
        "/api/v1/auth/register", json=_body(email="invited@example.com", invitation_code=code)
    )

    assert wrong.status_code == 422
    assert wrong.json()["detail"] == "This invitation is for a different email address."
    assert right.status_code == 201


async def test_an_unknown_or_revoked_invitation_is_refused(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    firm = await create_organization(session)
    invitation, code = await create_invitation(session, organization=firm)
    invitation.revoked_at = invitation.created_at
    await session.flush()

    revoked = await client.post("/api/v1/auth/register", json=_body(invitation_code=code))
    unknown = await client.post("/api/v1/auth/register", json=_body(invitation_code="omfi_x"))

    assert (
        revoked.json()["detail"] == unknown.json()["detail"] == "This invitation code is not valid."
    )


async def test_a_borrower_invited_by_a_manager_is_attributed_to_them(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    firm = await create_organization(session)
    manager = await create_user(session, organization=firm, role=Role.BROKER_MANAGER)
    _, code = await create_invitation(
        session, organization=firm, role=Role.BORROWER, created_by=manager
    )

    response = await client.post("/api/v1/auth/register", json=_body(invitation_code=code))

    assert response.status_code == 201
    assert response.json()["referred_by_user_id"] == str(manager.id)
