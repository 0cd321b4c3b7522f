"""The eval harness end to end on real Postgres: a small suite through the turn runner, with a
scenario built to fail, results saved; and the pure parts (matchers, trajectories, summaries,
the gate) on their own."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from evals import checks, store
from evals.checks import ToolCallRecord
from evals.harness import ScenarioResult
from evals.schema import Matcher, ScenarioFileError, Trajectory, load, load_file
from evals.service import Options, run
from evals.suite import summarize
from lending.config import Settings
from lending.db import create_engine, create_sessionmaker, transaction
from lending.models.evals import EvalResult, EvalRun

HERE = Path(__file__).resolve().parent
SEED = HERE.parent.parent / "evals" / "scenarios"


async def test_small_suite_end_to_end(settings: Settings, database_url: str) -> None:
    scenarios = load(
        [
            HERE / "scenarios",
            SEED / "approvals" / "plain-no.yaml",
            SEED / "scripted" / "withdraw-rejected.yaml",
        ]
    )
    outcome = await run(settings, database_url, scenarios, Options(concurrency=2))
    by_case = {(r.scenario_id, r.mode): r for r in outcome.results}
    assert set(by_case) == {
        ("test-designed-to-fail", "guided"),
        ("test-knowledge-cited", "guided"),
        ("test-knowledge-cited", "scripted"),
        ("approvals-plain-no", "guided"),
        ("approvals-plain-no", "guided:voice"),
        ("scripted-withdraw-rejected", "scripted"),
    }
    failed = by_case[("test-designed-to-fail", "guided")]
    assert not failed.passed
    names = {c["name"] for c in failed.checks if not c["passed"]}
    # The person said no: nothing was sent, so every expectation of a submission fails...
    assert {
        "trajectory:subset",
        "state:1:applications",
        "reply:match:was sent to the lender",
    } <= names
    # ...while the checks that hold still pass (they are not failed wholesale).
    assert any(c["passed"] for c in failed.checks)
    for case in [
        ("test-knowledge-cited", "guided"),
        ("test-knowledge-cited", "scripted"),
        ("approvals-plain-no", "guided"),
        ("approvals-plain-no", "guided:voice"),
        ("scripted-withdraw-rejected", "scripted"),
    ]:
        assert by_case[case].passed, (case, by_case[case].failures, by_case[case].transcript)
    scripted = by_case[("test-knowledge-cited", "scripted")]
    assert scripted.tokens > 0  # the model's usage is measured
    assert scripted.cost > 0
    assert scripted.verdicts[0]["passed"]
    assert scripted.verdicts[0]["rationale"]
    assert by_case[("test-knowledge-cited", "guided")].tokens == 0
    assert outcome.summary["pass_at_k"] == pytest.approx(5 / 6, abs=1e-4)
    assert outcome.summary["failed"] == ["test-designed-to-fail[guided]"]

    engine = create_engine(settings, database_url)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            saved = await session.scalar(select(EvalRun).where(EvalRun.id == outcome.run_id))
            assert saved is not None
            assert saved.graph_hash
            assert saved.prompt_versions
            rows = (
                await session.scalars(select(EvalResult).where(EvalResult.run_id == saved.id))
            ).all()
            assert len(rows) == 6
            assert sum(not row.passed for row in rows) == 1
            cases = await store.outcomes(session, saved)
            assert not cases["test-designed-to-fail[guided]"]["passed"]
            await session.execute(delete(EvalRun).where(EvalRun.id == saved.id))
    finally:
        await engine.dispose()


def test_matchers() -> None:
    assert checks.match(Matcher(decimal=Decimal("100"), tolerance=Decimal("0.5")), "100.40")
    assert not checks.match(Matcher(decimal=Decimal("100")), "100.40")
    assert checks.match(Matcher(regex="^OMF-"), "OMF-2026-000001")
    assert checks.match(Matcher(one_of=[36, 48]), 48)
    assert not checks.match(Matcher(exact="auto"), "personal")
    assert checks.match(Matcher(ignore=True), None)
    with pytest.raises(ValueError, match="exactly one"):
        Matcher(exact=1, regex="1")


def _call(tool: str, **args: object) -> ToolCallRecord:
    return ToolCallRecord(tool, dict(args), True)


def test_trajectory_modes() -> None:
    made = [_call("find_client"), _call("start_application", amount="10.00"), _call("get_offers")]
    spec = {"calls": [{"tool": "start_application", "args": {"amount": {"decimal": "10"}}}]}
    assert _passes(Trajectory.model_validate({**spec, "mode": "subset"}), made)
    assert not _passes(Trajectory.model_validate({**spec, "mode": "strict"}), made)
    assert not _passes(Trajectory.model_validate({**spec, "mode": "superset"}), made)
    reordered = {
        "mode": "unordered",
        "calls": [{"tool": "get_offers"}, {"tool": "find_client"}, {"tool": "start_application"}],
    }
    assert _passes(Trajectory.model_validate(reordered), made)
    assert not _passes(Trajectory.model_validate({"forbidden": ["get_offers"]}), made)


def _passes(spec: Trajectory, made: list[ToolCallRecord]) -> bool:
    return all(check.passed for check in checks.trajectory(spec, made))


def _result(scenario: str, passed: bool, trial: int, critical: bool = True) -> ScenarioResult:
    return ScenarioResult(
        scenario_id=scenario,
        scenario_hash="h",
        suite="s",
        critical=critical,
        mode="guided",
        trial=trial,
        passed=passed,
        checks=[] if passed else [{"name": "x", "passed": False, "detail": "why"}],
        verdicts=[],
        turns=1,
        max_latency_ms=1.0,
        tokens=0,
        cost=Decimal("0"),
        duration_ms=1.0,
        isolation_ms=1.0,
        transcript=[],
    )


def test_pass_at_k_and_flaky() -> None:
    results = [
        _result("steady", True, 1),
        _result("steady", True, 2),
        _result("flaky", True, 1),
        _result("flaky", False, 2),
        _result("broken", False, 1),
        _result("broken", False, 2),
    ]
    summary = summarize(results)
    assert summary["pass_at_k"] == pytest.approx(2 / 3, abs=1e-4)
    assert summary["pass_all_k"] == pytest.approx(1 / 3, abs=1e-4)
    assert summary["flaky"] == ["flaky[guided]"]


def test_gate_fails_on_a_broken_critical_scenario_and_a_drop() -> None:
    def case(passed: bool, critical: bool = True) -> dict[str, object]:
        return {
            "suite": "s",
            "critical": critical,
            "scenario_hash": "h",
            "passes": int(passed),
            "trials": 1,
            "passed": passed,
            "failures": [] if passed else ["x: why"],
        }

    baseline = {f"c{i}[guided]": case(True, critical=i == 0) for i in range(20)}
    same = store.compare(baseline, baseline)
    assert store.gate(same) == []
    one_minor = {**baseline, "c5[guided]": case(False, critical=False)}  # 5 % drop: allowed
    assert store.gate(store.compare(baseline, one_minor)) == []
    critical_broken = {**baseline, "c0[guided]": case(False)}
    assert any("critical" in r for r in store.gate(store.compare(baseline, critical_broken)))
    not_run = {k: v for k, v in baseline.items() if k != "c0[guided]"}
    assert any("not run" in r for r in store.gate(store.compare(baseline, not_run)))
    two_minor = {**one_minor, "c6[guided]": case(False, critical=False)}
    assert any("pass rate" in r for r in store.gate(store.compare(baseline, two_minor)))


def test_every_seed_scenario_loads_and_ids_are_unique() -> None:
    scenarios = load()
    assert len(scenarios) >= 40
    assert len({s.id for s in scenarios}) == len(scenarios)


def test_the_committed_baseline_is_for_the_committed_scenarios() -> None:
    """make test gates against evals/baselines/offline.json: a scenario added or edited without
    a new baseline would be judged against nothing (or against another text), so this fails
    until `omnifin evals bless latest --export evals/baselines/offline.json` is re-run."""
    baseline = json.loads(
        (Path(__file__).parents[2] / "evals" / "baselines" / "offline.json").read_text("utf-8")
    )
    current = {
        f"{s.id}[{mode if channel == 'chat' else f'{mode}:voice'}]": s.digest()
        for s in load()
        for mode in s.modes
        if mode in ("guided", "scripted")
        for channel in s.channels
    }
    assert {case: row["scenario_hash"] for case, row in baseline.items()} == current
    assert all(row["passed"] for row in baseline.values() if row["critical"])


def test_a_bad_scenario_file_says_where(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("id: x\ntitle: t\nsuite: s\nuser: {turns: []}\n", encoding="utf-8")
    with pytest.raises(ScenarioFileError, match="bad.yaml"):
        load_file(path)
