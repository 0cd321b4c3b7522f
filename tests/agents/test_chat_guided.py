"""A borrower finishes an application in guided mode alone, through HTTP SSE: greeting to
prequalified offers, then a submission that waits for their approval."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.models.applications import Application
from lending.models.chat import ChatMessage, ChatRun
from lending.models.identity import Role
from tests.agents.guided_helpers import answer_until
from tests.agents.sse import parse_sse, reply_text, send
from tests.identity.factories import bearer, create_user, issue_token
from tests.lending.factories import create_catalog


async def test_guided_intake_from_greeting_to_submission(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await create_catalog(session)
    borrower = await create_user(session, role=Role.BORROWER, full_name="Jane Doe")
    token = await issue_token(session, borrower, settings=settings)
    await session.commit()

    created = await client.post("/api/v1/chat/threads", json={}, headers=bearer(token))
    assert created.status_code == 201, created.text
    thread_id = created.json()["id"]
    assert created.json()["graph"] == "borrower"

    first = await send(client, token, thread_id, "hi")
    kinds = [kind for kind, _ in first]
    assert kinds[0] == "run.started"
    assert first[0][1]["mode"] == "guided"
    assert kinds[-1] == "run.completed"
    assert "What kind of loan" in reply_text(first)

    events = await send(client, token, thread_id, "a personal loan of $15,000 over 36 months")
    assert ("tool.started", "start_application") in [
        (kind, data.get("tool")) for kind, data in events
    ]
    events = await answer_until(client, token, thread_id, events, "Here are your offers")
    assert "APR" in reply_text(events)

    application = await session.scalar(
        select(Application).where(Application.borrower_user_id == borrower.id)
    )
    assert application is not None
    assert application.amount == 15000
    assert application.term_months == 36
    assert application.purpose == "medical"

    # Choosing a lender submits, which cannot be undone: the run pauses for approval.
    paused = await send(client, token, thread_id, "1")
    interrupt = [data for kind, data in paused if kind == "interrupt.requested"]
    assert interrupt
    assert interrupt[0]["tool"] == "submit_application"
    assert paused[-1][1]["status"] == "interrupted"
    await session.refresh(application)
    assert application.status.value == "draft"  # nothing sent yet

    resumed = await client.post(
        f"/api/v1/chat/threads/{thread_id}/approvals/{interrupt[0]['approval_id']}",
        json={"approved": True},
        headers=bearer(token),
    )
    assert resumed.status_code == 200, resumed.text
    after = parse_sse(resumed.text)
    assert ("approval.resolved", True) in [(k, d.get("approved")) for k, d in after]
    assert "was sent to the lender" in reply_text(after)
    await session.refresh(application)
    assert application.status.value == "submitted"

    # The transcript is kept, redacted: the SSN never reached it.
    history = (await client.get(f"/api/v1/chat/threads/{thread_id}", headers=bearer(token))).json()
    roles = {message["role"] for message in history["messages"]}
    assert {"user", "assistant", "tool", "approval"} <= roles
    stored = " ".join((await session.scalars(select(ChatMessage.content))).all())
    assert "123-45-6789" not in stored
    runs = (await session.scalars(select(ChatRun))).all()
    assert all(run.status in ("completed", "interrupted") for run in runs)
