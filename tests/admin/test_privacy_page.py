"""The back office's erasure-requests queue and staff export: an admin who asked for an erasure
is refused on the page (maker-checker) and another approves it, seeing first what goes, what is
kept and why; a form without its CSRF token changes nothing; a prompt engineer cannot open the
page; a staff export is a ZIP and is audited."""

from __future__ import annotations

import io
import uuid
import zipfile

import httpx
import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.models.audit import AuditEvent
from lending.models.identity import Role, User
from lending.models.privacy import ErasureRequest
from lending.privacy.schemas import ErasureRequestCreate
from lending.privacy.service import privacy_service
from tests.admin.conftest import signed_in
from tests.identity.factories import actor_of
from tests.lending.factories import create_application, create_borrower, give_consent


async def _actions(session: AsyncSession, subject_id: uuid.UUID) -> list[str]:
    rows = await session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.subject_id == str(subject_id))
        .order_by(AuditEvent.id)
    )
    return list(rows)


async def test_the_requester_is_refused_and_another_admin_approves_after_seeing_the_plan(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    maker = await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)
    checker = await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)
    borrower = await create_borrower(session, settings)
    await give_consent(session, borrower)
    await create_application(session, borrower)
    request = await privacy_service.request_erasure(
        session,
        actor_of(maker.user),
        data=ErasureRequestCreate(user_id=borrower.id, reason="asked us by letter"),
    )
    await session.commit()

    queue = await checker.http.get("/admin/privacy")
    assert queue.status_code == 200
    assert f"/admin/privacy/{request.id}" in queue.text
    assert borrower.full_name in queue.text

    own = await maker.http.get(f"/admin/privacy/{request.id}")
    assert "another administrator must review it" in own.text
    refused = await maker.post(
        f"/admin/privacy/{request.id}/review", {"approve": "true", "note": "fine"}
    )
    assert refused.status_code == 403
    assert "maker-checker" in refused.text
    forged = await checker.http.post(
        f"/admin/privacy/{request.id}/review", data={"approve": "true", "csrf_token": "0" * 64}
    )
    assert forged.status_code == 403
    await session.refresh(request)
    assert request.status == "pending"

    plan = await checker.http.get(f"/admin/privacy/{request.id}")
    assert "What approving it does" in plan.text
    assert "borrower profile" in plan.text
    assert "kept by law: a record of a credit decision" in plan.text  # why, per table
    assert "Approve and erase" in plan.text

    approved = await checker.post(
        f"/admin/privacy/{request.id}/review", {"approve": "true", "note": "no legal hold"}
    )
    assert approved.status_code == 303
    done = await checker.http.get(approved.headers["location"])
    assert "the person&#39;s data was erased" in done.text or "data was erased" in done.text
    assert "Kept, and why" in done.text
    await session.refresh(request)
    assert (request.status, request.reviewed_by_user_id) == ("completed", checker.user.id)
    erased = await session.get(User, borrower.id)
    assert erased is not None
    await session.refresh(erased)
    assert erased.full_name == request.pseudonym
    assert not erased.is_active
    assert await _actions(session, request.id) == ["privacy.erasure_requested", "privacy.erased"]
    again = await checker.post(f"/admin/privacy/{request.id}/review", {"approve": "false"})
    assert again.status_code == 409


async def test_a_rejection_erases_nothing_and_the_list_filters_by_status(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    admin = await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)
    borrower = await create_borrower(session, settings)
    request = await privacy_service.request_erasure(
        session, actor_of(borrower), data=ErasureRequestCreate(reason="please forget me")
    )
    await session.commit()
    rejected = await admin.post(
        f"/admin/privacy/{request.id}/review", {"approve": "false", "note": "open dispute"}
    )
    assert rejected.status_code == 303
    await session.refresh(request)
    assert request.status == "rejected"
    person = await session.get(User, borrower.id)
    assert person is not None
    assert person.email.endswith("@example.com")
    pending = await admin.http.get("/admin/privacy?status=pending")
    assert f"/admin/privacy/{request.id}" not in pending.text
    listed = await admin.http.get("/admin/privacy?status=rejected")
    assert f"/admin/privacy/{request.id}" in listed.text
    bad = await admin.http.get("/admin/privacy?status=sideways")
    assert bad.status_code == 422


async def test_a_staff_export_is_a_zip_of_the_persons_data_and_is_audited(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    admin = await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)
    borrower = await create_borrower(session, settings)
    await session.commit()
    answer = await admin.post("/admin/privacy/export", {"user_id": str(borrower.id)})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        manifest = orjson.loads(archive.read("manifest.json"))
        account = orjson.loads(archive.read("data/user_account.json"))
    assert manifest["person"] == str(borrower.id)
    assert account[0]["email"] == borrower.email
    event = await session.scalar(
        select(AuditEvent)
        .where(AuditEvent.action == "privacy.exported", AuditEvent.subject_id == str(borrower.id))
        .order_by(AuditEvent.id.desc())
    )
    assert event is not None
    assert (event.actor_user_id, event.details["by_staff"]) == (admin.user.id, True)

    not_an_id = await admin.post("/admin/privacy/export", {"user_id": "jane@example.com"})
    assert not_an_id.status_code == 422
    assert "not a person" in not_an_id.text
    nobody = await admin.post("/admin/privacy/export", {"user_id": str(uuid.uuid4())})
    assert nobody.status_code == 404
    missing_csrf = await admin.http.post(
        "/admin/privacy/export", data={"user_id": str(borrower.id)}
    )
    assert missing_csrf.status_code == 403


async def test_a_prompt_engineer_cannot_open_the_privacy_pages(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    engineer = await signed_in(admin_app, session, settings, Role.PROMPT_ENGINEER)
    borrower = await create_borrower(session, settings)
    request = await privacy_service.request_erasure(
        session, actor_of(borrower), data=ErasureRequestCreate(reason="please forget me")
    )
    await session.commit()
    for path in ("/admin/privacy", f"/admin/privacy/{request.id}"):
        answer = await engineer.http.get(path)
        assert answer.status_code == 403, path
    refused = await engineer.post(f"/admin/privacy/{request.id}/review", {"approve": "true"})
    assert refused.status_code == 403
    assert (
        await session.scalar(select(ErasureRequest.status).where(ErasureRequest.id == request.id))
    ) == "pending"
