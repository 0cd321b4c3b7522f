"""Nobody promotes themselves; managers act only inside their firm; only admins grant roles."""

from __future__ import annotations

import uuid

import httpx
import pyotp
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.models.audit import AuditEvent
from lending.models.identity import Organization, Role, User
from tests.identity.factories import (
    PASSWORD,
    bearer,
    create_organization,
    create_user,
    issue_token,
    platform_organization,
)


async def _fresh(session: AsyncSession, user: User) -> User:
    statement = select(User).where(User.id == user.id).execution_options(populate_existing=True)
    return (await session.execute(statement)).scalar_one()


@pytest.fixture
async def firm(session: AsyncSession) -> Organization:
    return await create_organization(session, name="Harbor Brokers")


@pytest.fixture
async def other_firm(session: AsyncSession) -> Organization:
    return await create_organization(session, name="Rival Lending")


@pytest.mark.parametrize("role", list(Role))
async def test_no_role_promotes_itself_through_its_profile(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    firm: Organization,
    role: Role,
) -> None:
    platform = await platform_organization(session)
    home = firm if role in (Role.BROKER, Role.BROKER_MANAGER) else platform
    user = await create_user(session, organization=home, role=role)
    token = await issue_token(session, user, settings=settings)
    other_org = platform if home is firm else firm

    attempts = [
        ("PATCH", "/api/v1/me", {"role": "platform_admin"}),
        ("PATCH", "/api/v1/me", {"full_name": "X", "role": "platform_admin"}),
        ("PATCH", "/api/v1/me", {"organization_id": str(other_org.id)}),
        ("PATCH", "/api/v1/me", {"is_active": True, "full_name": "X"}),
        ("PATCH", f"/api/v1/users/{user.id}", {"role": "platform_admin"}),
        ("PATCH", f"/api/v1/users/{user.id}", {"organization_id": str(other_org.id)}),
        ("POST", "/api/v1/invitations", {"role": "platform_admin", "email": user.email}),
        (
            "POST",
            "/api/v1/auth/password",
            {"current_password": PASSWORD, "new_password": "x" * 20, "role": "platform_admin"},
        ),
    ]
    for method, path, body in attempts:
        response = await client.request(method, path, headers=bearer(token), json=body)
        # Refused one way or another (an existing account cannot be invited: 409).
        assert response.status_code in (403, 404, 409, 422), (method, path, response.text)

    after = await _fresh(session, user)
    assert (after.role, after.organization_id) == (role, home.id)


async def test_an_admin_cannot_change_their_own_role_either(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await create_user(
        session, role=Role.PLATFORM_ADMIN, mfa_secret=pyotp.random_base32(), settings=settings
    )
    token = await issue_token(session, admin, settings=settings)

    response = await client.patch(
        f"/api/v1/users/{admin.id}", headers=bearer(token), json={"role": "borrower"}
    )

    assert response.status_code == 403
    assert response.json()["detail"] == "You cannot change your own role, organization or status."


async def test_a_manager_cannot_reach_another_firms_users(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    firm: Organization,
    other_firm: Organization,
) -> None:
    manager = await create_user(session, organization=firm, role=Role.BROKER_MANAGER)
    mine = await create_user(session, organization=firm, role=Role.BROKER)
    theirs = await create_user(session, organization=other_firm, role=Role.BROKER)
    token = await issue_token(session, manager, settings=settings)

    read = await client.get(f"/api/v1/users/{theirs.id}", headers=bearer(token))
    rename = await client.patch(
        f"/api/v1/users/{theirs.id}", headers=bearer(token), json={"full_name": "Pwned"}
    )
    disable = await client.patch(
        f"/api/v1/users/{theirs.id}", headers=bearer(token), json={"is_active": False}
    )
    filtered = await client.get(
        "/api/v1/users", headers=bearer(token), params={"organization_id": str(other_firm.id)}
    )
    listed = await client.get("/api/v1/users", headers=bearer(token))
    missing = await client.get(f"/api/v1/users/{uuid.uuid4()}", headers=bearer(token))

    for response in (read, rename, disable, filtered):
        assert response.status_code == 404, response.text
        assert response.json()["error"] == "NotFound"
    # Another firm's user and a user that does not exist look exactly alike.
    assert missing.json()["detail"] == read.json()["detail"]
    assert {user["id"] for user in listed.json()} == {str(manager.id), str(mine.id)}
    untouched = await _fresh(session, theirs)
    assert untouched.full_name == "Test Person"
    assert untouched.is_active


async def test_a_manager_manages_their_firm_but_grants_no_roles(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, firm: Organization
) -> None:
    manager = await create_user(session, organization=firm, role=Role.BROKER_MANAGER)
    peer = await create_user(session, organization=firm, role=Role.BROKER_MANAGER)
    broker = await create_user(session, organization=firm, role=Role.BROKER)
    token = await issue_token(session, manager, settings=settings)

    renamed = await client.patch(
        f"/api/v1/users/{broker.id}", headers=bearer(token), json={"full_name": "Renamed Broker"}
    )
    promoted = await client.patch(
        f"/api/v1/users/{broker.id}", headers=bearer(token), json={"role": "broker_manager"}
    )
    peer_disabled = await client.patch(
        f"/api/v1/users/{peer.id}", headers=bearer(token), json={"is_active": False}
    )
    self_disabled = await client.patch(
        f"/api/v1/users/{manager.id}", headers=bearer(token), json={"is_active": False}
    )

    assert renamed.status_code == 200
    assert renamed.json()["full_name"] == "Renamed Broker"
    assert promoted.status_code == 403
    assert peer_disabled.status_code == 403
    assert self_disabled.status_code == 403
    assert (await _fresh(session, broker)).role is Role.BROKER


async def test_a_manager_invites_brokers_and_borrowers_into_their_firm_only(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    firm: Organization,
    other_firm: Organization,
) -> None:
    manager = await create_user(session, organization=firm, role=Role.BROKER_MANAGER)
    token = await issue_token(session, manager, settings=settings)

    broker = await client.post(
        "/api/v1/invitations",
        headers=bearer(token),
        json={"role": "broker", "email": "new.broker@example.com"},
    )
    staff = [
        await client.post("/api/v1/invitations", headers=bearer(token), json={"role": role})
        for role in ("broker_manager", "platform_admin", "prompt_engineer")
    ]
    elsewhere = await client.post(
        "/api/v1/invitations",
        headers=bearer(token),
        json={"role": "borrower", "organization_id": str(other_firm.id)},
    )

    assert broker.status_code == 201, broker.text
    assert broker.json()["organization_id"] == str(firm.id)
    assert broker.json()["code"].startswith("omfi_")
    assert [response.status_code for response in staff] == [403, 403, 403]
    assert elsewhere.status_code == 404

    joined = await client.post(
        "/api/v1/auth/register",
        json={
            "email": "new.broker@example.com",
            "password": PASSWORD,
            "full_name": "New Broker",
            "invitation_code": broker.json()["code"],
        },
    )
    assert joined.status_code == 201
    assert (joined.json()["role"], joined.json()["organization_id"]) == ("broker", str(firm.id))
    listed = await client.get("/api/v1/invitations", headers=bearer(token))
    assert [invitation["status"] for invitation in listed.json()] == ["used"]
    assert "code" not in listed.json()[0]


async def test_only_a_platform_admin_grants_roles_and_it_is_audited(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, firm: Organization
) -> None:
    admin = await create_user(
        session, role=Role.PLATFORM_ADMIN, mfa_secret=pyotp.random_base32(), settings=settings
    )
    broker = await create_user(session, organization=firm, role=Role.BROKER)
    admin_token = await issue_token(session, admin, settings=settings)
    broker_token = await issue_token(session, broker, settings=settings)

    granted = await client.patch(
        f"/api/v1/users/{broker.id}", headers=bearer(admin_token), json={"role": "broker_manager"}
    )
    misfit = await client.patch(
        f"/api/v1/users/{broker.id}", headers=bearer(admin_token), json={"role": "platform_admin"}
    )

    assert granted.status_code == 200, granted.text
    assert granted.json()["role"] == "broker_manager"
    assert misfit.status_code == 422  # a platform role inside a broker firm
    # The old token carried the old role: it is revoked, the next sign-in carries the new one.
    assert (await client.get("/api/v1/me", headers=bearer(broker_token))).status_code == 401
    event = (
        await session.execute(
            select(AuditEvent).where(
                AuditEvent.action == "user.role_granted", AuditEvent.subject_id == str(broker.id)
            )
        )
    ).scalar_one()
    assert event.actor_user_id == admin.id
    assert event.details["before"]["role"] == "broker"
    assert event.details["after"]["role"] == "broker_manager"


async def test_a_borrower_sees_only_themselves(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, firm: Organization
) -> None:
    borrower = await create_user(session, organization=firm)
    neighbour = await create_user(session, organization=firm)
    token = await issue_token(session, borrower, settings=settings)

    listing = await client.get("/api/v1/users", headers=bearer(token))
    other = await client.get(f"/api/v1/users/{neighbour.id}", headers=bearer(token))
    organizations = await client.get("/api/v1/organizations", headers=bearer(token))

    assert listing.status_code == 403
    assert other.status_code == 403
    assert [organization["id"] for organization in organizations.json()] == [str(firm.id)]


async def test_a_broker_has_a_referral_link_and_a_borrower_has_none(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, firm: Organization
) -> None:
    broker = await create_user(session, organization=firm, role=Role.BROKER)
    borrower = await create_user(session, organization=firm)

    link = await client.get(
        "/api/v1/me/referral", headers=bearer(await issue_token(session, broker, settings=settings))
    )
    none = await client.get(
        "/api/v1/me/referral",
        headers=bearer(await issue_token(session, borrower, settings=settings)),
    )

    assert link.status_code == 200
    assert link.json()["code"] == broker.referral_code
    assert link.json()["url"].endswith(f"/register?ref={broker.referral_code}")
    assert none.status_code == 403


async def test_a_suspended_firm_signs_out_its_users(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, firm: Organization
) -> None:
    admin = await create_user(
        session, role=Role.PLATFORM_ADMIN, mfa_secret=pyotp.random_base32(), settings=settings
    )
    broker = await create_user(session, organization=firm, role=Role.BROKER)
    broker_token = await issue_token(session, broker, settings=settings)
    assert (await client.get("/api/v1/me", headers=bearer(broker_token))).status_code == 200

    suspended = await client.patch(
        f"/api/v1/organizations/{firm.id}",
        headers=bearer(await issue_token(session, admin, settings=settings)),
        json={"status": "suspended"},
    )

    assert suspended.status_code == 200
    assert (await client.get("/api/v1/me", headers=bearer(broker_token))).status_code == 401
    login = await client.post(
        "/api/v1/auth/token", json={"email": broker.email, "password": PASSWORD}
    )
    assert login.status_code == 401


async def test_an_admin_creates_and_edits_firms(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await create_user(
        session, role=Role.PLATFORM_ADMIN, mfa_secret=pyotp.random_base32(), settings=settings
    )
    token = await issue_token(session, admin, settings=settings)
    body = {"name": "Coastal Loans", "slug": "coastal", "mfa_required_roles": ["broker"]}

    created = await client.post("/api/v1/organizations", headers=bearer(token), json=body)
    duplicate = await client.post("/api/v1/organizations", headers=bearer(token), json=body)
    platform_kind = await client.post(
        "/api/v1/organizations", headers=bearer(token), json={**body, "kind": "platform"}
    )
    firm_id = created.json()["id"]
    edited = await client.patch(
        f"/api/v1/organizations/{firm_id}",
        headers=bearer(token),
        json={"status": None, "licence_number": "NMLS-77", "mfa_required_roles": None},
    )

    assert created.status_code == 201, created.text
    assert created.json()["kind"] == "broker_firm"
    assert duplicate.status_code == 409
    assert platform_kind.status_code == 422
    assert edited.status_code == 200, edited.text
    assert edited.json()["status"] == "active"
    assert edited.json()["licence_number"] == "NMLS-77"
    assert edited.json()["mfa_required_roles"] is None
    platform = await platform_organization(session)
    suspend_platform = await client.patch(
        f"/api/v1/organizations/{platform.id}", headers=bearer(token), json={"status": "suspended"}
    )
    assert suspend_platform.status_code == 409
