"""The evals pages: runs listed, a run's outcomes, and what broke since the blessed baseline."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from evals import runs
from lending.config import Settings
from lending.errors import PermissionDenied
from lending.models.evals import EvalResult, EvalRun
from lending.models.identity import Role
from tests.admin.conftest import signed_in
from tests.identity.factories import actor_of, create_user


async def _run(
    session: AsyncSession, label: str, passed: bool, *, blessed: bool = False, age_minutes: int = 0
) -> EvalRun:
    run = EvalRun(
        id=uuid.uuid4(),
        created_at=datetime.now(UTC) - timedelta(minutes=age_minutes),
        label=label,
        model="guided",
        prompt_label="production",
        prompt_versions={"borrower.system": 2},
        graph_hash="f" * 64,
        trials=1,
        summary={},
        blessed_at=datetime.now(UTC) if blessed else None,
    )
    session.add(run)
    await session.flush()
    session.add(
        EvalResult(
            run_id=run.id,
            scenario_id="intake_personal_loan",
            scenario_hash="a" * 64,
            suite="borrower",
            critical=True,
            mode="guided",
            trial=1,
            passed=passed,
            checks=[{"name": "tool_called", "passed": passed, "detail": "start_application"}],
            verdicts=[],
            prompt_versions={},
            turns=4,
            max_latency_ms=10.0,
            tokens=0,
            cost=Decimal(0),
            duration_ms=100.0,
            isolation_ms=5.0,
            transcript=[],
            error=None,
        )
    )
    await session.flush()
    return run


async def test_a_run_shows_its_outcomes_and_what_broke_since_the_baseline(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    engineer = await signed_in(admin_app, session, settings, Role.PROMPT_ENGINEER)
    baseline = await _run(session, "baseline run", True, blessed=True, age_minutes=60)
    latest = await _run(session, "after a prompt edit", False)

    listed = await engineer.http.get("/admin/evals")
    assert listed.status_code == 200
    assert listed.text.index("after a prompt edit") < listed.text.index("baseline run")

    report = await engineer.http.get(f"/admin/evals/{latest.id}")
    assert report.status_code == 200
    assert "intake_personal_loan[guided] (critical)" in report.text
    assert "broken" in report.text
    assert "tool_called: start_application" in report.text
    assert f"/admin/evals/{baseline.id}" in report.text


async def test_reading_runs_needs_a_prompt_role(session: AsyncSession) -> None:
    broker = await create_user(session, role=Role.BORROWER)
    with pytest.raises(PermissionDenied):
        await runs.list_runs(session, actor_of(broker))


async def test_blessing_is_refused_on_the_page_without_the_scope_and_not_found_for_no_run(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    latest = await _run(session, "after a prompt edit", True)
    # An administrator opens the evals pages but does not run or bless evals.
    admin = await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)
    refused = await admin.post(f"/admin/evals/{latest.id}/bless")
    assert refused.status_code == 403
    assert "after a prompt edit" in refused.text  # the run's page again, with the refusal
    assert "(needs evals:run)" in refused.text
    engineer = await signed_in(admin_app, session, settings, Role.PROMPT_ENGINEER)
    missing = await engineer.post(f"/admin/evals/{uuid.uuid4()}/bless")
    assert missing.status_code == 404
    await session.refresh(latest)
    assert latest.blessed_at is None
