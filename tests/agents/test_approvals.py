"""Approvals are objects, through the HTTP API with a scripted model and real Postgres: each is
answered on its own by id, runs exactly the call it showed once, belongs to one person, expires,
and is put to the person in words (never a tool description or an id)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from langchain_core.messages import AIMessage
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agents.scripted import ScriptedChatModel
from lending.config import Settings
from lending.models.applications import Application
from lending.models.tools import ApprovalStatus, ToolApproval, ToolCallRecord
from tests.agents.sse import Client, borrower_with_token, new_thread, parse_sse, reply_text, send
from tests.identity.factories import bearer
from tests.lending.factories import create_application


def _withdraw_both(first: str, second: str) -> AIMessage:
    """One model message asking for two irreversible actions at once."""
    return AIMessage(
        content="",
        tool_calls=[
            {
                "name": "withdraw_application",
                "args": {"application_id": application_id, "reason": "changed my mind"},
                "id": f"call_{uuid.uuid4().hex[:12]}",
            }
            for application_id in (first, second)
        ],
    )


def _asked(events: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    return [data for kind, data in events if kind == "interrupt.requested"]


async def _status(session: AsyncSession, application_id: str) -> str:
    application = await session.get(Application, uuid.UUID(application_id))
    assert application is not None
    await session.refresh(application)
    return application.status.value


async def _answer(
    http: Any, token: str, thread_id: str, approval_id: str, approved: bool
) -> tuple[int, list[tuple[str, dict[str, Any]]]]:
    response = await http.post(
        f"/api/v1/chat/threads/{thread_id}/approvals/{approval_id}",
        json={"approved": approved},
        headers=bearer(token),
    )
    return response.status_code, parse_sse(response.text) if response.status_code == 200 else []


async def test_two_approvals_in_one_message_are_answered_each_on_its_own(
    with_model: Client, session: AsyncSession, settings: Settings
) -> None:
    borrower, token = await borrower_with_token(session, settings)
    first = str((await create_application(session, borrower)).id)
    second = str((await create_application(session, borrower, amount="8000.00")).id)
    await session.commit()
    model = ScriptedChatModel(
        script=[_withdraw_both(first, second), AIMessage(content="All done.")]
    )
    async with with_model(model) as http:
        thread_id = await new_thread(http, token)
        paused = await send(http, token, thread_id, "withdraw both of my applications")
        asked = _asked(paused)
        assert [a["tool"] for a in asked] == ["withdraw_application"] * 2
        assert paused[-1][1]["status"] == "interrupted"
        first_ref = (await session.get(Application, uuid.UUID(first))).reference  # type: ignore[union-attr]
        # Each question says what happens to which application, in words.
        assert first_ref in asked[0]["summary"]
        for question in asked:
            assert "withdraw" in question["summary"]
            assert first not in question["summary"]
            assert second not in question["summary"]
            assert "withdraw_application" not in question["summary"]

        # Reject the FIRST (the position a resume value would have had), approve the second.
        code, rejected = await _answer(http, token, thread_id, asked[0]["approval_id"], False)
        assert code == 200
        assert [a["approval_id"] for a in _asked(rejected)] == [asked[1]["approval_id"]]
        assert await _status(session, first) == "draft"
        assert await _status(session, second) == "draft"

        code, approved = await _answer(http, token, thread_id, asked[1]["approval_id"], True)
        assert code == 200
        assert _asked(approved) == []
        assert "All done." in reply_text(approved)

    assert await _status(session, first) == "draft"  # rejected: never ran
    assert await _status(session, second) == "withdrawn"
    statuses = dict((await session.execute(select(ToolApproval.id, ToolApproval.status))).all())
    assert statuses[uuid.UUID(asked[0]["approval_id"])] == ApprovalStatus.REJECTED
    assert statuses[uuid.UUID(asked[1]["approval_id"])] == ApprovalStatus.EXECUTED
    # The approved call ran once.
    runs = await session.scalar(
        select(func.count())
        .select_from(ToolCallRecord)
        .where(ToolCallRecord.tool_name == "withdraw_application")
    )
    assert runs == 1


async def test_text_answers_the_question_asked_and_then_the_next_is_put(
    with_model: Client, session: AsyncSession, settings: Settings
) -> None:
    borrower, token = await borrower_with_token(session, settings)
    first = str((await create_application(session, borrower)).id)
    second = str((await create_application(session, borrower, amount="8000.00")).id)
    await session.commit()
    model = ScriptedChatModel(script=[_withdraw_both(first, second), AIMessage(content="Ok.")])
    async with with_model(model) as http:
        thread_id = await new_thread(http, token)
        asked = _asked(await send(http, token, thread_id, "withdraw both"))
        assert len(asked) == 2
        # A clear yes resolves only the question put (the oldest), never both.
        after_yes = await send(http, token, thread_id, "yes")
        assert await _status(session, first) == "withdrawn"
        assert await _status(session, second) == "draft"
        still = _asked(after_yes)
        assert [a["approval_id"] for a in still] == [asked[1]["approval_id"]]
        # Something unclear keeps it waiting and restates it.
        unclear = await send(http, token, thread_id, "hmm, what would that mean for me?")
        assert "clear yes or no" in reply_text(unclear)
        assert [a["approval_id"] for a in _asked(unclear)] == [asked[1]["approval_id"]]
        await send(http, token, thread_id, "no")
    assert await _status(session, second) == "draft"
    detail = await http_detail(with_model, model, token, thread_id)
    assert detail["pending_approval"] is None
    assert detail["pending_approvals"] == []


async def http_detail(
    with_model: Client, model: ScriptedChatModel, token: str, thread_id: str
) -> dict[str, Any]:
    async with with_model(model) as http:
        response = await http.get(f"/api/v1/chat/threads/{thread_id}", headers=bearer(token))
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def test_an_expired_approval_runs_nothing_and_is_asked_again_after_a_new_check(
    with_model: Client, session: AsyncSession, settings: Settings
) -> None:
    borrower, token = await borrower_with_token(session, settings)
    application = str((await create_application(session, borrower)).id)
    await session.commit()
    model = ScriptedChatModel(
        script=[
            AIMessage(
                content="",
                tool_calls=[
                    {
                        "name": "withdraw_application",
                        "args": {"application_id": application, "reason": "no longer needed"},
                        "id": "call_expiring",
                    }
                ],
            ),
            AIMessage(content="Withdrawn."),
        ]
    )
    async with with_model(model) as http:
        thread_id = await new_thread(http, token)
        [asked] = _asked(await send(http, token, thread_id, "withdraw my application"))
        assert "expires_at" in asked["payload"]
        await session.execute(
            update(ToolApproval)
            .where(ToolApproval.id == uuid.UUID(asked["approval_id"]))
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
        await session.commit()

        code, late = await _answer(http, token, thread_id, asked["approval_id"], True)
        assert code == 200
        resolved = [d for k, d in late if k == "approval.resolved"]
        assert resolved == [
            {
                "type": "approval.resolved",
                "approval_id": asked["approval_id"],
                "approved": False,
                "channel": "button",
                "outcome": "expired",
            }
        ]
        assert "expired" in reply_text(late)
        assert await _status(session, application) == "draft"  # nothing ran
        [again] = _asked(late)
        assert again["approval_id"] != asked["approval_id"]
        assert again["summary"] == asked["summary"]

        code, done = await _answer(http, token, thread_id, again["approval_id"], True)
        assert code == 200
    assert await _status(session, application) == "withdrawn"


async def test_only_the_person_asked_can_answer_and_only_in_that_conversation(
    with_model: Client, session: AsyncSession, settings: Settings
) -> None:
    borrower, token = await borrower_with_token(session, settings)
    _, other_token = await borrower_with_token(session, settings)
    application = str((await create_application(session, borrower)).id)
    await session.commit()
    model = ScriptedChatModel(
        script=[
            AIMessage(
                content="",
                tool_calls=[
                    {
                        "name": "withdraw_application",
                        "args": {"application_id": application, "reason": "done"},
                        "id": "call_owned",
                    }
                ],
            ),
            AIMessage(content="Withdrawn."),
        ]
    )
    async with with_model(model) as http:
        thread_id = await new_thread(http, token)
        other_thread = await new_thread(http, other_token)
        my_second_thread = await new_thread(http, token)
        [asked] = _asked(await send(http, token, thread_id, "withdraw it"))
        approval_id = asked["approval_id"]
        # Another person, on their own thread or on mine: not found, nothing runs.
        assert (await _answer(http, other_token, other_thread, approval_id, True))[0] == 404
        assert (await _answer(http, other_token, thread_id, approval_id, True))[0] == 404
        # My own other conversation is not where it was asked.
        assert (await _answer(http, token, my_second_thread, approval_id, True))[0] == 404
        assert (await _answer(http, token, thread_id, "not-an-id", True))[0] == 404
        assert await _status(session, application) == "draft"
        # Another person's "yes" typed in their own conversation approves nothing of mine.
        await send(http, other_token, other_thread, "yes")
        assert await _status(session, application) == "draft"
        code, _ = await _answer(http, token, thread_id, approval_id, True)
        assert code == 200
        # Answered: replaying it is refused and runs nothing more.
        assert (await _answer(http, token, thread_id, approval_id, True))[0] == 409
    assert await _status(session, application) == "withdrawn"
