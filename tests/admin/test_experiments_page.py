"""The prompt experiments pages: create (a draft, refusals shown and nothing written), start,
per-arm results from recorded runs, stop; an administrator reads them but cannot change them."""

from __future__ import annotations

import html
import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.models.audit import AuditEvent
from lending.models.chat import ChatFeedback, ChatRun, ChatThread
from lending.models.identity import Role
from lending.models.prompts import (
    ExperimentStatus,
    PromptExperiment,
    PromptExperimentAssignment,
)
from tests.admin.conftest import signed_in
from tests.agents.prompts.factories import create_prompt
from tests.identity.factories import create_user

V1 = ("Formal: {user_name}.", ["user_name"])
V2 = ("Casual: {user_name}!", ["user_name"])


def _arms(*rows: tuple[str, str, str]) -> dict[str, list[str]]:
    return {
        "arm_name": [row[0] for row in rows],
        "arm_version": [row[1] for row in rows],
        "arm_weight": [row[2] for row in rows],
    }


async def _actions(session: AsyncSession, experiment_id: uuid.UUID) -> list[str]:
    rows = await session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.subject_id == str(experiment_id))
        .order_by(AuditEvent.id)
    )
    return list(rows)


async def test_an_experiment_is_created_started_measured_and_stopped(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    prompt = await create_prompt(session, versions=[V1, V2])
    engineer = await signed_in(admin_app, session, settings, Role.PROMPT_ENGINEER)
    base = f"/admin/prompts/{prompt.name}/experiments"
    form = {"csrf_token": engineer.csrf, "title": "Casual tone", "label": "production"}

    uneven = await engineer.http.post(
        base, data={**form, **_arms(("control", "1", "50"), ("", "2", "40"), ("", "", ""))}
    )
    assert uneven.status_code == 422
    assert "weights must sum to 100" in html.unescape(uneven.text)
    assert (await session.scalars(select(PromptExperiment))).first() is None

    created = await engineer.http.post(
        base, data={**form, **_arms(("control", "1", "50"), ("", "2", "50"), ("", "", ""))}
    )
    assert created.status_code == 303, created.text
    listed = await engineer.http.get(base)
    assert "control (v1, 50%), v2 (v2, 50%)" in listed.text
    found = re.search(rf"{base}/([0-9a-f-]{{36}})", listed.text)
    assert found is not None
    experiment_id = uuid.UUID(found.group(1))

    started = await engineer.post(f"{base}/{experiment_id}/start")
    assert started.status_code == 303, started.text
    again = await engineer.post(f"{base}/{experiment_id}/start")
    assert again.status_code == 409
    assert "only a draft experiment starts" in html.unescape(again.text)

    # One person was served arm v2; their one recorded turn was rated down.
    person = await create_user(session, role=Role.BORROWER)
    session.add(
        PromptExperimentAssignment(
            experiment_id=experiment_id, user_id=person.id, variant="v2", version_number=2
        )
    )
    thread = ChatThread(user_id=person.id, organization_id=person.organization_id, graph="borrower")
    session.add(thread)
    await session.flush()
    run = ChatRun(
        thread_id=thread.id,
        mode="llm",
        status="completed",
        input_tokens=100,
        output_tokens=20,
        cost=Decimal("0.010000"),
        prompt_versions={prompt.name: 2},
        variant="v2",
        started_at=datetime.now(UTC),
    )
    session.add(run)
    await session.flush()
    session.add(ChatFeedback(run_id=run.id, user_id=person.id, rating=-1))
    await session.flush()

    results = await engineer.http.get(f"{base}/{experiment_id}")
    assert results.status_code == 200
    cells = re.findall(r"<tr>\s*<td>(\S+) \(v\d\)</td>(.*?)</tr>", results.text, re.S)
    numbers = {arm: re.findall(r'class="money">([^<]*)<', row) for arm, row in cells}
    assert numbers["control"][1] == "0"  # turns
    assert numbers["v2"][0] == "1"  # users
    assert numbers["v2"][1] == "1"
    assert numbers["v2"][5] == "1"  # thumbs down
    assert numbers["v2"][8] == "120"  # tokens

    stopped = await engineer.post(f"{base}/{experiment_id}/stop")
    assert stopped.status_code == 303
    experiment = await session.get(PromptExperiment, experiment_id)
    assert experiment is not None
    await session.refresh(experiment)
    assert experiment.status is ExperimentStatus.STOPPED
    assert await _actions(session, experiment_id) == [
        "prompt.experiment_created",
        "prompt.experiment_started",
        "prompt.experiment_stopped",
    ]


async def test_an_administrator_reads_experiments_but_cannot_change_them(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    prompt = await create_prompt(session, versions=[V1, V2])
    admin = await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)
    base = f"/admin/prompts/{prompt.name}/experiments"
    page = await admin.http.get(base)
    assert page.status_code == 200
    assert "New experiment" not in page.text
    refused = await admin.http.post(
        base,
        data={
            "csrf_token": admin.csrf,
            "title": "Sneaky",
            "label": "production",
            **_arms(("", "1", "50"), ("", "2", "50")),
        },
    )
    assert refused.status_code == 403
    assert (await session.scalars(select(PromptExperiment))).first() is None
