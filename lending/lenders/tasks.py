"""Background jobs of the lenders domain: delivering a submission to a lender over its API.

`lenders.submit_application` (one job per submission, written by `application.submit`):

1. In one transaction: queued → pending, and the payload is built from the application (amount,
   term, purpose code, the chosen product's code and a credit score band from the profile's
   estimated score; never the SSN or any other identity data).
2. Outside any transaction: `adapter.submit(payload, idempotency_key=<submission id>)`, so a job
   that runs again after a crash is deduplicated by the lender.
3. In its own transaction: the receipt's external id is recorded and the submission is `sent`
   (unless the lender's webhook already decided it; a decision is never overwritten).

When no lender API is configured (`OMNIFIN_LENDER_API_BASE_URL` unset, see
`lending.lenders.integration.registry`) the submission stays `pending` and the reason is logged:
nothing is sent and no decision is made up. `LenderUnavailable` (timeouts, 5xx, 429, an open
circuit) re-enqueues the job for later (the lender's Retry-After, else a growing delay) up to
`MAX_DELIVERY_ATTEMPTS`, after which the submission is `failed` with the reason;
`LenderRequestRejected` and `LenderProtocolError` fail it at once (retrying would not help).
Decisions arrive through the webhook route and `application.record_lender_decision`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from procrastinate import RetryStrategy
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from lending.applications.requirements import credit_band_for
from lending.config import Settings
from lending.db import SessionMaker, transaction
from lending.jobs import enqueue, queue
from lending.jobs.recovery import settles
from lending.jobs.runtime import job_sessionmaker, job_settings
from lending.kv import MemoryStore
from lending.lenders.integration.errors import LenderError, LenderUnavailable
from lending.lenders.integration.protocol import ApplicationPayload, CreditScoreBand
from lending.lenders.integration.registry import LenderAdapters
from lending.lenders.integration.replay import StoreReplayGuard
from lending.lenders.integration_service import integration_service
from lending.lenders.repository import SubmissionRepository
from lending.lenders.service import SUBMIT_TASK, submission_service
from lending.logs import get_logger
from lending.models.applications import Application, BorrowerProfile
from lending.models.lenders import Lender, LenderProduct, LenderSubmission, SubmissionStatus

log = get_logger(__name__)

# Delivery attempts (jobs) before a submission to an unavailable lender is given up as failed;
# with the delays below that is about two hours.
MAX_DELIVERY_ATTEMPTS = 8
_FIRST_DELAY_SECONDS = 60.0
_MAX_DELAY_SECONDS = 3600.0

_adapters: LenderAdapters | None = None


def _job_adapters(settings: Settings) -> LenderAdapters:
    """The worker process's adapters (one per lender, for the life of the process). Jobs only
    submit, so webhook replay keys are never claimed here; an in-process store is enough."""
    global _adapters
    if _adapters is None:
        _adapters = LenderAdapters(settings, replay_guard=StoreReplayGuard(MemoryStore()))
    return _adapters


def retry_delay_seconds(attempt: int, retry_after_seconds: float | None) -> float:
    """When to try again after delivery attempt `attempt` found the lender unavailable."""
    backoff = min(_MAX_DELAY_SECONDS, _FIRST_DELAY_SECONDS * 2.0 ** (attempt - 1))
    return max(backoff, retry_after_seconds or 0.0)


async def _payload(
    sessionmaker: SessionMaker, submission_id: uuid.UUID
) -> tuple[ApplicationPayload | None, str, str]:
    """The payload, the lender's code and (when there is no payload) why."""
    async with sessionmaker() as session:
        submission = await session.get(LenderSubmission, submission_id)
        if submission is None:
            return None, "", "the submission no longer exists"
        application = await session.get(Application, submission.application_id)
        lender = await session.get(Lender, submission.lender_id)
        if application is None or lender is None:
            return None, "", "the application or the lender no longer exists"
        product = (
            await session.get(LenderProduct, submission.product_id)
            if submission.product_id is not None
            else None
        )
        score = await session.scalar(
            select(BorrowerProfile.estimated_credit_score).where(
                BorrowerProfile.user_id == application.borrower_user_id
            )
        )
    if product is None:
        return None, lender.slug, "the submission has no lender product"
    if application.amount is None or application.term_months is None or not application.purpose:
        return None, lender.slug, "the application has no amount, term or purpose"
    if score is None:
        return None, lender.slug, "the borrower profile has no estimated credit score"
    try:
        payload = ApplicationPayload(
            application_reference=application.reference,
            product_code=product.code,
            amount=application.amount,
            term_months=application.term_months,
            purpose=application.purpose,
            credit_score_band=CreditScoreBand(credit_band_for(score).value),
        )
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in error["loc"]) for error in exc.errors()})
        return None, lender.slug, f"the application cannot be sent ({', '.join(fields)})"
    return payload, lender.slug, ""


async def _finish(
    sessionmaker: SessionMaker,
    submission_id: uuid.UUID,
    *,
    status: SubmissionStatus,
    external_id: str | None = None,
    reason: str | None = None,
) -> str | None:
    """Record the outcome of a delivery, unless the lender already decided the submission."""
    async with transaction(sessionmaker) as session:
        row = await SubmissionRepository.from_session(session).get(submission_id, for_update=True)
        if row is None:
            return None
        if row.status in (SubmissionStatus.QUEUED, SubmissionStatus.PENDING):
            row.status = status
            if reason is not None:
                row.decision_reason = reason
        if external_id is not None and row.external_reference is None:
            row.external_reference = external_id
        await session.flush()
        return row.status.value


async def submit_application(
    sessionmaker: SessionMaker,
    *,
    submission_id: uuid.UUID,
    adapters: LenderAdapters | None = None,
    attempt: int = 1,
) -> str | None:
    """Deliver one submission to its lender; returns its status afterwards (None if it is gone).

    Args:
        sessionmaker: where the submission is.
        submission_id: the submission row (also the idempotency key sent to the lender).
        adapters: the process's lender adapters; None when no lender API is configured.
        attempt: this delivery attempt's number (1 for the job `submit` enqueued).
    """
    async with transaction(sessionmaker) as session:
        row = await submission_service.mark_pending(session, submission_id=submission_id)
        if row is None:
            return None
        if row.status is not SubmissionStatus.PENDING:
            # Sent or decided already (a job run again): nothing more to do.
            return row.status.value
    payload, lender_code, problem = await _payload(sessionmaker, submission_id)
    async with sessionmaker() as session:
        # Where the catalog says the lender is reached (no webhook secrets: jobs only send).
        integration = await integration_service.integration_for(
            session, settings=None, lender_code=lender_code
        )
    adapter, reason = (
        adapters.get(lender_code, integration)
        if adapters is not None and lender_code
        else (None, "no lender adapters in this process")
    )
    if adapter is None and lender_code:
        # Not configured: nothing is sent and no decision is made up; the submission waits.
        log.warning(
            "lender submission pending: no lender API configured",
            submission_id=str(submission_id),
            lender_code=lender_code,
            reason=reason,
        )
        return SubmissionStatus.PENDING.value
    if adapter is None or payload is None:
        log.warning(
            "lender submission cannot be sent", submission_id=str(submission_id), reason=problem
        )
        return await _finish(
            sessionmaker, submission_id, status=SubmissionStatus.FAILED, reason=problem
        )
    try:
        receipt = await adapter.submit(payload, idempotency_key=str(submission_id))
    except LenderUnavailable as exc:
        return await _retry_later(
            sessionmaker, submission_id, attempt=attempt, problem=exc, lender_code=lender_code
        )
    except LenderError as exc:  # refused or not understood: retrying would not help
        log.warning(
            "lender submission failed",
            submission_id=str(submission_id),
            lender_code=lender_code,
            error=type(exc).__name__,
        )
        return await _finish(
            sessionmaker, submission_id, status=SubmissionStatus.FAILED, reason=str(exc.detail)
        )
    status = await _finish(
        sessionmaker, submission_id, status=SubmissionStatus.SENT, external_id=receipt.external_id
    )
    log.info(
        "lender submission sent",
        submission_id=str(submission_id),
        lender_code=lender_code,
        external_id=receipt.external_id,
        status=status,
    )
    return status


async def _retry_later(
    sessionmaker: SessionMaker,
    submission_id: uuid.UUID,
    *,
    attempt: int,
    problem: LenderUnavailable,
    lender_code: str,
) -> str | None:
    if attempt >= MAX_DELIVERY_ATTEMPTS:
        log.warning(
            "lender submission failed: lender unavailable",
            submission_id=str(submission_id),
            lender_code=lender_code,
            attempts=attempt,
        )
        return await _finish(
            sessionmaker,
            submission_id,
            status=SubmissionStatus.FAILED,
            reason=f"The lender was not available after {attempt} delivery attempts.",
        )
    delay = retry_delay_seconds(attempt, problem.retry_after_seconds)
    async with transaction(sessionmaker) as session:
        row = await SubmissionRepository.from_session(session).get(submission_id, for_update=True)
        if row is None:
            return None
        try:
            async with session.begin_nested():
                row.job_id = await enqueue(
                    session,
                    SUBMIT_TASK,
                    args={"submission_id": str(submission_id), "attempt": attempt + 1},
                    lock=f"submission:{submission_id}",
                    queueing_lock=f"submission:{submission_id}",
                    scheduled_at=datetime.now(UTC) + timedelta(seconds=delay),
                )
        except IntegrityError:  # a delivery job for it is already waiting: that one will try
            log.info("lender submission retry already queued", submission_id=str(submission_id))
        status = row.status.value
    log.info(
        "lender submission retry scheduled",
        submission_id=str(submission_id),
        lender_code=lender_code,
        attempt=attempt,
        delay_seconds=round(delay, 1),
    )
    return status


@settles(SUBMIT_TASK)
async def give_up(sessionmaker: SessionMaker, args: dict[str, Any], reason: str) -> None:
    """A delivery that will not run again: a submission still queued or pending ends `failed`
    with the reason (one the lender already decided keeps its decision)."""
    await _finish(
        sessionmaker,
        uuid.UUID(str(args["submission_id"])),
        status=SubmissionStatus.FAILED,
        reason=reason,
    )


# Failures other than the lender's (the database away for a moment): tried again after 2, 4, 8 s.
@queue.task(
    name=SUBMIT_TASK, retry=RetryStrategy(max_attempts=5, exponential_wait=2), pass_context=False
)
async def submit_application_job(submission_id: str, attempt: int = 1) -> None:
    settings = job_settings()
    await submit_application(
        job_sessionmaker(settings),
        submission_id=uuid.UUID(submission_id),
        adapters=_job_adapters(settings),
        attempt=attempt,
    )


APPLY_VERSIONS_TASK = "lenders.apply_due_versions"


@queue.periodic(cron="1 * * * *", periodic_id="hourly")
@queue.task(name=APPLY_VERSIONS_TASK, queue="maintenance")
async def apply_due_versions(timestamp: int) -> None:
    """Copy catalog versions that took effect (scheduled ones, at 00:00 UTC) into the lender and
    product rows that show names; prices never wait for this, matching reads the versions."""
    from lending.lenders.catalog_service import catalog_service

    async with transaction(job_sessionmaker(job_settings())) as session:
        changed = await catalog_service.apply_due_versions(session)
    if changed:
        log.info("catalog versions applied", rows=changed)
