"""Approvals are objects, through the HTTP API with a scripted model and real Postgres: each is
answered on its own by id, runs exactly the call it showed once, belongs to one person, expires,
and is put to the person in words (never a tool description or an id)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx2
import openai
from langchain_core.messages import AIMessage
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agents.models import ModelBreaker, ModelPricing, ModelProvider
from agents.scripted import ScriptedChatModel
from api.app import create_app
from lending.config import Settings
from lending.kv import MemoryStore
from lending.models.applications import Application
from lending.models.tools import ApprovalStatus, ToolApproval, ToolCallRecord
from tests.agents.sse import (
    Client,
    borrower_with_token,
    consent_call,
    consent_question,
    granted_consents,
    new_thread,
    parse_sse,
    reply_text,
    seed_some_knowledge,
    send,
)
from tests.identity.factories import bearer
from tests.lending.factories import create_application


def _withdraw(application_id: str, reason: str, call_id: str) -> AIMessage:
    """A model message asking to withdraw one application (an irreversible call)."""
    return AIMessage(
        content="",
        tool_calls=[
            {
                "name": "withdraw_application",
                "args": {"application_id": application_id, "reason": reason},
                "id": call_id,
            }
        ],
    )


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
            _withdraw(application, "no longer needed", "call_expiring"),
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
            _withdraw(application, "done", "call_owned"),
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


async def test_openai_clients_get_the_question_and_the_approval_id_and_must_answer_explicitly(
    settings: Settings, sessionmaker: Any, session: AsyncSession
) -> None:
    """`/v1/chat/completions` through the official `openai` package: the question is the
    assistant's message, `pending_approval` carries the id; a question or a hedge leaves it
    waiting; only an explicit answer (the id, or a clear yes) runs it."""
    borrower, token = await borrower_with_token(session, settings)
    application = str((await create_application(session, borrower)).id)
    await session.commit()
    # A real model gives every call an id of its own: a refused call is never asked again.
    withdraw = [_withdraw(application, "not needed", f"call_v1_{attempt}") for attempt in (1, 2)]
    model = ScriptedChatModel(
        script=[
            withdraw[0],
            AIMessage(content="Nothing done."),
            withdraw[1],
            AIMessage(content="Withdrawn."),
        ]
    )
    provider = ModelProvider(
        models=[model],
        pricing=ModelPricing(Decimal("0.5"), Decimal("1.5")),
        breaker=ModelBreaker(failures=1, cooldown_seconds=3600),
    )
    app = create_app(settings, sessionmaker=sessionmaker, store=MemoryStore(), chat_model=provider)
    # The openai package speaks through its own httpx (httpx2); its ASGI transport reaches the app.
    async with (
        app.router.lifespan_context(app),
        httpx2.AsyncClient(
            transport=httpx2.ASGITransport(app=app), base_url="http://testserver/v1"
        ) as http,
    ):
        client = openai.AsyncOpenAI(
            base_url="http://testserver/v1", api_key=token, http_client=http, max_retries=0
        )
        conversation = {"conversation_id": f"v1-{uuid.uuid4().hex}"}

        async def say(text: str, **extra: Any) -> Any:
            return await client.chat.completions.create(
                model="omnifin-borrower",
                messages=[{"role": "user", "content": text}],
                extra_body={**conversation, **extra},
            )

        asked = await say("please withdraw my application")
        pending = (asked.model_extra or {})["pending_approval"]
        question = asked.choices[0].message.content or ""
        assert pending["summary"] in question
        assert "withdraw your personal loan application" in question
        assert "withdraw_application" not in question
        assert application not in question

        # "ok, ..." followed by a question is not a yes: answered by restating, still waiting.
        for text in ("ok, what fees are there?", "maybe", "I do not want to do it yet, wait"):
            reply = await say(text)
            assert await _status(session, application) == "draft", text
            if (reply.model_extra or {}).get("pending_approval") is None:
                break  # a refusal answers it (rejected): nothing ran
            assert reply.model_extra["pending_approval"]["approval_id"] == pending["approval_id"]
        assert await _status(session, application) == "draft"

        again = await say("withdraw my application")
        pending = (again.model_extra or {})["pending_approval"]
        # Streaming: the question is streamed like any words, the id comes in the last chunk.
        stream = await client.chat.completions.create(
            model="omnifin-borrower",
            messages=[{"role": "user", "content": "hmm"}],
            stream=True,
            extra_body=conversation,
        )
        text, last = "", None
        async for chunk in stream:
            text += chunk.choices[0].delta.content or ""
            last = chunk
        assert last is not None
        assert (last.model_extra or {})["pending_approval"]["approval_id"] == pending["approval_id"]
        assert "withdraw your personal loan application" in text

        done = await say("whatever", approval={"id": pending["approval_id"], "approved": True})
        assert (done.model_extra or {}).get("pending_approval") is None
        assert "Withdrawn." in (done.choices[0].message.content or "")
    assert await _status(session, application) == "withdrawn"


async def test_the_question_is_put_in_the_persons_language_and_a_chinese_refusal_runs_nothing(
    with_model: Client, session: AsyncSession, settings: Settings
) -> None:
    borrower, token = await borrower_with_token(session, settings)
    application = str((await create_application(session, borrower)).id)
    await session.commit()
    model = ScriptedChatModel(
        script=[
            _withdraw(application, "不需要了", "call_zh"),
            AIMessage(content="好的。"),
        ]
    )
    async with with_model(model) as http:
        thread_id = await new_thread(http, token)
        [asked] = _asked(await send(http, token, thread_id, "请帮我撤回贷款申请"))
        assert "撤回" in asked["summary"]
        assert "个人贷款" in asked["summary"]
        assert "withdraw" not in asked["summary"]
        unclear = await send(http, token, thread_id, "这是什么意思？")
        assert "我还没有执行任何操作" in reply_text(unclear)
        assert await _status(session, application) == "draft"
        await send(http, token, thread_id, "不同意")
    assert await _status(session, application) == "draft"
    rejected = await session.scalar(
        select(ToolApproval.status).where(ToolApproval.id == uuid.UUID(asked["approval_id"]))
    )
    assert rejected == ApprovalStatus.REJECTED


async def test_a_question_while_an_approval_waits_is_answered_and_runs_nothing(
    with_model: Client, session: AsyncSession, settings: Settings
) -> None:
    await seed_some_knowledge(session, settings)
    borrower, token = await borrower_with_token(session, settings)
    application = str((await create_application(session, borrower)).id)
    await session.commit()
    model = ScriptedChatModel(
        script=[
            _withdraw(application, "fees", "call_question"),
            AIMessage(content="Done."),
        ]
    )
    async with with_model(model) as http:
        thread_id = await new_thread(http, token)
        [asked] = _asked(await send(http, token, thread_id, "withdraw my application"))
        events = await send(http, token, thread_id, "ok, what fees are there?")
    replies = [d["text"] for k, d in events if k == "message.completed"]
    assert len(replies) == 2
    assert "fee" in replies[0].lower()  # answered from the knowledge base, with its source
    assert "clear yes or no" in replies[1]
    assert [a["approval_id"] for a in _asked(events)] == [asked["approval_id"]]
    assert await _status(session, application) == "draft"


async def test_a_model_cannot_record_consent_unless_the_person_said_a_clear_yes(
    with_model: Client, session: AsyncSession, settings: Settings
) -> None:
    borrower, token = await borrower_with_token(session, settings)
    consent = consent_call()

    # Each reply shows the consent's text and asks again: only the answer decides.
    model = ScriptedChatModel(script=[consent, AIMessage(content=consent_question())])
    async with with_model(model) as http:
        thread_id = await new_thread(http, token)
        for refusal in (
            "I do not consent to a credit check",
            "what does that mean?",
            "ok wait, no",
            "我不同意",
        ):
            events = await send(http, token, thread_id, refusal)
            finished = [d for k, d in events if k == "tool.finished"]
            assert finished, refusal
            assert finished[0]["ok"] is False, refusal
            assert await granted_consents(session, borrower) == 0, refusal
        events = await send(http, token, thread_id, "yes, I agree to the credit check")
        assert [d["ok"] for k, d in events if k == "tool.finished"] == [True]
    assert await granted_consents(session, borrower) == 1
