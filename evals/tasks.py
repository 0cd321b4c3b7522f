"""The `evals.run_requested` job: an eval run asked for from the back office (evals.runs), run by
the worker through `evals.service.run`, as `omnifin evals run` runs it, with its progress written
as each scenario run ends. A job given up on (its worker died too often) leaves the request
`failed` with the reason; one run again after a crash starts the run over."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update

from evals.harness import ScenarioResult
from evals.runs import RUN_TASK, planned_scenarios
from evals.service import Options
from evals.service import run as run_evals
from lending.config import Settings
from lending.db import SessionMaker, resolve_database_url, transaction
from lending.jobs import queue
from lending.jobs.recovery import settles
from lending.jobs.runtime import job_sessionmaker, job_settings
from lending.logs import get_logger
from lending.models.evals import EvalRequest, EvalRequestStatus

log = get_logger(__name__)


@queue.task(name=RUN_TASK, queue="evals", pass_context=False)
async def run_requested(request_id: str) -> None:
    settings = job_settings()
    await execute(
        job_sessionmaker(settings),
        settings,
        resolve_database_url(settings),
        uuid.UUID(request_id),
    )


async def execute(
    sessionmaker: SessionMaker, settings: Settings, database_url: str, request_id: uuid.UUID
) -> None:
    """Run the request's scenarios and save the run; the request ends `finished` (with its run)
    or `failed` (with why). A request already ended is left as it is."""
    async with transaction(sessionmaker) as session:
        request = await session.get(EvalRequest, request_id, with_for_update=True)
        if request is None or request.status in (
            EvalRequestStatus.FINISHED,
            EvalRequestStatus.FAILED,
        ):
            return
        request.status = EvalRequestStatus.RUNNING
        request.started_at = datetime.now(UTC)
        request.done = request.failed = 0
        request.error = None
        paths, tags = list(request.paths), list(request.tags)
        options = Options(
            model=request.model,
            trials=request.trials,
            prompt_label=request.prompt_label,
            label=request.label or "back office",
        )
    pending: set[asyncio.Task[None]] = set()

    def progress(result: ScenarioResult) -> None:
        task = asyncio.create_task(_advance(sessionmaker, request_id, result.passed))
        pending.add(task)
        task.add_done_callback(pending.discard)

    try:
        scenarios = planned_scenarios(paths, tags)
        outcome = await run_evals(settings, database_url, scenarios, options, progress=progress)
        await asyncio.gather(*pending)
    except Exception as exc:  # the run could not be made: the request says why
        log.exception("eval run request failed", request_id=str(request_id))
        await asyncio.gather(*pending, return_exceptions=True)
        await _end(sessionmaker, request_id, EvalRequestStatus.FAILED, error=_reason(exc))
        return
    await _end(sessionmaker, request_id, EvalRequestStatus.FINISHED, run_id=outcome.run_id)


async def _advance(sessionmaker: SessionMaker, request_id: uuid.UUID, passed: bool) -> None:
    async with transaction(sessionmaker) as session:
        await session.execute(
            update(EvalRequest)
            .where(EvalRequest.id == request_id)
            .values(done=EvalRequest.done + 1, failed=EvalRequest.failed + (0 if passed else 1))
        )


async def _end(
    sessionmaker: SessionMaker,
    request_id: uuid.UUID,
    status: EvalRequestStatus,
    *,
    run_id: uuid.UUID | None = None,
    error: str | None = None,
) -> None:
    async with transaction(sessionmaker) as session:
        await session.execute(
            update(EvalRequest)
            .where(EvalRequest.id == request_id)
            .values(status=status, run_id=run_id, error=error, finished_at=datetime.now(UTC))
        )


def _reason(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 2000 else text[:1997] + "..."


@settles(RUN_TASK)
async def _given_up(sessionmaker: SessionMaker, args: dict[str, Any], reason: str) -> None:
    """The job was given up on (its worker died on it too often): the request says so."""
    request_id = uuid.UUID(str(args["request_id"]))
    await _end(sessionmaker, request_id, EvalRequestStatus.FAILED, error=reason)
