"""The extraction job run by a real procrastinate worker on committed data, as in production:
enqueued with the upload's transaction, picked up, and the document moved on."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncEngine

import lending.documents.tasks  # noqa: F401 - registers the job's task, as the worker does
from evals.synthetic_documents import generate
from lending.config import Settings, get_settings
from lending.db import create_sessionmaker, transaction
from lending.documents.types import DocumentType
from lending.jobs import open_queue
from lending.jobs.runtime import dispose_job_engines
from lending.models.applications import Application
from lending.models.documents import Document, DocumentStatus
from lending.models.identity import User
from tests.documents.factories import create_document
from tests.lending.factories import create_application, create_borrower


async def test_a_real_worker_extracts_an_uploaded_document(
    engine: AsyncEngine,
    database_url: str,
    doc_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The worker's job reads the process settings, as a deployed worker does.
    monkeypatch.setenv("OMNIFIN_ENVIRONMENT", "test")
    monkeypatch.setenv("OMNIFIN_DATABASE_URL", database_url)
    monkeypatch.setenv("OMNIFIN_STATE_DIR", str(doc_settings.state_dir))
    monkeypatch.setenv("OMNIFIN_DOCUMENTS_DIR", str(doc_settings.documents_dir))
    get_settings.cache_clear()
    sessionmaker = create_sessionmaker(engine)
    stub = generate(DocumentType.PAY_STUB, seed=13)
    async with transaction(sessionmaker) as session:
        borrower = await create_borrower(session, doc_settings)
        application = await create_application(session, borrower)
        document_id = await create_document(
            session, doc_settings, borrower, application.id, content=stub.data
        )
    try:
        async with open_queue(database_url) as app:
            await app.run_worker_async(
                queues=["default"], wait=False, install_signal_handlers=False
            )
        async with sessionmaker() as session:
            document = await session.get(Document, document_id)
            job_status = await session.scalar(
                text(
                    "SELECT status::text FROM procrastinate_jobs "
                    "WHERE task_name = 'documents.extract' AND args->>'document_id' = :id"
                ),
                {"id": str(document_id)},
            )
            rows = await session.execute(
                text("SELECT name, value FROM document_field WHERE document_id = :id"),
                {"id": document_id},
            )
            fields = {name: value for name, value in rows.all()}
        assert job_status == "succeeded"
        assert document is not None
        assert document.status in (DocumentStatus.EXTRACTED, DocumentStatus.NEEDS_REVIEW)
        assert document.extraction_runs == 1
        assert fields["employer"] == stub.expected["employer"]
    finally:
        async with engine.begin() as connection:
            await connection.execute(
                text("DELETE FROM procrastinate_jobs WHERE args->>'document_id' = :id"),
                {"id": str(document_id)},
            )
            await connection.execute(delete(Document).where(Document.id == document_id))
            await connection.execute(delete(Application).where(Application.id == application.id))
            await connection.execute(delete(User).where(User.id == borrower.id))
        await dispose_job_engines()
        get_settings.cache_clear()
