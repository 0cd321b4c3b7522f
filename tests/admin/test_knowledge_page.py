"""The knowledge pages: entries by language, an entry's versions, publishing an older version
(a rollback) and archiving, each audited; a search preview with passages and citations."""

from __future__ import annotations

import html
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.app import create_app
from knowledge.embeddings import configured_model
from knowledge.ingest import knowledge_ingest_service
from knowledge.schemas import IngestOptions
from lending.config import Settings
from lending.db import SessionMaker
from lending.kv import MemoryStore
from lending.models.audit import AuditEvent
from lending.models.identity import Role
from tests.admin.conftest import signed_in
from tests.knowledge.test_service import PULLS_ZH, fees_doc


@pytest.fixture
def fake_embedder(settings: Settings) -> Settings:
    return settings.model_copy(update={"knowledge_embedder": "fake"})


@pytest.fixture
async def knowledge_app(
    fake_embedder: Settings, sessionmaker: SessionMaker, memory_store: MemoryStore
) -> AsyncIterator[httpx.ASGITransport]:
    app = create_app(fake_embedder, sessionmaker=sessionmaker, store=memory_store)
    async with app.router.lifespan_context(app):
        yield httpx.ASGITransport(app=app)


async def _fees_twice(session: AsyncSession, settings: Settings) -> uuid.UUID:
    """The fees entry with v1 ($29) and v2 ($40, published), and a Chinese entry."""
    for source in (fees_doc("$29"), fees_doc("$40"), PULLS_ZH):
        done = await knowledge_ingest_service.ingest(
            session, None, source=source, options=IngestOptions(), settings=settings
        )
        if source.name == "fees.md":
            fees = done.entry_id
    return fees


async def _actions(session: AsyncSession, entry_id: uuid.UUID) -> list[str]:
    rows = await session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.subject_id == str(entry_id))
        .order_by(AuditEvent.id)
    )
    return list(rows)


async def test_entries_by_language_rollback_and_archive_are_audited(
    knowledge_app: httpx.ASGITransport, session: AsyncSession, fake_embedder: Settings
) -> None:
    fees = await _fees_twice(session, fake_embedder)
    engineer = await signed_in(knowledge_app, session, fake_embedder, Role.PROMPT_ENGINEER)

    everything = await engineer.http.get("/admin/knowledge", params={"language": ""})
    assert everything.status_code == 200  # the select's "any language"
    assert "Test Bank fees" in everything.text
    assert "软查询与硬查询" in everything.text
    english = await engineer.http.get("/admin/knowledge", params={"language": "en"})
    assert english.status_code == 200
    assert "Test Bank fees" in english.text
    assert "软查询与硬查询" not in english.text
    chinese = await engineer.http.get("/admin/knowledge", params={"language": "zh"})
    assert "软查询与硬查询" in chinese.text
    assert "Test Bank fees" not in chinese.text
    assert (
        await engineer.http.get("/admin/knowledge", params={"language": "fr"})
    ).status_code == 422

    page = await engineer.http.get(f"/admin/knowledge/{fees}")
    assert "Publish v1" in page.text
    assert "Publish v2" not in page.text  # v2 is the one searched
    missing = await engineer.post(f"/admin/knowledge/{fees}/versions/9/publish")
    assert missing.status_code == 404
    assert "has no version 9" in html.unescape(missing.text)

    rolled_back = await engineer.post(f"/admin/knowledge/{fees}/versions/1/publish")
    assert rolled_back.status_code == 303
    preview = await engineer.http.get(
        "/admin/knowledge/search", params={"query": "late fee", "language": "", "k": "1"}
    )
    assert preview.status_code == 200
    assert "Test Bank fees › Late payment (v1)" in html.unescape(preview.text)
    assert "$29" in preview.text

    archived = await engineer.post(f"/admin/knowledge/{fees}/archive")
    assert archived.status_code == 303
    gone = await engineer.http.get(
        "/admin/knowledge/search", params={"query": "late fee", "language": "en"}
    )
    assert "Test Bank fees" not in gone.text
    assert await _actions(session, fees) == [
        "knowledge.version_uploaded",  # v1 and v2, by the set-up
        "knowledge.version_uploaded",
        "knowledge.version_published",
        "knowledge.entry_archived",
    ]


async def test_the_search_preview_refuses_an_over_long_question(
    knowledge_app: httpx.ASGITransport, session: AsyncSession, fake_embedder: Settings
) -> None:
    admin = await signed_in(knowledge_app, session, fake_embedder, Role.PLATFORM_ADMIN)
    empty = await admin.http.get("/admin/knowledge/search")
    assert empty.status_code == 200  # the form, no search yet
    long = "fee " * (fake_embedder.knowledge_max_query_chars // 4 + 1)
    refused = await admin.http.get("/admin/knowledge/search", params={"query": long})
    assert refused.status_code == 422
    assert "Ask a shorter question" in refused.text


async def test_re_indexing_is_started_from_the_page_and_audited_when_it_changes_something(
    knowledge_app: httpx.ASGITransport, session: AsyncSession, fake_embedder: Settings
) -> None:
    engineer = await signed_in(knowledge_app, session, fake_embedder, Role.PROMPT_ENGINEER)
    page = await engineer.http.get("/admin/knowledge")
    assert "No embedding set yet." in page.text
    model = configured_model(fake_embedder)
    assert f"Re-index with {model}" in page.text

    # No set yet: the configured model's set is made active at once, and that is audited.
    first = await engineer.post("/admin/knowledge/reindex")
    assert first.status_code == 303
    assert first.headers["location"] == "/admin/knowledge?reindex=completed"
    shown = await engineer.http.get(first.headers["location"])
    assert "embedding set is active" in shown.text
    assert f"<td>{model}</td><td>active</td>" in shown.text
    # Asked again, it is already the one serving: a message, nothing changed, nothing audited.
    again = await engineer.post("/admin/knowledge/reindex")
    assert again.headers["location"] == "/admin/knowledge?reindex=already_active"
    rows = await session.scalars(
        select(AuditEvent).where(AuditEvent.action == "knowledge.reindex_started")
    )
    assert [(row.subject_id, row.details["outcome"]) for row in rows] == [(model, "completed")]
