"""The privacy routes and tools: the same service and permission checks through REST and the
assistant's tool layer."""

from __future__ import annotations

import io
import zipfile

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.db import SessionMaker
from lending.models.identity import Role
from lending.privacy.repository import PrivacyRepository
from tests.commissions.factories import create_admin
from tests.identity.factories import bearer, create_user, issue_token
from tests.privacy.world import build_world
from tests.tools.support import context_for
from tools.base import ToolError
from tools.privacy import DataCopyRead, ErasureRequestedRead
from tools.registry import registry


async def test_rest_export_and_erasure_with_four_eyes(
    doc_client: httpx.AsyncClient, session: AsyncSession, doc_settings: Settings
) -> None:
    world = await build_world(session, doc_settings)
    borrower_h = bearer(await issue_token(session, world.borrower, settings=doc_settings))
    reviewer = await create_admin(session)
    admin_h = bearer(await issue_token(session, world.admin, settings=doc_settings))
    reviewer_h = bearer(await issue_token(session, reviewer, settings=doc_settings))

    own = await doc_client.get("/api/v1/privacy/export", headers=borrower_h)
    assert own.status_code == 200, own.text
    assert own.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(own.content)) as archive:
        assert "data/chat_message.json" in archive.namelist()
        documents = [n for n in archive.namelist() if n.startswith("documents/")]
        assert archive.read(documents[0]) == world.document_bytes

    other = await doc_client.get(f"/api/v1/privacy/export/{reviewer.id}", headers=borrower_h)
    assert other.status_code == 403
    staff = await doc_client.get(f"/api/v1/privacy/export/{world.borrower.id}", headers=admin_h)
    assert staff.status_code == 200

    asked = await doc_client.post(
        "/api/v1/privacy/erasure-requests",
        json={"user_id": str(world.borrower.id), "reason": "asked by phone"},
        headers=admin_h,
    )
    assert asked.status_code == 201, asked.text
    request_id = asked.json()["id"]
    own_review = await doc_client.post(
        f"/api/v1/privacy/erasure-requests/{request_id}/review",
        json={"approve": True},
        headers=admin_h,
    )
    assert own_review.status_code == 403
    assert "maker-checker" in own_review.text
    approved = await doc_client.post(
        f"/api/v1/privacy/erasure-requests/{request_id}/review",
        json={"approve": True, "note": "checked"},
        headers=reviewer_h,
    )
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["status"] == "completed"
    assert "loan_application" in body["report"]["anonymised"] or body["report"]["removed"]
    assert body["report"]["kept"]["audit_event"]["why"].startswith("kept")
    # The erased person's token no longer works.
    gone = await doc_client.get("/api/v1/privacy/export", headers=borrower_h)
    assert gone.status_code == 401


async def test_the_tools_give_a_copy_and_ask_before_requesting_erasure(
    session: AsyncSession, sessionmaker: SessionMaker, doc_settings: Settings
) -> None:
    world = await build_world(session, doc_settings)
    context = context_for(world.borrower, sessionmaker, doc_settings)
    copy = await registry.execute("get_my_data_copy", {}, context)
    assert isinstance(copy, DataCopyRead)
    assert copy.download_path == "/api/v1/privacy/export"
    assert copy.records["chat_message"] == 2
    assert copy.records["document"] == 1

    with pytest.raises(ToolError) as unapproved:
        await registry.execute("request_my_erasure", {"reason": "forget me"}, context)
    assert unapproved.value.kind == "ApprovalRequired"
    assert await PrivacyRepository.from_session(session).pending_for(world.borrower.id) is None
    done = await registry.execute(
        "request_my_erasure", {"reason": "forget me"}, context, approved=True
    )
    assert isinstance(done, ErasureRequestedRead)
    assert done.status == "pending"

    prompts = await create_user(session, role=Role.PROMPT_ENGINEER)
    offered = [
        t.name for t in registry.for_actor(context_for(prompts, sessionmaker, doc_settings).actor)
    ]
    assert "get_my_data_copy" in offered
