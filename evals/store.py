"""Eval runs in Postgres: save a run with its results, bless a run as the baseline, compare two
runs scenario by scenario, and the gate (a critical scenario that passed now fails, or a suite's
pass rate dropped beyond a threshold)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from evals.harness import ScenarioResult
from lending.errors import NotFound
from lending.models.evals import EvalResult, EvalRun


@dataclass(frozen=True)
class RunKey:
    """What a run measured: results are comparable when these say what changed."""

    model: str
    prompt_label: str
    graph_hash: str
    trials: int
    label: str | None = None


async def save(
    session: AsyncSession,
    key: RunKey,
    results: list[ScenarioResult],
    summary: dict[str, Any],
) -> EvalRun:
    versions: dict[str, Any] = {}
    for result in results:
        versions.update(result.prompt_versions)
    run = EvalRun(
        id=uuid.uuid4(),
        label=key.label,
        model=key.model,
        prompt_label=key.prompt_label,
        prompt_versions=versions,
        graph_hash=key.graph_hash,
        trials=key.trials,
        summary=summary,
        finished_at=datetime.now(UTC),
    )
    session.add(run)
    await session.flush()
    session.add_all(
        EvalResult(
            run_id=run.id,
            scenario_id=r.scenario_id,
            scenario_hash=r.scenario_hash,
            suite=r.suite,
            critical=r.critical,
            mode=r.mode,
            trial=r.trial,
            passed=r.passed,
            checks=r.checks,
            verdicts=r.verdicts,
            prompt_versions=r.prompt_versions,
            turns=r.turns,
            max_latency_ms=r.max_latency_ms,
            tokens=r.tokens,
            cost=r.cost,
            duration_ms=r.duration_ms,
            isolation_ms=r.isolation_ms,
            transcript=r.transcript,
            error=r.error,
        )
        for r in results
    )
    await session.flush()
    return run


async def get_run(session: AsyncSession, run: str) -> EvalRun:
    """A run by id (or a unique prefix of it), "latest", or "baseline" (the last blessed)."""
    query = select(EvalRun)
    if run == "latest":
        query = query.order_by(EvalRun.created_at.desc()).limit(1)
    elif run == "baseline":
        query = (
            query.where(EvalRun.blessed_at.is_not(None))
            .order_by(EvalRun.blessed_at.desc())
            .limit(1)
        )
    else:
        try:
            query = query.where(EvalRun.id == uuid.UUID(run))
        except ValueError:
            rows = (await session.scalars(select(EvalRun))).all()
            found = [r for r in rows if str(r.id).startswith(run.lower())]
            if len(found) != 1:
                raise NotFound(f"No single eval run matches {run!r}.") from None
            return found[0]
    result = await session.scalar(query)
    if result is None:
        raise NotFound(f"No eval run {run!r}.")
    return result


async def bless(session: AsyncSession, run: str) -> EvalRun:
    """Mark a run as the baseline (the newest blessed run is the baseline)."""
    found = await get_run(session, run)
    await session.execute(
        update(EvalRun).where(EvalRun.id == found.id).values(blessed_at=datetime.now(UTC))
    )
    await session.refresh(found)
    return found


async def outcomes(session: AsyncSession, run: EvalRun) -> dict[str, dict[str, Any]]:
    """Per "scenario[mode]": passes, trials, critical, suite, hash."""
    rows = await session.scalars(select(EvalResult).where(EvalResult.run_id == run.id))
    cases: dict[str, dict[str, Any]] = {}
    for row in rows:
        case = cases.setdefault(
            f"{row.scenario_id}[{row.mode}]",
            {
                "suite": row.suite,
                "critical": row.critical,
                "scenario_hash": row.scenario_hash,
                "passes": 0,
                "trials": 0,
                "failures": set(),
            },
        )
        case["trials"] += 1
        case["passes"] += int(row.passed)
        case["failures"] |= {f"{c['name']}: {c['detail']}" for c in row.checks if not c["passed"]}
    for case in cases.values():
        case["passed"] = case["passes"] == case["trials"]
        case["failures"] = sorted(case["failures"])
    return cases


@dataclass
class Comparison:
    changes: list[dict[str, Any]] = field(default_factory=list)
    suites: dict[str, dict[str, float]] = field(default_factory=dict)


def compare(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> Comparison:
    """Per scenario: fixed, broken, still failing, new, gone, edited (hash changed); per suite
    the pass rate (every trial passed) before and after."""
    comparison = Comparison()
    for case in sorted(before.keys() | after.keys()):
        old, new = before.get(case), after.get(case)
        if old is None:
            change = "new"
        elif new is None:
            change = "gone"
        elif old["passed"] and not new["passed"]:
            change = "broken"
        elif not old["passed"] and new["passed"]:
            change = "fixed"
        elif not new["passed"]:
            change = "still failing"
        else:
            change = "same"
        current = new or old
        assert current is not None
        comparison.changes.append(
            {
                "case": case,
                "suite": current["suite"],
                "critical": current["critical"],
                "change": change,
                "edited": bool(old and new and old["scenario_hash"] != new["scenario_hash"]),
                "before": f"{old['passes']}/{old['trials']}" if old else "-",
                "after": f"{new['passes']}/{new['trials']}" if new else "-",
                "failures": new["failures"] if new else [],
            }
        )
    for suite in sorted({c["suite"] for c in [*before.values(), *after.values()]}):
        comparison.suites[suite] = {
            "before": _suite_rate(before, suite),
            "after": _suite_rate(after, suite),
        }
    return comparison


def _suite_rate(cases: dict[str, dict[str, Any]], suite: str) -> float:
    mine = [c for c in cases.values() if c["suite"] == suite]
    return round(sum(c["passed"] for c in mine) / len(mine), 4) if mine else float("nan")


def gate(comparison: Comparison, *, max_drop: Decimal = Decimal("0.05")) -> list[str]:
    """The reasons the gate fails (none: it passes)."""
    reasons = [
        f"critical scenario {c['case']} passed in the baseline and fails now: "
        + "; ".join(c["failures"][:3])
        for c in comparison.changes
        if c["critical"] and c["change"] == "broken"
    ]
    # A gate over a partial run must not pass by not running what matters.
    reasons += [
        f"critical scenario {c['case']} passed in the baseline and was not run"
        for c in comparison.changes
        if c["critical"] and c["change"] == "gone" and c["before"].split("/")[0] != "0"
    ]
    for suite, rates in comparison.suites.items():
        before, after = rates["before"], rates["after"]
        if (
            before == before
            and after == after
            and Decimal(str(before)) - Decimal(str(after)) > max_drop
        ):
            reasons.append(f"suite {suite}: pass rate fell from {before:.0%} to {after:.0%}")
    return reasons
