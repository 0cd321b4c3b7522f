"""A worker killed mid-job (`kill -9` of a real `omnifin worker`): its job stays `doing` with its
lock held until another worker sees the dead one's heartbeat stop, takes the job up again, and
finishes it exactly once. Progress is observed by polling the database, never by sleeping."""

from __future__ import annotations

import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from devtools.databases import recreate_database
from evals.synthetic_documents import generate
from lending import migrations
from lending.config import Settings
from lending.db import create_engine, create_sessionmaker, libpq_url, transaction
from lending.documents.types import DocumentType
from tests.documents.factories import create_document
from tests.documents.processes import (
    FAST_RECOVERY,
    Processes,
    environment,
    one,
    poll,
    processes,
)
from tests.lending.factories import create_application, create_borrower


@pytest.fixture(scope="module")
def url(server_url: str) -> str:
    url = recreate_database(server_url, "omnifin_worker_recovery")
    migrations.upgrade(url)
    return url


@pytest.fixture
def recovery_settings(url: str, tmp_path: Path) -> Settings:
    return Settings(
        environment="test",
        state_dir=tmp_path / "state",
        database_url=url,  # type: ignore[arg-type]
        documents_dir=tmp_path / "documents",
    )


@pytest.fixture
def running() -> Iterator[Processes]:
    yield from processes()


def _blocked_on(url: str, table: str) -> bool:
    """A backend (the worker's) waits for a lock on `table`."""
    return bool(
        one(
            url,
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query ILIKE %s",
            f"%{table}%",
        )
    )


async def test_an_extraction_whose_worker_is_killed_is_finished_once_by_another_worker(
    url: str, recovery_settings: Settings, running: Processes
) -> None:
    engine = create_engine(recovery_settings, url)
    sessionmaker = create_sessionmaker(engine)
    stub = generate(DocumentType.PAY_STUB, seed=21)
    async with transaction(sessionmaker) as session:
        borrower = await create_borrower(session, recovery_settings)
        application = await create_application(session, borrower)
        document_id: uuid.UUID = await create_document(
            session, recovery_settings, borrower, application.id, content=stub.data
        )
    await engine.dispose()
    job = "SELECT status::text FROM procrastinate_jobs WHERE args->>'document_id' = %s"
    status = "SELECT status::text FROM document WHERE id = %s"

    # Writing the results waits on this lock, so the worker dies after reading, before writing.
    with psycopg.connect(libpq_url(url)) as holder:
        holder.execute("LOCK TABLE document_field IN SHARE MODE")
        env = environment(recovery_settings, **FAST_RECOVERY)
        first = running.start("worker", env=env)
        poll(lambda: _blocked_on(url, "document_field"), "the worker to write the results")
        assert one(url, status, document_id) == "processing"
        first.send_signal(signal.SIGKILL)
        first.wait()
        holder.rollback()

    # The dead worker's job is still `doing`: its lock would block the document forever.
    assert one(url, job, str(document_id)) == "doing"
    running.start("worker", env=env)
    poll(lambda: one(url, job, str(document_id)) == "succeeded", "the job to succeed")

    assert one(url, status, document_id) in ("extracted", "needs_review")
    assert one(url, "SELECT extraction_runs FROM document WHERE id = %s", document_id) == 1
    assert (
        one(
            url,
            "SELECT count(*) FROM document_event WHERE document_id = %s AND to_status = 'processing'",
            document_id,
        )
        == 1
    )
    assert (
        one(
            url,
            "SELECT count(*) FROM document_event WHERE document_id = %s "
            "AND to_status IN ('extracted', 'failed', 'needs_ocr')",
            document_id,
        )
        == 1
    )
    names = one(
        url,
        "SELECT count(*) - count(DISTINCT name) FROM document_field WHERE document_id = %s",
        document_id,
    )
    assert names == 0
    assert (
        one(
            url,
            "SELECT value FROM document_field WHERE document_id = %s AND name = 'employer'",
            document_id,
        )
        == stub.expected["employer"]
    )
