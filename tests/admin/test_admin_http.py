"""The back office over HTTP: sign-in (MFA, cookie flags), CSRF refusals, role gating, and each
action going through its service (audit row, maker-checker, 409s shown on the page)."""

from __future__ import annotations

import uuid
from datetime import date

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agents.prompts.schemas import PromptCreate, VersionCreate
from agents.prompts.service import prompt_service
from lending.commissions.accrual import accrual_service
from lending.config import Settings
from lending.models.applications import Application, ApplicationStatus
from lending.models.audit import AuditEvent
from lending.models.commissions import BatchStatus, PayoutBatch, PayoutBatchItem
from lending.models.documents import Document, DocumentStatus
from lending.models.identity import Role, User
from lending.models.prompts import PromptCategory, PromptLabelName
from tests.admin.conftest import Signed, browser, create_staff, csrf_of, sign_in, signed_in
from tests.api.lending_world import submitted_application
from tests.commissions.factories import create_loan, create_rule
from tests.documents.factories import create_document
from tests.identity.factories import actor_of, create_organization, create_user
from tests.lending.factories import create_application, create_borrower


async def _audit_actions(session: AsyncSession, subject_id: uuid.UUID) -> list[str]:
    rows = await session.execute(
        select(AuditEvent.action)
        .where(AuditEvent.subject_id == str(subject_id))
        .order_by(AuditEvent.id)
    )
    return list(rows.scalars())


# Sign-in


async def test_sign_in_sets_a_strict_http_only_cookie_scoped_to_the_back_office(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    user, totp = await create_staff(session, settings)
    async with browser(admin_app) as http:
        answer = await sign_in(http, user, totp)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/admin/"
    cookie = next(
        v for k, v in answer.headers.multi_items() if k == "set-cookie" and "omnifin_admin=" in v
    )
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "samesite", "path"} <= flags
    assert "samesite=strict" in cookie.lower()
    assert "path=/admin" in cookie.lower()
    assert "secure" not in flags  # plain http on a developer's machine


async def test_behind_tls_the_cookie_is_secure(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    user, totp = await create_staff(session, settings)
    async with browser(admin_app, "https://testserver") as http:
        answer = await sign_in(http, user, totp)
    cookie = next(
        v for k, v in answer.headers.multi_items() if k == "set-cookie" and "omnifin_admin=" in v
    )
    assert "secure" in {part.strip().lower() for part in cookie.split(";")}


async def test_a_staff_role_without_a_second_factor_is_refused(
    admin_app: httpx.ASGITransport, session: AsyncSession
) -> None:
    user = await create_user(session, role=Role.PROMPT_ENGINEER)  # no TOTP
    async with browser(admin_app) as http:
        answer = await sign_in(http, user, None)
        assert answer.status_code == 403
        assert "two-factor authentication" in answer.text
        assert "omnifin_admin=" not in answer.headers.get("set-cookie", "")
        assert (await http.get("/admin/prompts")).status_code == 303  # still signed out


async def test_the_code_is_asked_for_when_missing_and_a_wrong_one_is_refused(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    user, _ = await create_staff(session, settings)
    async with browser(admin_app) as http:
        without = await sign_in(http, user, None)
        assert without.status_code == 401
        assert "six-digit code" in without.text
        form = await http.get("/admin/login")
        wrong = await http.post(
            "/admin/login",
            data={
                "email": user.email,
                "password": "plum-orbit-velvet-42",
                "otp": "000000",
                "csrf_token": csrf_of(form.text),
            },
        )
        assert wrong.status_code == 401


async def test_a_borrower_cannot_sign_in_to_the_back_office(
    admin_app: httpx.ASGITransport, session: AsyncSession
) -> None:
    borrower = await create_user(session, role=Role.BORROWER)
    async with browser(admin_app) as http:
        answer = await sign_in(http, borrower, None)
    assert answer.status_code == 403
    assert "platform administrators and prompt engineers" in answer.text


async def test_the_sign_in_form_needs_its_csrf_token(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    user, totp = await create_staff(session, settings)
    async with browser(admin_app) as http:
        await http.get("/admin/login")
        answer = await http.post(
            "/admin/login",
            data={"email": user.email, "password": "plum-orbit-velvet-42", "otp": totp.now()},
        )
    assert answer.status_code == 403
    assert "omnifin_admin=" not in answer.headers.get("set-cookie", "")


async def test_signed_out_pages_send_to_the_sign_in_form_and_back(
    admin_app: httpx.ASGITransport,
) -> None:
    async with browser(admin_app) as http:
        answer = await http.get("/admin/people?role=broker")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/admin/login?next=%2Fadmin%2Fpeople%3Frole%3Dbroker"


async def test_sign_out_revokes_the_session(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    admin = await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)
    answer = await admin.post("/admin/logout")
    assert answer.status_code == 303
    # Even a copy of the old cookie is worth nothing now.
    token = answer.headers.get("set-cookie", "")
    assert 'omnifin_admin=""' in token or "omnifin_admin=;" in token
    assert (await admin.http.get("/admin/dashboard")).status_code == 303


# CSRF and roles


async def test_a_form_without_the_csrf_token_changes_nothing(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    admin = await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)
    target = await create_user(
        session, role=Role.BROKER, organization=await create_organization(session)
    )

    missing = await admin.http.post(f"/admin/people/{target.id}/active", data={"active": "false"})
    forged = await admin.http.post(
        f"/admin/people/{target.id}/active", data={"active": "false", "csrf_token": "0" * 64}
    )

    assert missing.status_code == forged.status_code == 403
    assert "did not come from this site" in missing.text
    await session.refresh(target)
    assert target.is_active
    assert await _audit_actions(session, target.id) == []


async def test_a_prompt_engineer_sees_only_prompts_and_gets_403_elsewhere(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    engineer = await signed_in(admin_app, session, settings, Role.PROMPT_ENGINEER)
    home = await engineer.http.get("/admin/", follow_redirects=True)
    assert str(home.url).endswith("/admin/prompts")
    assert 'href="/admin/prompts"' in home.text
    assert 'href="/admin/people"' not in home.text
    for path in ("/admin/dashboard", "/admin/people", "/admin/audit", "/admin/applications"):
        answer = await engineer.http.get(path)
        assert answer.status_code == 403, path
        assert "Not allowed" in answer.text


async def test_an_admin_sees_every_section(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    admin = await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)
    for path in (
        "/admin/dashboard",
        "/admin/applications",
        "/admin/documents",
        "/admin/commissions/batches",
        "/admin/lenders",
        "/admin/lenders/performance",
        "/admin/people",
        "/admin/audit",
        "/admin/prompts",
        "/admin/evals",
        "/admin/conversations",
        "/admin/knowledge",
        "/admin/knowledge/search",
    ):
        answer = await admin.http.get(path)
        assert answer.status_code == 200, (path, answer.text[:500])
        assert answer.headers["content-security-policy"].startswith("default-src 'self'")


# Actions through the services


async def _payable_world(session: AsyncSession, maker: User) -> None:
    firm = await create_organization(session)
    broker = await create_user(session, organization=firm, role=Role.BROKER)
    await create_rule(session, maker, splits={"platform": "20", "firm": "10", "broker": "70"})
    await create_loan(session, firm, broker=broker)
    await accrual_service.accrue_pending(session)


async def test_maker_checker_the_maker_is_refused_on_the_page_and_another_admin_approves(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    maker = await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)
    checker = await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)
    await _payable_world(session, maker.user)

    drafted = await maker.post("/admin/commissions/batches", {"cutoff_on": "2026-12-31"})
    assert drafted.status_code == 303
    batch_id = uuid.UUID(drafted.headers["location"].split("/")[-1].split("?")[0])

    refused = await maker.post(f"/admin/commissions/batches/{batch_id}/approve")
    assert refused.status_code == 403
    assert "Maker-checker" in refused.text
    batch = await session.get(PayoutBatch, batch_id)
    assert batch is not None
    await session.refresh(batch)
    assert batch.status is BatchStatus.DRAFT

    approved = await checker.post(f"/admin/commissions/batches/{batch_id}/approve")
    assert approved.status_code == 303
    exported = await checker.post(f"/admin/commissions/batches/{batch_id}/export")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    paid = await maker.post(f"/admin/commissions/batches/{batch_id}/paid", {"reference": "BANK-1"})
    assert paid.status_code == 303
    again = await maker.post(f"/admin/commissions/batches/{batch_id}/paid", {"reference": "BANK-2"})
    assert again.status_code == 409
    assert "Only a exported batch" in again.text or "exported" in again.text

    await session.refresh(batch)
    assert (batch.status, batch.approved_by_user_id) == (BatchStatus.PAID, checker.user.id)
    assert await _audit_actions(session, batch_id) == [
        "commission.batch_created",
        "commission.batch_approved",
        "commission.batch_exported",
        "commission.batch_paid",
    ]
    listed = await maker.http.get("/admin/commissions/batches?status=paid")
    assert f"/admin/commissions/batches/{batch_id}" in listed.text


async def test_each_payee_gets_a_pdf_statement_once_the_batch_is_exported(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    maker = await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)
    checker = await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)
    await _payable_world(session, maker.user)
    drafted = await maker.post("/admin/commissions/batches", {"cutoff_on": "2026-12-31"})
    batch_id = uuid.UUID(drafted.headers["location"].split("/")[-1].split("?")[0])
    assert (await checker.post(f"/admin/commissions/batches/{batch_id}/approve")).status_code == 303
    payees = (
        await session.scalars(
            select(PayoutBatchItem.payee_id).where(PayoutBatchItem.batch_id == batch_id).distinct()
        )
    ).all()
    assert payees
    statement = f"/admin/commissions/batches/{batch_id}/statements/{payees[0]}"

    approved_page = await checker.http.get(f"/admin/commissions/batches/{batch_id}")
    assert "PDF statement of" not in approved_page.text  # statements come with the export
    early = await checker.http.get(statement)
    assert early.status_code == 409
    assert "Statements come with the export; this batch is approved." in early.text

    assert (await checker.post(f"/admin/commissions/batches/{batch_id}/export")).status_code == 200
    exported_page = await checker.http.get(f"/admin/commissions/batches/{batch_id}")
    for payee_id in payees:
        assert f'href="/admin/commissions/batches/{batch_id}/statements/{payee_id}"' in (
            exported_page.text
        )
    pdf = await checker.http.get(statement)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith("attachment;")
    assert pdf.content.startswith(b"%PDF")
    stranger = await checker.http.get(
        f"/admin/commissions/batches/{batch_id}/statements/{uuid.uuid4()}"
    )
    assert stranger.status_code == 404
    assert "This payee is not in the batch." in stranger.text


async def test_a_stale_decision_is_a_409_message_and_a_fresh_one_moves_the_application(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    admin = await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)
    borrower = await create_borrower(session, settings)
    application, _ = await submitted_application(session, borrower)
    row = await session.get(Application, application.id)
    assert row is not None
    version = row.version

    stale = await admin.post(
        f"/admin/applications/{application.id}/transition",
        {"to_status": "under_review", "reason": "checking", "version": str(version - 1)},
    )
    assert stale.status_code == 409
    assert 'role="alert"' in stale.text

    moved = await admin.post(
        f"/admin/applications/{application.id}/transition",
        {"to_status": "under_review", "reason": "checking", "version": str(version)},
    )
    assert moved.status_code == 303
    await session.refresh(row)
    assert row.status is ApplicationStatus.UNDER_REVIEW
    assert "application.under_review" in await _audit_actions(session, application.id)
    page = await admin.http.get(moved.headers["location"])
    assert "The application was moved." in page.text
    assert "checking" in page.text  # the timeline shows the reason


async def test_deactivating_and_reactivating_a_person_is_audited(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    admin = await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)
    target = await create_user(
        session, role=Role.BROKER, organization=await create_organization(session)
    )

    off = await admin.post(f"/admin/people/{target.id}/active", {"active": "false"})
    on = await admin.post(f"/admin/people/{target.id}/active", {"active": "true"})
    myself = await admin.post(f"/admin/people/{admin.user.id}/active", {"active": "false"})

    assert off.status_code == on.status_code == 303
    assert myself.status_code == 403
    assert "cannot change your own" in myself.text
    assert await _audit_actions(session, target.id) == ["user.deactivated", "user.activated"]


async def test_lists_page_by_keyset_and_search(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    admin = await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)
    borrower = await create_borrower(session, settings)
    made = [await create_application(session, borrower) for _ in range(3)]
    references = {a.reference for a in made}

    first = await admin.http.get("/admin/applications", params={"q": borrower.email, "limit": 2})
    assert first.status_code == 200
    on_first = {r for r in references if r in first.text}
    assert len(on_first) == 2
    next_link = first.text.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    second = await admin.http.get(next_link.replace("&amp;", "&"))
    on_second = {r for r in references if r in second.text}
    assert on_second == references - on_first
    assert "End of the list" in second.text

    garbled = await admin.http.get("/admin/applications", params={"cursor": "not-a-cursor"})
    assert garbled.status_code == 422


async def test_the_audit_chain_is_verified_from_the_page(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    admin = await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)
    answer = await admin.http.post(
        "/admin/audit/verify",
        headers={"X-CSRF-Token": admin.csrf, "HX-Request": "true", "HX-Target": "chain"},
    )
    assert answer.status_code == 200
    assert answer.text.lstrip().startswith('<div id="chain"')  # only the fragment
    assert "The chain is intact" in answer.text

    events = await admin.http.get(
        "/admin/audit", params={"actor": str(admin.user.id), "action": "auth.login"}
    )
    assert events.status_code == 200
    assert "auth.login" in events.text


async def test_documents_queue_and_dashboard_render_for_an_admin(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    admin = await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)
    await create_application(session, await create_borrower(session, settings))
    dashboard = await admin.http.get("/admin/dashboard")
    assert "Applications started" in dashboard.text
    queue = await admin.http.get("/admin/documents")
    assert queue.status_code == 200
    assert date.today().isoformat() in (await admin.http.get("/admin/commissions/batches")).text


async def test_unknown_rows_are_a_404_page(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    admin: Signed = await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)
    answer = await admin.http.get(f"/admin/applications/{uuid.uuid4()}")
    assert answer.status_code == 404
    assert "Not found" in answer.text


async def test_a_reviewer_verifies_one_document_and_rejects_another_with_a_reason(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    admin = await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)
    borrower = await create_borrower(session, settings)
    application = await create_application(session, borrower)
    good = await create_document(
        session, settings, borrower, application.id, status=DocumentStatus.EXTRACTED
    )
    bad = await create_document(
        session, settings, borrower, application.id, status=DocumentStatus.NEEDS_REVIEW
    )

    queue = await admin.http.get("/admin/documents")
    assert f"/admin/documents/{good}" in queue.text
    assert f"/admin/documents/{bad}" in queue.text
    no_reason = await admin.post(f"/admin/documents/{bad}/reject", {"reason": "  "})
    verified = await admin.post(f"/admin/documents/{good}/verify")
    rejected = await admin.post(f"/admin/documents/{bad}/reject", {"reason": "Blurred scan"})
    twice = await admin.post(f"/admin/documents/{good}/verify")

    assert no_reason.status_code == 422
    assert verified.status_code == rejected.status_code == 303
    assert twice.status_code == 409  # a verified document is final
    statuses = {
        row.id: (row.status, row.status_reason)
        for row in (
            await session.execute(select(Document).where(Document.id.in_([good, bad])))
        ).scalars()
    }
    assert statuses[good][0] is DocumentStatus.VERIFIED
    assert statuses[bad] == (DocumentStatus.REJECTED, "Blurred scan")
    assert (await _audit_actions(session, good))[-1] == "document.verified"
    assert (await _audit_actions(session, good)).count("document.verified") == 1
    assert "document.rejected" in await _audit_actions(session, bad)
    after = await admin.http.get("/admin/documents")
    assert f"/admin/documents/{good}" not in after.text


async def test_a_prompt_label_is_moved_from_the_page_by_a_prompt_engineer_only(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    engineer = await signed_in(admin_app, session, settings, Role.PROMPT_ENGINEER)
    admin = await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)
    name = "admin_tests.label_move"
    await prompt_service.create_prompt(
        session,
        actor_of(engineer.user),
        data=PromptCreate(
            name=name, category=PromptCategory.SYSTEM, description="test", text="One"
        ),
    )
    await prompt_service.create_version(
        session, actor_of(engineer.user), name=name, data=VersionCreate(text="Two")
    )

    diff = await engineer.http.get(f"/admin/prompts/{name}", params={"from": 1, "to": 2})
    assert "-One" in diff.text
    assert "+Two" in diff.text
    refused = await admin.post(
        f"/admin/prompts/{name}/labels", {"label": "production", "version": "2"}
    )
    assert refused.status_code == 403  # an administrator reads prompts, does not publish them
    published = await engineer.post(
        f"/admin/prompts/{name}/labels", {"label": "production", "version": "2"}
    )
    rolled_back = await engineer.post(
        f"/admin/prompts/{name}/labels", {"label": "production", "version": "1"}
    )
    assert published.status_code == rolled_back.status_code == 303
    detail = await prompt_service.get(session, actor_of(engineer.user), name=name)
    assert detail.labels[PromptLabelName.PRODUCTION] == 1
