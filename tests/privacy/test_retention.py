"""Retention: each kind goes once its period is over, and not before; the run reports counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.models.applications import Application
from lending.models.audit import AuditEvent
from lending.models.chat import ChatMessage, ChatThread
from lending.models.documents import Document
from lending.privacy.retention import enforce_retention
from tests.documents.factories import create_document
from tests.lending.factories import create_application
from tests.privacy.world import build_world


async def _count(session: AsyncSession, model: type, *where: ColumnElement[bool]) -> int:
    return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_each_kind_goes_after_its_period_and_the_run_reports_it(
    session: AsyncSession, doc_settings: Settings
) -> None:
    world = await build_world(session, doc_settings)
    now = datetime.now(UTC)
    # Nothing is old yet: a run removes nothing of this person.
    first = await enforce_retention(session, doc_settings, now=now)
    assert await _count(session, Application, Application.id == world.application_id) == 1
    assert await _count(session, ChatThread, ChatThread.id == world.thread_id) == 1

    declined = await create_application(session, world.borrower)
    declined_doc = await create_document(session, doc_settings, world.borrower, declined.id)
    await session.execute(
        text(
            "UPDATE loan_application SET status = 'declined', status_changed_at = :at, "
            "submitted_at = :at, decided_at = :at WHERE id = :id"
        ),
        {
            "at": now - timedelta(days=doc_settings.retention_declined_documents_days + 1),
            "id": declined.id,
        },
    )
    await session.execute(
        text("UPDATE loan_application SET updated_at = :at WHERE id = :id"),
        {
            "at": now - timedelta(days=doc_settings.retention_draft_days + 1),
            "id": world.application_id,
        },
    )
    await session.execute(
        text("UPDATE chat_thread SET last_message_at = :at WHERE id = :id"),
        {
            "at": now - timedelta(days=doc_settings.retention_conversation_days + 1),
            "id": world.thread_id,
        },
    )
    report = await enforce_retention(session, doc_settings, now=now)

    assert report.removed["abandoned drafts"] >= 1
    assert report.removed["documents of declined or withdrawn applications"] >= 1
    assert report.removed["conversations"] >= 1
    assert report.files_destroyed >= 2
    assert await _count(session, Application, Application.id == world.application_id) == 0
    assert await _count(session, Application, Application.id == declined.id) == 1, "decision kept"
    assert await _count(session, Document, Document.id == declined_doc) == 0
    assert await _count(session, ChatMessage, ChatMessage.thread_id == world.thread_id) == 0
    assert "Retention removed" in report.summary()
    assert first.removed != report.removed
    event = (
        await session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "privacy.retention_enforced")
            .order_by(AuditEvent.id.desc())
        )
    ).first()
    assert event is not None
    assert event.details["removed"] == report.removed


def test_the_worker_knows_the_privacy_jobs() -> None:
    from api.worker import register_tasks
    from lending.jobs import queue
    from lending.privacy.tasks import BACKUP_TASK, RETENTION_TASK

    register_tasks()
    periodic = {task.task.name for task in queue.periodic_registry.periodic_tasks.values()}
    assert {RETENTION_TASK, BACKUP_TASK} <= periodic
