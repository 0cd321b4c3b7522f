"""Two-factor reset with maker-checker: asked by one platform administrator, approved by
another (never the asker nor the person reset); approval removes the second factor and ends
every session; each step audited in the same transaction; refusals change nothing."""

from __future__ import annotations

import httpx
import pyotp
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.errors import Conflict, PermissionDenied
from lending.identity.mfa_reset import MfaResetMakerChecker, mfa_reset_service
from lending.identity.schemas import MfaResetCreate
from lending.kv import MemoryStore
from lending.models.audit import AuditEvent
from lending.models.identity import MfaResetRequest, MfaResetStatus, Role, User
from tests.admin.conftest import signed_in
from tests.identity.factories import actor_of, create_organization, create_user


async def _actions(session: AsyncSession, user: User) -> list[str]:
    rows = await session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.subject_id == str(user.id), AuditEvent.action.like("mfa_reset.%"))
        .order_by(AuditEvent.id)
    )
    return list(rows)


async def _broker_with_mfa(session: AsyncSession, settings: Settings) -> User:
    firm = await create_organization(session)
    return await create_user(
        session,
        organization=firm,
        role=Role.BROKER,
        mfa_secret=pyotp.random_base32(),
        settings=settings,
    )


async def test_one_admin_asks_the_same_admin_is_refused_another_approves(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    maker = await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)
    checker = await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)
    broker = await _broker_with_mfa(session, settings)

    blank = await maker.post("/admin/mfa-resets", {"user_id": str(broker.id), "reason": " "})
    assert blank.status_code == 422
    asked = await maker.post(
        "/admin/mfa-resets", {"user_id": str(broker.id), "reason": "Lost phone and codes"}
    )
    assert asked.status_code == 303, asked.text
    request = (await session.scalars(select(MfaResetRequest))).one()
    page = await checker.http.get(f"/admin/people/{broker.id}")
    assert "Lost phone and codes" in page.text
    assert f"/admin/mfa-resets/{request.id}/approve" in page.text
    own_page = await maker.http.get(f"/admin/people/{broker.id}")
    assert "Lost phone and codes" in own_page.text
    assert f"/admin/mfa-resets/{request.id}/approve" not in own_page.text

    twice = await checker.post(
        "/admin/mfa-resets", {"user_id": str(broker.id), "reason": "Asked again"}
    )
    assert twice.status_code == 409
    assert "already waiting" in twice.text

    own_queue = await maker.http.get("/admin/mfa-resets")
    assert "Waiting for another administrator" in own_queue.text
    assert f"/admin/mfa-resets/{request.id}/approve" not in own_queue.text  # no button to press
    refused = await maker.post(f"/admin/mfa-resets/{request.id}/approve")
    assert refused.status_code == 403
    assert "Maker-checker" in refused.text
    await session.refresh(broker)
    assert broker.mfa_enabled

    queue = await checker.http.get("/admin/mfa-resets")
    assert "Lost phone and codes" in queue.text
    approved = await checker.post(f"/admin/mfa-resets/{request.id}/approve")
    assert approved.status_code == 303, approved.text
    await session.refresh(broker)
    await session.refresh(request)
    assert not broker.mfa_enabled
    assert broker.mfa_secret_encrypted is None
    assert (request.status, request.decided_by_user_id) == (
        MfaResetStatus.APPROVED,
        checker.user.id,
    )
    codes = await session.scalar(
        text("SELECT count(*) FROM mfa_recovery_code WHERE user_id = :id"), {"id": broker.id}
    )
    assert codes == 0
    again = await checker.post(f"/admin/mfa-resets/{request.id}/approve")
    assert again.status_code == 409
    assert await _actions(session, broker) == ["mfa_reset.requested", "mfa_reset.approved"]


async def test_an_admin_cannot_approve_their_own_reset_and_approval_ends_their_sessions(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    maker = await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)
    target = await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)
    checker = await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)
    asked = await maker.post(
        "/admin/mfa-resets", {"user_id": str(target.user.id), "reason": "New authenticator"}
    )
    assert asked.status_code == 303
    request = (await session.scalars(select(MfaResetRequest))).one()

    own = await target.post(f"/admin/mfa-resets/{request.id}/approve")
    assert own.status_code == 403
    assert (await target.http.get("/admin/dashboard")).status_code == 200

    approved = await checker.post(f"/admin/mfa-resets/{request.id}/approve")
    assert approved.status_code == 303
    signed_out = await target.http.get("/admin/dashboard")
    assert signed_out.status_code == 303
    assert "/admin/login" in signed_out.headers["location"]


async def test_the_service_refuses_without_mfa_and_a_withdrawn_request_cannot_be_approved(
    session: AsyncSession, settings: Settings
) -> None:
    first = actor_of(await create_user(session, role=Role.PLATFORM_ADMIN))
    second = actor_of(await create_user(session, role=Role.PLATFORM_ADMIN))
    plain = await create_user(
        session, role=Role.BROKER, organization=await create_organization(session)
    )
    with pytest.raises(Conflict, match="not on"):
        await mfa_reset_service.request(
            session, first, user_id=plain.id, data=MfaResetCreate(reason="nothing to reset")
        )

    broker = await _broker_with_mfa(session, settings)
    asked = await mfa_reset_service.request(
        session, first, user_id=broker.id, data=MfaResetCreate(reason="Lost phone")
    )
    # The audit row is written in the same transaction as the request.
    assert await _actions(session, broker) == ["mfa_reset.requested"]
    with pytest.raises(MfaResetMakerChecker):
        await mfa_reset_service.approve(session, first, store=MemoryStore(), request_id=asked.id)
    await mfa_reset_service.cancel(session, first, request_id=asked.id)
    with pytest.raises(Conflict, match="already cancelled"):
        await mfa_reset_service.approve(session, second, store=MemoryStore(), request_id=asked.id)
    await session.refresh(broker)
    assert broker.mfa_enabled
    assert await _actions(session, broker) == ["mfa_reset.requested", "mfa_reset.cancelled"]
    broker_actor = actor_of(broker)
    with pytest.raises(PermissionDenied):
        await mfa_reset_service.request(
            session, broker_actor, user_id=broker.id, data=MfaResetCreate(reason="myself")
        )
