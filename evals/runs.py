"""Reading eval runs for people (the back office): the list, one run's outcomes and its
comparison with the baseline. Prompt engineers (evals:run) and platform administrators
(prompts:read) may read them; running and blessing stay with the CLI (`omnifin evals`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from evals import store
from lending.errors import NotFound
from lending.identity.actor import Actor
from lending.identity.scopes import Scope
from lending.models.evals import EvalRun
from lending.pagination import Page, fetch_page


@dataclass(frozen=True)
class RunReport:
    run: EvalRun
    outcomes: dict[str, dict[str, Any]]
    baseline: EvalRun | None
    comparison: store.Comparison | None


async def list_runs(
    session: AsyncSession, actor: Actor, *, cursor: str | None = None, limit: int = 50
) -> Page[EvalRun]:
    """Eval runs, newest first."""
    actor.require_any(Scope.EVALS_RUN, Scope.PROMPTS_READ)
    return await fetch_page(
        session, select(EvalRun), [EvalRun.created_at, EvalRun.id], cursor=cursor, limit=limit
    )


async def report(session: AsyncSession, actor: Actor, *, run_id: uuid.UUID) -> RunReport:
    """One run's outcomes per scenario and mode, and what changed since the baseline (the last
    blessed run), when there is one and it is another run."""
    actor.require_any(Scope.EVALS_RUN, Scope.PROMPTS_READ)
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
