"""Uploading a knowledge file from the back office: through knowledge_ingest.submit (the
API's path), a pending version whose ingestion is queued for the worker; a file the service
refuses is a message and saves nothing; the upload form is CSRF-protected."""

from __future__ import annotations

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.models.identity import Role
from lending.models.knowledge import KnowledgeVersion
from tests.admin.conftest import signed_in

GUIDE = (
    b"---\ntitle: Early repayment\n---\n\n# Early repayment\n\nYou may repay early at no cost.\n"
)


async def test_a_prompt_engineer_uploads_a_file_and_its_ingestion_is_queued(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    engineer = await signed_in(admin_app, session, settings, Role.PROMPT_ENGINEER)
    form = await engineer.http.get("/admin/knowledge")
    assert 'enctype="multipart/form-data"' in form.text

    uploaded = await engineer.http.post(
        "/admin/knowledge",
        data={"csrf_token": engineer.csrf, "key": "early-repayment", "change_note": "first"},
        files={"file": ("early.md", GUIDE, "text/markdown")},
    )
    assert uploaded.status_code == 303, uploaded.text
    assert uploaded.headers["location"].endswith("?done=queued")
    version = (await session.scalars(select(KnowledgeVersion))).one()
    assert (version.ingest_status, version.status) == ("pending", "draft")
    queued = await session.scalar(
        text("SELECT count(*) FROM procrastinate_jobs WHERE queue_name = 'knowledge'")
    )
    assert queued == 1

    page = await engineer.http.get(uploaded.headers["location"])
    assert "the worker is parsing and embedding it" in page.text
    assert "pending" in page.text

    again = await engineer.http.post(
        "/admin/knowledge",
        data={"csrf_token": engineer.csrf, "key": "early-repayment"},
        files={"file": ("early.md", GUIDE, "text/markdown")},
    )
    assert again.headers["location"].endswith("?done=unchanged")


async def test_a_refused_file_is_a_message_and_nothing_is_saved(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    engineer = await signed_in(admin_app, session, settings, Role.PROMPT_ENGINEER)
    refused = await engineer.http.post(
        "/admin/knowledge",
        data={"csrf_token": engineer.csrf},
        files={"file": ("tool.exe", b"MZ\x90\x00binary", "application/octet-stream")},
    )
    assert refused.status_code == 415, refused.text
    assert 'role="alert"' in refused.text
    bad_key = await engineer.http.post(
        "/admin/knowledge",
        data={"csrf_token": engineer.csrf, "key": "Not a key!"},
        files={"file": ("early.md", GUIDE, "text/markdown")},
    )
    assert bad_key.status_code == 422
    no_csrf = await engineer.http.post(
        "/admin/knowledge", files={"file": ("early.md", GUIDE, "text/markdown")}
    )
    assert no_csrf.status_code == 403
    assert await session.scalar(text("SELECT count(*) FROM knowledge_version")) == 0
