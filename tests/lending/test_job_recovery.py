"""Recovery of jobs whose worker died: taken up again with a growing delay while they have runs
left, never while their worker is alive, and otherwise failed with what they worked on settled
(a document `failed` and in review, a submission `failed`), each with a reason."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

import lending.documents.tasks  # noqa: F401 - the tasks register their settle hooks
import lending.lenders.tasks  # noqa: F401
from lending.config import Settings
from lending.db import SessionMaker
from lending.jobs.recovery import recover_stalled_jobs
from lending.models.documents import Document, DocumentStatus
from lending.models.lenders import LenderSubmission, SubmissionStatus
from tests.api.lending_world import submitted_application
from tests.documents.factories import create_document
from tests.lending.factories import create_application, create_borrower


async def _running_on(session: AsyncSession, job_id: int, *, silent_for: str, attempts: int) -> int:
    """Make job `job_id` run on a worker last heard from `silent_for` ago; the worker's id."""
    worker_id: int = (
        await session.execute(
            text(
                "INSERT INTO procrastinate_workers (last_heartbeat) "
                "VALUES (now() - CAST(:ago AS interval)) RETURNING id"
            ),
            {"ago": silent_for},
        )
    ).scalar_one()
    await session.execute(
        text(
            "UPDATE procrastinate_jobs SET status = 'doing', worker_id = :worker, "
            "attempts = :attempts WHERE id = :id"
        ),
        {"worker": worker_id, "attempts": attempts, "id": job_id},
    )
    return worker_id


async def _job_of(session: AsyncSession, key: str, value: str) -> int:
    job_id: int = (
        await session.execute(
            text("SELECT id FROM procrastinate_jobs WHERE args->>:key = :value"),
            {"key": key, "value": value},
        )
    ).scalar_one()
    return job_id


async def _job(session: AsyncSession, job_id: int) -> tuple[str, int, datetime | None]:
    row = (
        await session.execute(
            text(
                "SELECT status::text, attempts, scheduled_at FROM procrastinate_jobs WHERE id = :id"
            ),
            {"id": job_id},
        )
    ).one()
    return row[0], row[1], row[2]


async def _extraction(session: AsyncSession, settings: Settings) -> tuple[uuid.UUID, int]:
    borrower = await create_borrower(session, settings)
    application = await create_application(session, borrower)
    document_id = await create_document(session, settings, borrower, application.id)
    document = await session.get(Document, document_id)
    assert document is not None
    document.status = DocumentStatus.PROCESSING  # as the dead worker left it
    document.extraction_runs = 1
    await session.flush()
    return document_id, await _job_of(session, "document_id", str(document_id))


async def test_a_dead_workers_job_is_queued_again_with_a_delay(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    document_id, job_id = await _extraction(session, settings)
    await _running_on(session, job_id, silent_for="5 minutes", attempts=1)
    await session.commit()

    recovered = await recover_stalled_jobs(sessionmaker, stalled_seconds=60, max_recoveries=3)

    status, attempts, scheduled_at = await _job(session, job_id)
    assert recovered.retried == [job_id]
    assert (status, attempts) == ("todo", 2)
    assert scheduled_at is not None
    assert scheduled_at > datetime.now(UTC)  # 2 s of backoff
    document = await session.get(Document, document_id, populate_existing=True)
    assert document is not None
    assert document.status is DocumentStatus.PROCESSING  # the next run takes it up


async def test_a_job_of_a_live_worker_is_left_alone(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    _, job_id = await _extraction(session, settings)
    await _running_on(session, job_id, silent_for="1 second", attempts=0)
    await session.commit()

    recovered = await recover_stalled_jobs(sessionmaker, stalled_seconds=60, max_recoveries=3)

    assert job_id not in recovered.retried + recovered.failed
    assert (await _job(session, job_id))[0] == "doing"


async def test_a_job_out_of_runs_fails_and_its_document_goes_to_review_with_the_reason(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    document_id, job_id = await _extraction(session, settings)
    await _running_on(session, job_id, silent_for="5 minutes", attempts=3)
    await session.commit()

    recovered = await recover_stalled_jobs(sessionmaker, stalled_seconds=60, max_recoveries=3)

    assert recovered.failed == [job_id]
    assert (await _job(session, job_id))[0] == "failed"
    document = await session.get(Document, document_id, populate_existing=True)
    assert document is not None
    assert document.status is DocumentStatus.NEEDS_REVIEW
    assert document.status_reason is not None
    assert "started 4 times" in document.status_reason
    assert any(
        reason.startswith("failed: The work was started") for reason in document.review_reasons
    )


async def test_a_delivery_out_of_runs_fails_its_submission_with_the_reason(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    borrower = await create_borrower(session, settings)
    application, _ = await submitted_application(session, borrower)
    submission = (
        await session.execute(
            text("SELECT id FROM lender_submission WHERE application_id = :id"),
            {"id": application.id},
        )
    ).scalar_one()
    job_id = await _job_of(session, "submission_id", str(submission))
    await session.execute(
        text("UPDATE lender_submission SET status = 'pending' WHERE id = :id"), {"id": submission}
    )
    await _running_on(session, job_id, silent_for="5 minutes", attempts=6)
    await session.commit()

    recovered = await recover_stalled_jobs(sessionmaker, stalled_seconds=60, max_recoveries=6)

    assert recovered.failed == [job_id]
    row = await session.get(LenderSubmission, submission, populate_existing=True)
    assert row is not None
    assert row.status is SubmissionStatus.FAILED
    assert row.decision_reason is not None
    assert "started 7 times" in row.decision_reason
