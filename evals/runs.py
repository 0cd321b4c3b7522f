"""Eval runs for people (the back office): the list, one run's outcomes and its comparison with
the baseline; asking for a run (a job the worker runs, evals.tasks), following it, and blessing
a run as the baseline. Prompt engineers (evals:run) ask and bless, through the same `evals.service`
and `evals.store` as the CLI, audited; platform administrators (prompts:read) read."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from evals import store
from evals.schema import SCENARIO_DIR, ScenarioFileError, load
from evals.service import modes_for
from evals.suite import jobs
from lending.audit.schemas import Origin
from lending.audit.service import audit_service
from lending.errors import InvalidInput, NotFound
from lending.identity.actor import Actor
from lending.identity.scopes import Scope
from lending.jobs import enqueue
from lending.models.evals import EvalRequest, EvalRun
from lending.models.prompts import PromptLabelName
from lending.pagination import Page, fetch_page

RUN_TASK = "evals.run_requested"
# One eval run at a time per database: runs share the template database and the machine.
RUN_LOCK = "evals:run"
MAX_TRIALS = 10

_Tag = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,59}$")]


class RunRequestCreate(BaseModel):
    """What a person asks to run: scenario folders or files under evals/scenarios (none: all),
    tags (any; none: all), trials, the offline model, the prompt label, a name."""

    model_config = ConfigDict(extra="forbid")

    paths: list[Annotated[str, StringConstraints(max_length=200)]] = Field(
        default_factory=list, max_length=50
    )
    tags: list[_Tag] = Field(default_factory=list, max_length=20)
    trials: int = Field(default=1, ge=1, le=MAX_TRIALS)
    model: Literal["offline", "guided", "scripted"] = "offline"
    prompt_label: PromptLabelName = PromptLabelName.PRODUCTION
    label: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None


@dataclass(frozen=True)
class RunReport:
    run: EvalRun
    outcomes: dict[str, dict[str, Any]]
    baseline: EvalRun | None
    comparison: store.Comparison | None


def _read(actor: Actor) -> None:
    actor.require_any(Scope.EVALS_RUN, Scope.PROMPTS_READ)


async def list_runs(
    session: AsyncSession, actor: Actor, *, cursor: str | None = None, limit: int = 50
) -> Page[EvalRun]:
    """Eval runs, newest first."""
    _read(actor)
    return await fetch_page(
        session, select(EvalRun), [EvalRun.created_at, EvalRun.id], cursor=cursor, limit=limit
    )


async def report(session: AsyncSession, actor: Actor, *, run_id: uuid.UUID) -> RunReport:
    """One run's outcomes per scenario and mode, and what changed since the baseline (the last
    blessed run), when there is one and it is another run."""
    _read(actor)
    run = await session.get(EvalRun, run_id)
    if run is None:
        raise NotFound("No such eval run.")
    outcomes = await store.outcomes(session, run)
    try:
        baseline: EvalRun | None = await store.get_run(session, "baseline")
    except NotFound:
        baseline = None
    comparison = None
    if baseline is not None and baseline.id != run.id:
        comparison = store.compare(await store.outcomes(session, baseline), outcomes)
    return RunReport(run, outcomes, baseline, comparison)


def suites() -> list[str]:
    """The scenario folders a person may choose from (evals/scenarios/*)."""
    return sorted(path.name for path in SCENARIO_DIR.iterdir() if path.is_dir())


def scenario_path(given: str) -> Path:
    """A folder or file under evals/scenarios, from its relative name; nothing outside it."""
    path = (SCENARIO_DIR / given).resolve()
    if not path.is_relative_to(SCENARIO_DIR) or not path.exists():
        raise InvalidInput(f"No scenario folder or file {given!r} under evals/scenarios.")
    if path.is_file() and path.suffix != ".yaml":
        raise InvalidInput(f"{given!r} is not a scenario file (.yaml).")
    return path


def planned_scenarios(paths: list[str], tags: list[str]) -> list[Any]:
    """The scenarios a request names (a bad file is a refusal that names it)."""
    try:
        return load([scenario_path(p) for p in paths] or None, tags=tags or None)
    except ScenarioFileError as exc:
        raise InvalidInput(str(exc)) from None


async def request_run(
    session: AsyncSession, actor: Actor, *, data: RunRequestCreate, origin: Origin | None = None
) -> EvalRequest:
    """Ask for an eval run: stored, and its job queued in the same transaction (the worker
    runs it; nothing runs in the request)."""
    actor.require(Scope.EVALS_RUN)
    paths = sorted(set(data.paths))
    tags = sorted(set(data.tags))
    scenarios = planned_scenarios(paths, tags)
    if not scenarios:
        raise InvalidInput("No scenario matches these suites and tags.")
    request = EvalRequest(
        id=uuid.uuid4(),
        requested_by_user_id=actor.user_id,
        paths=paths,
        tags=tags,
        model=data.model,
        prompt_label=data.prompt_label.value,
        trials=data.trials,
        label=data.label or None,
        total=len(jobs(scenarios, modes_for(data.model), data.trials)),
        done=0,
        failed=0,
    )
    session.add(request)
    await session.flush()
    await enqueue(
        session, RUN_TASK, args={"request_id": str(request.id)}, queue_name="evals", lock=RUN_LOCK
    )
    await audit_service.record(
        session,
        actor,
        action="evals.run_requested",
        origin=origin,
        subject_type="eval_request",
        subject_id=request.id,
        details={
            "paths": paths,
            "tags": tags,
            "trials": data.trials,
            "model": data.model,
            "prompt_label": data.prompt_label.value,
            "scenario_runs": request.total,
        },
    )
    return request


async def list_requests(
    session: AsyncSession, actor: Actor, *, limit: int = 10
) -> list[EvalRequest]:
    """The newest runs asked for from the back office, with their progress."""
    _read(actor)
    found = await session.scalars(
        select(EvalRequest).order_by(EvalRequest.created_at.desc(), EvalRequest.id).limit(limit)
    )
    return list(found)


async def get_request(session: AsyncSession, actor: Actor, *, request_id: uuid.UUID) -> EvalRequest:
    _read(actor)
    found = await session.get(EvalRequest, request_id, populate_existing=True)
    if found is None:
        raise NotFound("No such eval run request.")
    return found


async def bless(
    session: AsyncSession, actor: Actor, *, run_id: uuid.UUID, origin: Origin | None = None
) -> EvalRun:
    """Mark a run as the baseline (as `omnifin evals bless` does), audited."""
    actor.require(Scope.EVALS_RUN)
    if await session.get(EvalRun, run_id) is None:
        raise NotFound("No such eval run.")
    blessed = await store.bless(session, str(run_id))
    await audit_service.record(
        session,
        actor,
        action="evals.run_blessed",
        origin=origin,
        subject_type="eval_run",
        subject_id=blessed.id,
        details={"label": blessed.label, "model": blessed.model},
    )
    return blessed
