"""The submission job: registered under its contract name, run by the worker's import list; it
records the submission as pending delivery and never invents a lender decision."""

from __future__ import annotations

import importlib

from sqlalchemy.ext.asyncio import AsyncSession

from lending.applications.service import application_service
from lending.config import Settings
from lending.db import SessionMaker
from lending.jobs import queue
from lending.lenders.service import SUBMIT_TASK
from lending.models.applications import ApplicationStatus
from lending.models.lenders import SubmissionStatus
from lending.offers.service import offer_service
from tests.identity.factories import actor_of
from tests.lending.factories import (
    create_application,
    create_borrower,
    create_catalog,
    give_consent,
)


def test_the_task_is_registered_for_the_worker() -> None:
    # The worker (api.worker) names the task modules; lending names no layer above it.
    worker = importlib.import_module("api.worker")
    assert "lending.lenders.tasks" in worker.TASK_MODULES
    worker.register_tasks()
    assert SUBMIT_TASK == "lenders.submit_application"
    assert SUBMIT_TASK in queue.tasks


async def test_the_job_marks_the_submission_pending_and_decides_nothing(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    from lending.lenders.tasks import submit_application

    await create_catalog(session)
    borrower = await create_borrower(session, settings)
    await give_consent(session, borrower)
    actor = actor_of(borrower)
    started = await create_application(session, borrower)
    offers = await offer_service.get_offers(session, actor, application_id=started.id)
    submitted = await application_service.submit(
        session, actor, application_id=started.id, lender_ids=[offers.offers[0].lender_id]
    )
    await session.commit()  # a savepoint of the test's transaction: the job's session sees it
    [submission] = submitted.submissions

    assert await submit_application(sessionmaker, submission_id=submission.id) == "pending"
    # Running it again (a retried job) changes nothing more.
    assert await submit_application(sessionmaker, submission_id=submission.id) == "pending"

    session.expire_all()  # the job wrote through its own session
    after = await application_service.get(session, actor, application_id=started.id)
    assert after.status is ApplicationStatus.SUBMITTED
    assert [s.status for s in after.submissions] == [SubmissionStatus.PENDING]
    events = await application_service.events(session, actor, application_id=started.id)
    assert events[-1].to_status is ApplicationStatus.SUBMITTED
