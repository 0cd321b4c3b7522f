"""Firms and invitations in the back office: through the identity services (permissions,
validation, audit), the code shown once and never cached, resending replaces the code,
refusals shown as messages with nothing changed."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.identity.actor import Actor
from lending.identity.invitation_resend import invitation_resend_service
from lending.identity.invitations import invitation_service
from lending.identity.schemas import InvitationCreate
from lending.models.audit import AuditEvent
from lending.models.identity import Invitation, Organization, Role
from tests.admin.conftest import signed_in
from tests.identity.factories import create_organization, create_user

_CODE = re.compile(r"/register\?invitation=([A-Za-z0-9_\-]+)")


async def _actions(session: AsyncSession, subject_type: str) -> list[str]:
    rows = await session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.subject_type == subject_type)
        .order_by(AuditEvent.id)
    )
    return list(rows)


async def test_a_firm_is_created_and_its_members_and_invitations_are_shown(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    admin = await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)
    created = await admin.post(
        "/admin/firms", {"name": "Harbour Brokers", "slug": "harbour-brokers"}
    )
    assert created.status_code == 303, created.text
    firm_id = uuid.UUID(created.headers["location"].split("/")[-1].split("?")[0])
    firm = await session.get(Organization, firm_id)
    assert firm is not None
    await create_user(session, organization=firm, role=Role.BROKER, full_name="Bea Broker")

    page = await admin.http.get(f"/admin/firms/{firm_id}")
    assert page.status_code == 200
    assert "Harbour Brokers" in page.text
    assert "Bea Broker" in page.text
    assert await _actions(session, "organization") == ["organization.created"]

    taken = await admin.post("/admin/firms", {"name": "Other", "slug": "harbour-brokers"})
    assert taken.status_code == 409
    assert "is taken" in taken.text
    bad = await admin.post("/admin/firms", {"name": "Bad", "slug": "Not A Slug!"})
    assert bad.status_code == 422
    count = await session.scalar(
        text("SELECT count(*) FROM organization WHERE kind = 'broker_firm'")
    )
    assert count == 1

    listed = await admin.http.get("/admin/firms")
    assert f"/admin/firms/{firm_id}" in listed.text


async def test_an_invitation_is_created_resent_with_a_new_code_and_revoked(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    admin = await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)
    firm = await create_organization(session, name="Quay Lending")

    form = await admin.http.get(f"/admin/invitations?firm={firm.id}")
    assert f'<option value="{firm.id}" selected>' in form.text

    invited = await admin.post(
        "/admin/invitations",
        {"organization_id": str(firm.id), "role": "broker", "email": "new.broker@example.com"},
    )
    assert invited.status_code == 200, invited.text
    assert invited.headers["cache-control"] == "no-store"
    first = _CODE.search(invited.text)
    assert first is not None
    invitation = (await session.scalars(select(Invitation))).one()
    usable = await invitation_service.usable(
        session, code=first.group(1), email="new.broker@example.com"
    )
    assert usable.id == invitation.id
    # The code is on the page that made it only.
    again = await admin.http.get("/admin/invitations")
    assert first.group(1) not in again.text
    assert "new.broker@example.com" in again.text

    resent = await admin.post(f"/admin/invitations/{invitation.id}/resend")
    assert resent.status_code == 200, resent.text
    second = _CODE.search(resent.text)
    assert second is not None
    assert second.group(1) != first.group(1)
    await session.refresh(invitation)
    assert invitation.revoked_at is not None
    fresh = (await session.scalars(select(Invitation).where(Invitation.revoked_at.is_(None)))).one()
    assert (fresh.organization_id, fresh.role, fresh.email) == (
        firm.id,
        Role.BROKER,
        "new.broker@example.com",
    )

    revoked = await admin.post(f"/admin/invitations/{fresh.id}/revoke")
    assert revoked.status_code == 303
    await session.refresh(fresh)
    assert fresh.revoked_at is not None
    assert await _actions(session, "invitation") == [
        "invitation.created",
        "invitation.revoked",
        "invitation.created",
        "invitation.resent",
        "invitation.revoked",
    ]


async def test_an_invitation_the_service_refuses_is_a_message_and_nothing_is_made(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    admin = await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)
    firm = await create_organization(session)
    taken = await create_user(session, organization=firm, role=Role.BROKER)

    exists = await admin.post(
        "/admin/invitations",
        {"organization_id": str(firm.id), "role": "broker", "email": taken.email},
    )
    assert exists.status_code == 409
    assert "already exists" in exists.text
    misplaced = await admin.post(
        "/admin/invitations", {"organization_id": str(firm.id), "role": "platform_admin"}
    )
    assert misplaced.status_code == 422
    assert "belongs to the platform organization" in misplaced.text
    no_csrf = await admin.http.post(
        "/admin/invitations", data={"organization_id": str(firm.id), "role": "broker"}
    )
    assert no_csrf.status_code == 403
    assert await session.scalar(text("SELECT count(*) FROM invitation")) == 0


async def test_a_prompt_engineer_cannot_open_firms_or_invitations(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    engineer = await signed_in(admin_app, session, settings, Role.PROMPT_ENGINEER)
    for path in ("/admin/firms", "/admin/invitations"):
        assert (await engineer.http.get(path)).status_code == 403, path
    firm = await create_organization(session)
    posted = await engineer.post(
        "/admin/invitations", {"organization_id": str(firm.id), "role": "broker"}
    )
    assert posted.status_code == 403
    assert await session.scalar(text("SELECT count(*) FROM invitation")) == 0


async def test_a_resent_invitation_keeps_the_first_one_s_lifetime(
    session: AsyncSession, settings: Settings
) -> None:
    """Resending makes a new code valid for as long as the first was (48 hours here), from now,
    not the default week."""
    admin = await create_user(session, role=Role.PLATFORM_ADMIN)
    firm = await create_organization(session, name="Short Notice Lending")
    actor = Actor.for_user(admin.id, admin.role, admin.organization_id)
    first = await invitation_service.create(
        session,
        actor,
        settings=settings,
        data=InvitationCreate(role=Role.BROKER, organization_id=firm.id, expires_in_hours=48),
    )
    second = await invitation_resend_service.resend(
        session, actor, settings=settings, invitation_id=first.id
    )
    fresh = await session.get(Invitation, second.id)
    assert fresh is not None
    lifetime = fresh.expires_at - fresh.created_at
    assert abs(lifetime - timedelta(hours=48)) < timedelta(minutes=1)  # not the default week
