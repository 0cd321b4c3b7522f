"""Voice metrics (issue 18): the stage timings each voice run stored, as p50/p95 per day and per
prompt versions and model with the interruptions, through the service, REST and the back office."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from agents.threads import thread_service
from lending.analytics.schemas import VoiceFilter
from lending.analytics.service import analytics_service
from lending.config import Settings
from lending.errors import PermissionDenied
from lending.models.chat import ChatMessage, ChatRun, ChatThread
from lending.models.identity import Role, User
from tests.admin.conftest import admin_app as admin_app
from tests.admin.conftest import signed_in
from tests.identity.factories import actor_of, bearer, create_organization, create_user, issue_token

DAY_ONE = datetime(2026, 10, 5, 9, tzinfo=UTC)
DAY_TWO = datetime(2026, 10, 6, 9, tzinfo=UTC)
# (started, model, prompt version, stage seconds, the person spoke over the reply, status)
TURNS: list[tuple[datetime, str | None, int, dict[str, float], bool, str]] = [
    (DAY_ONE, "gpt-a", 3, {"end_of_turn_delay": 0.1, "e2e_latency": 0.5}, False, "completed"),
    (DAY_ONE, "gpt-a", 3, {"end_of_turn_delay": 0.2, "e2e_latency": 0.7}, True, "completed"),
    (DAY_ONE, "gpt-b", 4, {"end_of_turn_delay": 0.3, "llm_node_ttft": 0.05}, False, "failed"),
    (DAY_TWO, "gpt-a", 3, {"end_of_turn_delay": 0.4, "tts_node_ttfb": 0.12}, True, "completed"),
]


async def _voice_runs(session: AsyncSession, owner: User) -> None:
    """The turns above, stored as the voice worker stores them (threads.record_voice), plus a
    typed turn the same day that has no voice metrics and must not count."""
    thread = ChatThread(
        user_id=owner.id, organization_id=owner.organization_id, graph="borrower", channel="voice"
    )
    session.add(thread)
    await session.flush()
    for started, model, version, metrics, interrupted, status in [
        *TURNS,
        (DAY_ONE, "gpt-a", 3, {}, False, "completed"),
    ]:
        run = ChatRun(
            thread_id=thread.id,
            mode="llm",
            status=status,
            started_at=started,
            model=model,
            prompt_versions={"borrower.system": version},
        )
        session.add(run)
        await session.flush()
        session.add(
            ChatMessage(
                thread_id=thread.id, run_id=run.id, role="assistant", content="Three offers."
            )
        )
        await session.flush()
        if metrics:
            await thread_service.record_voice(
                session, run_id=run.id, metrics=metrics, heard="Three" if interrupted else None
            )


def _stages(row: dict[str, Any]) -> dict[str, tuple[Any, Any, Any]]:
    return {s["stage"]: (s["turns"], s["p50_ms"], s["p95_ms"]) for s in row["stages"]}


async def test_voice_turns_give_p50_and_p95_per_stage_day_and_prompt_model(
    session: AsyncSession,
) -> None:
    firm = await create_organization(session)
    await _voice_runs(session, await create_user(session, organization=firm))
    engineer = actor_of(await create_user(session, role=Role.PROMPT_ENGINEER))
    f = VoiceFilter(date_from=date(2026, 10, 5), date_to=date(2026, 10, 6), organization_id=firm.id)

    figures = (await analytics_service.voice_metrics(session, engineer, f)).model_dump(mode="json")

    total = figures["total"]
    assert (total["turns"], total["interrupted"], total["failed"]) == (4, 2, 1)
    stages = _stages(total)
    # percentile_cont over 100, 200, 300, 400 ms: p50 250, p95 385.
    assert stages["end_of_turn_delay"] == (4, "250.0", "385.0")
    assert stages["e2e_latency"] == (2, "600.0", "690.0")
    assert stages["llm_node_ttft"] == (1, "50.0", "50.0")
    assert stages["transcription_delay"] == (0, None, None)
    days = {d["day"]: d for d in figures["days"]}
    assert sorted(days) == ["2026-10-05", "2026-10-06"]
    assert (days["2026-10-05"]["turns"], days["2026-10-05"]["interrupted"]) == (3, 1)
    assert _stages(days["2026-10-06"])["tts_node_ttfb"] == (1, "120.0", "120.0")
    by_model = {
        (p["model"], p["prompt_versions"]["borrower.system"]): p for p in figures["prompt_models"]
    }
    assert sorted(by_model) == [("gpt-a", 3), ("gpt-b", 4)]
    assert (by_model["gpt-a", 3]["turns"], by_model["gpt-a", 3]["interrupted"]) == (3, 2)
    assert _stages(by_model["gpt-b", 4])["end_of_turn_delay"] == (1, "300.0", "300.0")

    # Another firm's view and an empty range count nothing (and still list every stage).
    other = await create_organization(session)
    empty = await analytics_service.voice_metrics(
        session, engineer, f.model_copy(update={"organization_id": other.id})
    )
    assert empty.total.turns == 0
    assert [s.p50_ms for s in empty.total.stages] == [None] * 5
    assert empty.days == []
    assert empty.prompt_models == []


async def test_only_admins_and_prompt_engineers_read_voice_metrics(session: AsyncSession) -> None:
    f = VoiceFilter(date_from=date(2026, 10, 5), date_to=date(2026, 10, 6))
    for role in (Role.BROKER_MANAGER, Role.BROKER, Role.BORROWER):
        actor = actor_of(await create_user(session, role=role))
        with pytest.raises(PermissionDenied):
            await analytics_service.voice_metrics(session, actor, f)
    admin = actor_of(await create_user(session, role=Role.PLATFORM_ADMIN))
    assert (await analytics_service.voice_metrics(session, admin, f)).date_to == date(2026, 10, 6)


async def test_voice_metrics_over_rest(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    firm = await create_organization(session)
    await _voice_runs(session, await create_user(session, organization=firm))
    engineer = await create_user(session, role=Role.PROMPT_ENGINEER)
    manager = await create_user(session, organization=firm, role=Role.BROKER_MANAGER)
    await session.commit()
    token = await issue_token(session, engineer, settings=settings)
    params = {"date_from": "2026-10-05", "date_to": "2026-10-06", "organization_id": str(firm.id)}

    answer = await client.get("/api/v1/analytics/voice", params=params, headers=bearer(token))
    assert answer.status_code == 200, answer.text
    assert answer.json()["total"]["interrupted"] == 2
    assert _stages(answer.json()["total"])["end_of_turn_delay"] == (4, "250.0", "385.0")

    backwards = {**params, "date_from": "2026-10-07"}
    refused = await client.get("/api/v1/analytics/voice", params=backwards, headers=bearer(token))
    assert refused.status_code == 422
    manager_token = await issue_token(session, manager, settings=settings)
    denied = await client.get(
        "/api/v1/analytics/voice", params=params, headers=bearer(manager_token)
    )
    assert denied.status_code == 403


async def test_the_back_office_voice_page_shows_the_figures_to_a_prompt_engineer(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    owner = await create_user(session, organization=await create_organization(session))
    await _voice_runs(session, owner)
    await session.commit()
    engineer = await signed_in(admin_app, session, settings, Role.PROMPT_ENGINEER)

    page = await engineer.http.get(
        "/admin/voice", params={"since": "2026-10-05", "until": "2026-10-06"}
    )
    assert page.status_code == 200, page.text
    assert 'href="/admin/voice" aria-current="page"' in page.text
    assert "<strong>4</strong> turns, <strong>2</strong> interrupted" in page.text
    assert "2026-10-06" in page.text
    assert "gpt-b" in page.text
    assert "385.0" in page.text
    # An impossible range is a clear refusal, not a page of zeros.
    bad = await engineer.http.get(
        "/admin/voice", params={"since": "2026-10-07", "until": "2026-10-06"}
    )
    assert bad.status_code == 422
    assert "date_to is before date_from" in bad.text


async def test_the_voice_page_defaults_to_the_last_30_days(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    admin = await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)
    page = await admin.http.get("/admin/voice")
    assert page.status_code == 200, page.text
    today = datetime.now(UTC).date()
    assert f'name="until" type="date" value="{today.isoformat()}"' in page.text
