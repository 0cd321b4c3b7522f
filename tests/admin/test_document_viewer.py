"""The document viewer: the file beside its extracted fields, served decrypted from an
authorised route that is never cached, shown inline only when a browser renders it safely,
each opening audited; nobody outside the documents section gets it."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.models.audit import AuditEvent
from lending.models.documents import DocumentStatus
from lending.models.identity import Role
from tests.admin.conftest import browser, signed_in
from tests.documents.factories import create_document
from tests.documents.files import image_bytes, pdf_bytes
from tests.lending.factories import create_application, create_borrower


async def test_a_pdf_is_shown_beside_its_fields_decrypted_and_never_cached(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    admin = await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)
    borrower = await create_borrower(session, settings)
    application = await create_application(session, borrower)
    content = pdf_bytes("Pay stub of Jordan Rivera")
    document_id = await create_document(
        session,
        settings,
        borrower,
        application.id,
        content=content,
        status=DocumentStatus.NEEDS_REVIEW,
    )

    page = await admin.http.get(f"/admin/documents/{document_id}")
    assert page.status_code == 200
    assert f'<iframe src="/admin/documents/{document_id}/content"' in page.text
    assert page.text.index('id="viewer"') < page.text.index('id="fields"')

    served = await admin.http.get(f"/admin/documents/{document_id}/content")
    assert served.status_code == 200
    assert served.content == content  # the plaintext: decrypted on the server
    assert served.headers["content-type"] == "application/pdf"
    assert served.headers["content-disposition"].startswith("inline;")
    assert served.headers["cache-control"] == "no-store, private"
    assert served.headers["x-frame-options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in served.headers["content-security-policy"]
    actions = await session.scalars(
        select(AuditEvent.action).where(AuditEvent.subject_id == str(document_id))
    )
    assert "document.downloaded" in list(actions)


async def test_an_image_is_an_img_and_other_readers_get_nothing(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    admin = await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)
    engineer = await signed_in(admin_app, session, settings, Role.PROMPT_ENGINEER)
    borrower = await create_borrower(session, settings)
    application = await create_application(session, borrower)
    document_id = await create_document(
        session,
        settings,
        borrower,
        application.id,
        content=image_bytes("png"),
        status=DocumentStatus.NEEDS_REVIEW,
    )

    page = await admin.http.get(f"/admin/documents/{document_id}")
    assert f'<img src="/admin/documents/{document_id}/content"' in page.text
    served = await admin.http.get(f"/admin/documents/{document_id}/content")
    assert served.headers["content-type"] == "image/png"

    refused = await engineer.http.get(f"/admin/documents/{document_id}/content")
    assert refused.status_code == 403
    assert refused.content != served.content
    signed_out = await browser(admin_app).get(f"/admin/documents/{document_id}/content")
    assert signed_out.status_code == 303
    assert "/admin/login" in signed_out.headers["location"]
