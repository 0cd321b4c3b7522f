"""The conversations pages: everyone's threads with their filters, a transcript with tool calls,
approvals and mode changes (each read audited), and a scenario made from it by a prompt
engineer only."""

from __future__ import annotations

import html
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agents.threads import staff_threads
from lending.config import Settings
from lending.errors import PermissionDenied
from lending.models.audit import AuditEvent
from lending.models.chat import ChatFeedback, ChatMessage, ChatRun, ChatThread
from lending.models.identity import Role, User
from tests.admin.conftest import signed_in
from tests.identity.factories import actor_of, create_user


async def _thread(session: AsyncSession, owner: User, *, troubled: bool) -> ChatThread:
    """A borrower's conversation: a guided turn with a tool call; when `troubled`, then an llm
    turn that failed after an approval and got a thumbs-down."""
    thread = ChatThread(user_id=owner.id, organization_id=owner.organization_id, graph="borrower")
    session.add(thread)
    await session.flush()
    start = datetime.now(UTC) - timedelta(minutes=10)
    first = ChatRun(thread_id=thread.id, mode="guided", status="completed", started_at=start)
    session.add(first)
    await session.flush()
    session.add_all(
        [
            ChatMessage(thread_id=thread.id, run_id=first.id, role="user", content="I need a loan"),
            ChatMessage(
                thread_id=thread.id,
                run_id=first.id,
                role="tool",
                tool={"tool": "start_application", "ok": True, "error": None},
            ),
            ChatMessage(
                thread_id=thread.id, run_id=first.id, role="assistant", content="Started it."
            ),
        ]
    )
    if troubled:
        second = ChatRun(
            thread_id=thread.id,
            mode="llm",
            status="failed",
            error="model timed out",
            started_at=start + timedelta(minutes=1),
        )
        session.add(second)
        await session.flush()
        session.add_all(
            [
                ChatMessage(
                    thread_id=thread.id,
                    run_id=second.id,
                    role="approval",
                    content="approved",
                    tool={"tool": "submit_application", "channel": "button"},
                ),
                ChatFeedback(run_id=second.id, user_id=owner.id, rating=-1, comment="slow"),
            ]
        )
    await session.flush()
    return thread


async def _audited(session: AsyncSession, action: str, subject_id: uuid.UUID) -> list[AuditEvent]:
    rows = await session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == action, AuditEvent.subject_id == str(subject_id)
        )
    )
    return list(rows)


async def test_the_list_filters_thumbs_down_and_errors(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    borrower = await create_user(session, role=Role.BORROWER)
    calm = await _thread(session, borrower, troubled=False)
    troubled = await _thread(session, borrower, troubled=True)
    engineer = await signed_in(admin_app, session, settings, Role.PROMPT_ENGINEER)

    everything = await engineer.http.get("/admin/conversations")
    assert everything.status_code == 200
    assert str(calm.id)[:8] in everything.text
    assert str(troubled.id)[:8] in everything.text
    assert "I need a loan" not in everything.text  # the list shows no one's words
    for name in ("thumbs_down", "errors"):
        filtered = await engineer.http.get("/admin/conversations", params={name: "true"})
        assert filtered.status_code == 200
        assert str(troubled.id)[:8] in filtered.text, name
        assert str(calm.id)[:8] not in filtered.text, name


async def test_a_transcript_shows_tools_approvals_mode_changes_and_is_audited(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    borrower = await create_user(session, role=Role.BORROWER)
    thread = await _thread(session, borrower, troubled=True)
    admin = await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)

    page = await admin.http.get(f"/admin/conversations/{thread.id}")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "I need a loan" in text
    assert "start_application</code> ok" in text
    assert "submit_application</code> approved (by button)" in text
    assert "Mode changed from guided to llm." in text
    assert "Error: model timed out" in text
    assert "thumbs down: slow" in text
    assert "Make the scenario file" not in text  # an administrator has no evals:run
    reads = await _audited(session, "chat.thread_read_by_staff", thread.id)
    assert [event.actor_user_id for event in reads] == [admin.user.id]

    refused = await admin.post(f"/admin/conversations/{thread.id}/scenario")
    assert refused.status_code == 403
    assert await _audited(session, "evals.conversation_captured", thread.id) == []


async def test_a_prompt_engineer_makes_a_scenario_from_a_conversation(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    borrower = await create_user(session, role=Role.BORROWER)
    thread = await _thread(session, borrower, troubled=True)
    engineer = await signed_in(admin_app, session, settings, Role.PROMPT_ENGINEER)

    page = await engineer.http.get(f"/admin/conversations/{thread.id}")
    assert "Make the scenario file" in page.text
    forged = await engineer.http.post(
        f"/admin/conversations/{thread.id}/scenario", data={"csrf_token": "0" * 64}
    )
    assert forged.status_code == 403
    assert await _audited(session, "evals.conversation_captured", thread.id) == []

    made = await engineer.post(
        f"/admin/conversations/{thread.id}/scenario", {"scenario_id": "slow-submit"}
    )
    assert made.status_code == 200, made.text
    text = html.unescape(made.text)
    assert "id: slow-submit" in text
    assert "say: I need a loan" in text
    assert "answer: approve" in text
    assert "tool: start_application" in text
    captured = await _audited(session, "evals.conversation_captured", thread.id)
    assert [event.actor_user_id for event in captured] == [engineer.user.id]

    unknown = await engineer.post(f"/admin/conversations/{uuid.uuid4()}/scenario")
    assert unknown.status_code == 404


async def test_only_staff_read_other_peoples_conversations(session: AsyncSession) -> None:
    broker = await create_user(session, role=Role.BROKER)
    with pytest.raises(PermissionDenied):
        await staff_threads.page(session, actor_of(broker))
    borrower = await create_user(session, role=Role.BORROWER)
    thread = await _thread(session, borrower, troubled=False)
    with pytest.raises(PermissionDenied):
        await staff_threads.transcript(session, actor_of(borrower), thread_id=thread.id)
