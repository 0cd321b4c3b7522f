"""Analytics (issue 20): events written with the change they describe (and only then), saying
which channel and mode made it; the dashboards' numbers through the REST API, scoped by role."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from lending.analytics.schemas import AnalyticsFilter
from lending.analytics.service import analytics_service
from lending.config import Settings
from lending.models.analytics import AnalyticsEvent
from lending.models.identity import Role
from tests.agents.sse import Client, borrower_with_token, new_thread, send, tool_then_reply
from tests.identity.factories import (
    actor_of,
    bearer,
    create_organization,
    create_user,
    issue_token,
)
from tests.lending.factories import create_borrower, create_catalog


async def _events(session: AsyncSession, **where: Any) -> list[AnalyticsEvent]:
    statement = select(AnalyticsEvent).order_by(AnalyticsEvent.id)
    for key, value in where.items():
        statement = statement.where(getattr(AnalyticsEvent, key) == value)
    return list((await session.execute(statement)).scalars())


async def test_a_rest_start_is_recorded_with_its_channel_and_a_refused_one_is_not(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await create_catalog(session)
    borrower = await create_borrower(session, settings)
    token = await issue_token(session, borrower, settings=settings)
    body = {"product_type": "personal", "purpose": "home_improvement", "amount": "15000.00"}

    response = await client.post("/api/v1/applications", json=body, headers=bearer(token))
    assert response.status_code == 201, response.text
    refused = await client.post(
        "/api/v1/applications",
        json={**body, "amount": "-1"},
        headers=bearer(token),
    )
    assert refused.status_code == 422

    events = await _events(session, user_id=borrower.id)
    assert [(e.name, e.channel, e.mode, e.product) for e in events] == [
        ("application_started", "api", None, "personal"),
        ("intake_progress", "api", None, "personal"),
    ]
    # The intake now waits for the first required field still missing, in asking order.
    assert events[1].properties["next_field"] == response.json()["missing_fields"][0]["name"]
    assert events[0].application_id == uuid.UUID(response.json()["id"])
    assert events[0].organization_id == borrower.organization_id
    assert events[0].amount == Decimal("15000.00")


async def test_a_chat_turn_records_the_conversation_and_the_models_start(
    with_model: Client, session: AsyncSession, settings: Settings
) -> None:
    borrower, token = await borrower_with_token(session, settings)
    model = tool_then_reply(
        "start_application",
        {"product_type": "auto", "amount": "25000.00", "term_months": 60},
        "Started.",
        call_id="call_1",
    )
    async with with_model(model) as http:
        thread_id = await new_thread(http, token)
        await send(http, token, thread_id, "I want a $25k car loan over 5 years")

    events = await _events(session, user_id=borrower.id)
    assert [(e.name, e.channel, e.mode) for e in events] == [
        ("conversation_started", None, None),
        ("application_started", "chat", "llm"),
        ("intake_progress", "chat", "llm"),
    ]
    assert events[0].properties["graph"] == "borrower"


async def _seed_journeys(session: AsyncSession, firm: uuid.UUID, other: uuid.UUID) -> None:
    """Three applications in `firm` (one funded, one submitted, one only started), one in
    `other`, written as the services write them, at known times."""
    start = datetime(2026, 11, 2, 9, tzinfo=UTC)
    journeys: list[tuple[uuid.UUID, list[tuple[str, float]]]] = [
        (
            firm,
            [
                ("application_started", 0),
                ("application_submitted", 2),
                ("offer_presented", 26),
                ("offer_accepted", 30),
                ("funded", 74),
            ],
        ),
        (firm, [("application_started", 0), ("application_submitted", 4)]),
        (firm, [("application_started", 0)]),
        (other, [("application_started", 0), ("application_submitted", 1)]),
    ]
    for organization_id, steps in journeys:
        application_id = uuid.uuid4()
        for name, hours in steps:
            session.add(
                AnalyticsEvent(
                    name=name,
                    organization_id=organization_id,
                    application_id=application_id,
                    product="personal",
                    channel="chat",
                    mode="guided",
                    occurred_at=start + timedelta(hours=hours),
                )
            )
    await session.flush()
    await analytics_service.refresh(session)


async def test_dashboards_by_role(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    firm = await create_organization(session)
    other = await create_organization(session)
    # Two new firms: whatever else the test database holds belongs to other organizations.
    await _seed_journeys(session, firm.id, other.id)
    manager = await create_user(session, organization=firm, role=Role.BROKER_MANAGER)
    broker = await create_user(session, organization=firm, role=Role.BROKER)
    admin = await create_user(session, role=Role.PLATFORM_ADMIN)
    await session.commit()
    range_ = {"date_from": "2026-11-01", "date_to": "2026-11-30"}

    async def get(user_token: str, path: str, **params: str) -> httpx.Response:
        return await client.get(
            f"/api/v1/analytics/{path}", params={**range_, **params}, headers=bearer(user_token)
        )

    manager_token = await issue_token(session, manager, settings=settings)
    # A manager sees their firm, even when they name another.
    response = await get(manager_token, "drop-off", organization_id=str(other.id))
    assert response.status_code == 200, response.text
    steps = {s["step"]: s for s in response.json()["steps"]}
    assert [steps[s]["reached"] for s in steps] == [3, 2, 1, 1, 1]
    assert steps["application_submitted"]["dropped"] == 1
    assert steps["application_started"]["conversion"] == "0.6667"

    funnel = (await get(manager_token, "funnel")).json()
    totals = {row["step"]: row["applications"] for row in funnel["totals"]}
    assert totals == {
        "application_started": 3,
        "application_submitted": 2,
        "offer_presented": 1,
        "offer_accepted": 1,
        "funded": 1,
    }
    assert {row["group"] for row in funnel["rows"]} == {None}
    by_channel = (await get(manager_token, "funnel", breakdown="channel")).json()
    assert {row["group"] for row in by_channel["rows"]} == {"chat"}
    first_day = [row for row in by_channel["rows"] if row["day"] == "2026-11-02"]
    assert [row["step"] for row in first_day][:2] == [
        "application_started",
        "application_submitted",
    ]
    assert funnel["as_of"] is not None

    times = (await get(manager_token, "step-times")).json()["intervals"]
    submitted = next(i for i in times if i["to_step"] == "application_submitted")
    assert submitted["applications"] == 2
    assert submitted["median_hours"] == "3.00"  # 2 h and 4 h
    whole = next(
        i for i in times if i["from_step"] == "application_started" and i["to_step"] == "funded"
    )
    assert whole["median_hours"] == "74.00"

    # The admin sees a firm they name; a broker sees only the applications they work (none
    # here: tests/observability/test_analytics_brokers.py).
    admin_token = await issue_token(session, admin, settings=settings)
    other_view = await get(admin_token, "drop-off", organization_id=str(other.id))
    assert [s["reached"] for s in other_view.json()["steps"]][:2] == [1, 1]
    broker_token = await issue_token(session, broker, settings=settings)
    broker_funnel = await get(broker_token, "funnel")
    assert broker_funnel.status_code == 200
    assert {row["applications"] for row in broker_funnel.json()["totals"]} == {0}
    assert (await get(broker_token, "agents")).status_code == 403

    # A range ending before it starts is refused.
    bad = await client.get(
        "/api/v1/analytics/funnel",
        params={"date_from": "2026-11-30", "date_to": "2026-11-01"},
        headers=bearer(manager_token),
    )
    assert bad.status_code == 422


async def test_agent_metrics_count_turns_tools_and_fallbacks(
    with_model: Client, session: AsyncSession, settings: Settings
) -> None:
    _, token = await borrower_with_token(session, settings)
    model = tool_then_reply(
        "start_application",
        {"product_type": "yacht", "amount": "-5", "term_months": 60},
        "That did not work.",
        call_id="call_bad",
    )
    async with with_model(model) as http:
        thread_id = await new_thread(http, token)
        await send(http, token, thread_id, "a yacht please")
    admin = await create_user(session, role=Role.PLATFORM_ADMIN)
    await session.commit()
    await session.execute(
        text(
            "UPDATE chat_run SET prompt_versions = '{\"borrower.system\": 99}' WHERE thread_id = :t"
        ),
        {"t": uuid.UUID(thread_id)},
    )
    await analytics_service.refresh(session)
    today = datetime.now(UTC).date()
    metrics = await analytics_service.agent_metrics(
        session, actor_of(admin), AnalyticsFilter(date_from=today, date_to=today)
    )
    row = next(r for r in metrics.rows if r.prompt_versions == {"borrower.system": 99})
    assert row.turns == 1
    assert row.model == "ScriptedChatModel"
    assert (row.tool_calls, row.tool_errors) == (1, 1)
    assert row.input_tokens > 0
    assert row.fallbacks_to_guided == 0
