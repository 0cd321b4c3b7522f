"""`omnifin evals capture`: a stored conversation becomes a scenario file that loads, replays the
person's turns and answers, and carries no personal value, name or e-mail; staff only, audited."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import yaml
from langchain_core.messages import AIMessage
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agents.scripted import ScriptedChatModel
from evals.capture import capture
from evals.schema import Scenario
from lending.config import Settings
from lending.errors import InvalidInput, NotFound, PermissionDenied
from lending.models.audit import AuditEvent
from lending.models.identity import Role
from tests.agents.sse import Client, borrower_with_token, new_thread, parse_sse, send
from tests.identity.factories import actor_of, bearer, create_user
from tests.lending.factories import create_application

SSN = "219-09-9999"


def _withdraw(application_id: str) -> AIMessage:
    return AIMessage(
        content="",
        tool_calls=[
            {
                "name": "withdraw_application",
                "args": {"application_id": application_id, "reason": "changed my mind"},
                "id": "call-1",
                "type": "tool_call",
            }
        ],
    )


async def _conversation(with_model: Client, session: AsyncSession, settings: Settings) -> Any:
    borrower, token = await borrower_with_token(session, settings)
    application = str((await create_application(session, borrower)).id)
    await session.commit()
    model = ScriptedChatModel(
        script=[
            AIMessage(content="Noted."),
            _withdraw(application),
            AIMessage(content="I kept it."),
        ]
    )
    async with with_model(model) as http:
        thread_id = await new_thread(http, token)
        await send(http, token, thread_id, f"my ssn is {SSN}, mail me at sam.lee@example.com")
        paused = await send(http, token, thread_id, "withdraw my application")
        asked = next(data for kind, data in paused if kind == "interrupt.requested")
        response = await http.post(
            f"/api/v1/chat/threads/{thread_id}/approvals/{asked['approval_id']}",
            json={"approved": False},
            headers=bearer(token),
        )
        assert response.status_code == 200
        assert parse_sse(response.text)
    return borrower, uuid.UUID(thread_id)


async def test_a_conversation_becomes_a_scenario_without_personal_data(
    with_model: Client, session: AsyncSession, settings: Settings
) -> None:
    borrower, thread_id = await _conversation(with_model, session, settings)
    engineer = actor_of(await create_user(session, role=Role.PROMPT_ENGINEER))

    captured = await capture(session, engineer, thread_id)

    assert captured.text.startswith("# Captured from conversation")
    scenario = Scenario.model_validate(yaml.safe_load(captured.text))
    assert scenario.id == f"captured-{str(thread_id)[:8]}"
    assert scenario.actor.role == "borrower"
    assert scenario.modes == ["llm"]  # it ran with a model
    turns = [t.model_dump(exclude_defaults=True) for t in scenario.user.turns]
    assert turns[1:] == [{"say": "withdraw my application"}, {"answer": "reject"}]
    assert "[redacted]" in turns[0]["say"]
    assert [a.tool for a in scenario.approvals] == ["withdraw_application"]
    assert scenario.trajectory.mode == "subset"
    # Nothing that names or identifies the person.
    for secret in (
        SSN,
        "219099999",
        "9999",
        "sam.lee@example.com",
        borrower.full_name,
        str(borrower.id),
    ):
        assert secret not in captured.text
    rows = (
        await session.scalars(
            select(AuditEvent).where(AuditEvent.action == "evals.conversation_captured")
        )
    ).all()
    assert [(r.subject_id, r.actor_user_id) for r in rows] == [(str(thread_id), engineer.user_id)]


async def test_only_staff_capture_and_only_people_conversations(
    with_model: Client, session: AsyncSession, settings: Settings
) -> None:
    borrower, thread_id = await _conversation(with_model, session, settings)
    with pytest.raises(PermissionDenied):
        await capture(session, actor_of(borrower), thread_id)
    admin = actor_of(await create_user(session, role=Role.PLATFORM_ADMIN))
    with pytest.raises(PermissionDenied):  # administrators run no evals
        await capture(session, admin, thread_id)
    engineer = actor_of(await create_user(session, role=Role.PROMPT_ENGINEER))
    with pytest.raises(NotFound):
        await capture(session, engineer, uuid.uuid4())


async def test_a_conversation_with_nothing_said_is_refused(
    session: AsyncSession, settings: Settings, with_model: Client
) -> None:
    _, token = await borrower_with_token(session, settings)
    async with with_model(ScriptedChatModel(script=[AIMessage(content="unused")])) as http:
        thread_id = uuid.UUID(await new_thread(http, token))
    engineer = actor_of(await create_user(session, role=Role.PROMPT_ENGINEER))
    with pytest.raises(InvalidInput, match="no message"):
        await capture(session, engineer, thread_id)
