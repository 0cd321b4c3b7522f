"""A broker's follow-ups in guided mode, as people talk: "what's missing on it?" and "start a
new one for her" mean the file just discussed and its client; "how much did I make in
November?" is a commission question. A new conversation has no file in mind."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.models.applications import Application
from lending.models.identity import Role
from tests.agents.sse import reply_text, send
from tests.identity.factories import bearer, create_organization, create_user, issue_token
from tests.lending.factories import create_application, create_borrower, create_catalog


def _tools(events: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [data["tool"] for kind, data in events if kind == "tool.started"]


async def test_it_and_her_mean_the_file_just_discussed(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await create_catalog(session)
    firm = await create_organization(session)
    broker = await create_user(session, role=Role.BROKER, organization=firm)
    riley = await create_borrower(session, settings, organization=firm, referred_by=broker)
    riley.full_name = "Riley Stone"
    other = await create_borrower(session, settings, organization=firm, referred_by=broker)
    rileys = await create_application(session, riley)
    await create_application(session, other)
    reference, riley_id = rileys.reference, riley.id
    token = await issue_token(session, broker, settings=settings)
    await session.commit()
    created = await client.post("/api/v1/chat/threads", json={}, headers=bearer(token))
    thread_id = created.json()["id"]

    # Without a file in mind, "it" means nothing: the broker is told what is understood.
    events = await send(client, token, thread_id, "what's missing on it?")
    assert _tools(events) == []

    events = await send(client, token, thread_id, "hey, what's going on with Riley's file?")
    assert reference in reply_text(events)
    for follow_up in ("what's missing on it?", "what's her status now?"):
        events = await send(client, token, thread_id, follow_up)
        assert _tools(events) == ["get_application"], follow_up
        assert reference in reply_text(events), follow_up

    events = await send(
        client,
        token,
        thread_id,
        "can you start a new one for her? she wants 20k for a car over 5 years",
    )
    assert _tools(events) == ["start_application"]
    [pending] = [data for kind, data in events if kind == "interrupt.requested"]
    assert "auto loan application for $20,000.00 over 60 months" in pending["summary"]
    events = await send(client, token, thread_id, "yes")
    assert "Riley Stone" in reply_text(events)
    # For Riley: the file just discussed belongs to her.
    count = select(func.count()).select_from(Application)
    assert await session.scalar(count.where(Application.borrower_user_id == riley_id)) == 2
    # The file just started is now the one discussed; in Chinese too.
    events = await send(client, token, thread_id, "它还缺什么？")
    assert _tools(events) == ["get_application"]
    assert reference not in reply_text(events)


async def test_how_much_did_i_make_is_a_commission_question(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await create_catalog(session)
    firm = await create_organization(session)
    broker = await create_user(session, role=Role.BROKER, organization=firm)
    token = await issue_token(session, broker, settings=settings)
    await session.commit()
    created = await client.post("/api/v1/chat/threads", json={}, headers=bearer(token))
    thread_id = created.json()["id"]
    for text in ("how much did I make in November?", "what did I get last month?"):
        events = await send(client, token, thread_id, text)
        assert _tools(events)[:1] == ["get_commission_summary"], text
