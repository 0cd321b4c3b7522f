"""What a turn leaves in the product's tables: the run (status, mode, tokens, cost, latency,
prompt versions), the redacted transcript in order, feedback with the turn; the queued
double-texting mode; a client that disconnects mid-turn."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from decimal import Decimal

import httpx
import pytest
import uvicorn
from langchain_core.messages import AIMessage
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agents.models import ModelBreaker, ModelPricing, ModelProvider
from agents.scripted import ScriptedChatModel
from api.app import create_app
from lending.config import Settings
from lending.db import SessionMaker
from lending.kv import MemoryStore
from lending.models.chat import ChatFeedback, ChatMessage, ChatRun, ChatThread
from lending.models.identity import Role
from tests.agents.sse import new_thread, reply_text, send, tool_then_reply
from tests.identity.factories import bearer, create_user, issue_token

Client = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def with_model(settings: Settings, sessionmaker: SessionMaker) -> Client:
    @asynccontextmanager
    async def open_client(
        model: ScriptedChatModel,
        app_settings: Settings | None = None,
        store: MemoryStore | None = None,
    ) -> AsyncIterator[httpx.AsyncClient]:
        provider = ModelProvider(
            models=[model],
            pricing=ModelPricing(Decimal("0.5"), Decimal("1.5")),
            breaker=ModelBreaker(failures=1, cooldown_seconds=3600),
        )
        app = create_app(
            app_settings or settings,
            sessionmaker=sessionmaker,
            store=store or MemoryStore(),
            chat_model=provider,
        )
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://testserver"
            ) as http,
        ):
            yield http

    return open_client


class _LeaseWatch(MemoryStore):
    """The in-process store, telling the test when a turn found its thread's lease taken."""

    def __init__(self) -> None:
        super().__init__()
        self.refused = asyncio.Event()

    async def acquire(self, key: str, ttl_seconds: float) -> bool:
        got = await super().acquire(key, ttl_seconds)
        if not got and key.endswith(":turn"):
            self.refused.set()
        return got


async def _borrower_token(session: AsyncSession, settings: Settings) -> str:
    user = await create_user(session, role=Role.BORROWER, full_name="Ana Ruiz")
    token = await issue_token(session, user, settings=settings)
    await session.commit()
    return token


async def test_a_turn_records_its_run_and_redacted_transcript_in_order(
    with_model: Client, session: AsyncSession, settings: Settings
) -> None:
    token = await _borrower_token(session, settings)
    model = tool_then_reply(
        "compute_payment",
        {"amount": "25000.00", "annual_rate": "7.5", "term_months": 60},
        "That is about $501 a month.",
        call_id="call_payment",
    )
    async with with_model(model) as http:
        thread_id = await new_thread(http, token)
        events = await send(
            http, token, thread_id, "my SSN is 123-45-6789; what would 25k over 5 years cost?"
        )
    completed = events[-1][1]
    run_id = uuid.UUID(events[0][1]["run_id"])

    run = await session.scalar(select(ChatRun).where(ChatRun.id == run_id))
    assert run is not None
    assert str(run.thread_id) == thread_id
    assert (run.status, run.mode) == ("completed", "llm")
    assert run.finished_at is not None
    assert run.latency_ms is not None
    assert run.input_tokens > 0
    assert run.output_tokens > 0
    assert run.input_tokens == completed["tokens"]["input_tokens"]
    assert run.output_tokens == completed["tokens"]["output_tokens"]
    assert run.cost == Decimal(completed["cost"]) > 0
    assert run.prompt_versions == {"borrower.system": 0}  # the built-in default text
    assert run.error is None

    messages = list(
        await session.scalars(
            select(ChatMessage).where(ChatMessage.run_id == run_id).order_by(ChatMessage.id)
        )
    )
    assert [m.role for m in messages] == ["user", "tool", "assistant"]
    assert "123-45-6789" not in messages[0].content  # stored for review, redacted
    assert "25k over 5 years" in messages[0].content
    assert messages[1].tool == {"tool": "compute_payment", "ok": True, "error": None}
    assert messages[2].content == "That is about $501 a month."

    thread = await session.scalar(select(ChatThread).where(ChatThread.id == uuid.UUID(thread_id)))
    assert thread is not None
    assert thread.last_message_at == run.finished_at


async def test_feedback_is_stored_with_the_turn_and_can_be_changed(
    with_model: Client, session: AsyncSession, settings: Settings
) -> None:
    token = await _borrower_token(session, settings)
    other_token = await _borrower_token(session, settings)
    model = ScriptedChatModel(script=[AIMessage(content="Hello, how can I help?")])
    async with with_model(model) as http:
        thread_id = await new_thread(http, token)
        events = await send(http, token, thread_id, "hi")
        run_id = events[0][1]["run_id"]
        url = f"/api/v1/chat/threads/{thread_id}/runs/{run_id}/feedback"

        down = await http.post(
            url, json={"rating": -1, "comment": "too short"}, headers=bearer(token)
        )
        assert down.status_code == 201
        assert down.json()["run_id"] == run_id
        up = await http.post(url, json={"rating": 1}, headers=bearer(token))
        assert up.status_code == 201
        assert up.json()["id"] == down.json()["id"]  # one opinion per person per turn

        bad = await http.post(url, json={"rating": 5}, headers=bearer(token))
        assert bad.status_code == 422
        stranger = await http.post(url, json={"rating": -1}, headers=bearer(other_token))
        assert stranger.status_code == 404
        unknown = await http.post(
            f"/api/v1/chat/threads/{thread_id}/runs/{uuid.uuid4()}/feedback",
            json={"rating": 1},
            headers=bearer(token),
        )
        assert unknown.status_code == 404

    rows = list(
        await session.scalars(select(ChatFeedback).where(ChatFeedback.run_id == uuid.UUID(run_id)))
    )
    assert [(row.rating, row.comment) for row in rows] == [(1, None)]


async def test_a_second_message_during_a_run_waits_its_turn_in_queue_mode(
    with_model: Client, session: AsyncSession, settings: Settings
) -> None:
    token = await _borrower_token(session, settings)
    queued = settings.model_copy(update={"chat_double_texting": "queue"})
    release = asyncio.Event()
    model = ScriptedChatModel(
        script=[AIMessage(content="First answer."), AIMessage(content="Second answer.")],
        hold=release,
    )
    store = _LeaseWatch()
    async with with_model(model, queued, store) as http:
        thread_id = await new_thread(http, token)
        first = asyncio.create_task(send(http, token, thread_id, "first question"))
        async with asyncio.timeout(10):
            await model.started()  # the first turn is inside its model call, held there
            waiting = asyncio.create_task(send(http, token, thread_id, "second question"))
            await store.refused.wait()  # the second message found the first turn running
        assert model.calls == 1
        assert not first.done()
        assert not waiting.done()
        release.set()
        second = await waiting
        first_events = await first

    assert reply_text(first_events) == "First answer."
    assert reply_text(second) == "Second answer."
    # The second turn ran after the first had finished, and saw it.
    assert [str(m.content) for m in model.seen[1]][-3:] == [
        "first question",
        "First answer.",
        "second question",
    ]
    runs = list(
        await session.scalars(
            select(ChatRun)
            .where(ChatRun.thread_id == uuid.UUID(thread_id))
            .order_by(ChatRun.started_at)
        )
    )
    assert [run.status for run in runs] == ["completed", "completed"]
    assert runs[0].finished_at is not None
    assert runs[0].finished_at <= runs[1].started_at


async def test_a_client_that_leaves_mid_turn_does_not_lose_it(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker
) -> None:
    """Over real HTTP: the browser goes away after `run.started`; the turn still finishes, and
    the thread's history has the answer when the person comes back."""
    token = await _borrower_token(session, settings)
    release = asyncio.Event()
    model = ScriptedChatModel(script=[AIMessage(content="Here is the whole answer.")], hold=release)
    provider = ModelProvider(models=[model], pricing=ModelPricing(), breaker=ModelBreaker())
    app = create_app(settings, sessionmaker=sessionmaker, store=MemoryStore(), chat_model=provider)
    # A socket already listening: connections wait in its backlog until the server accepts
    # them, so nothing has to wait for the server to have started.
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen()
    port = listening.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    serving = asyncio.create_task(server.serve(sockets=[listening]))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            thread_id = await new_thread(http, token)
            async with http.stream(
                "POST",
                f"/api/v1/chat/threads/{thread_id}/runs",
                json={"message": "tell me everything"},
                headers=bearer(token),
            ) as response:
                async for line in response.aiter_lines():
                    if line.startswith("event: run.started"):
                        break  # and the connection closes with the block, mid-turn
            early = await http.get(f"/api/v1/chat/threads/{thread_id}", headers=bearer(token))
            assert [m["role"] for m in early.json()["messages"]] == ["user"]  # still answering
            turns = set(app.state.omnifin.background_tasks)
            assert len(turns) == 1  # the turn goes on without its client
            release.set()
            async with asyncio.timeout(10):
                await asyncio.gather(*turns)
            detail = await http.get(f"/api/v1/chat/threads/{thread_id}", headers=bearer(token))
    finally:
        server.should_exit = True
        await serving
        listening.close()
    messages = detail.json()["messages"]
    assert [(m["role"], m["content"]) for m in messages] == [
        ("user", "tell me everything"),
        ("assistant", "Here is the whole answer."),
    ]
    run = await session.scalar(select(ChatRun).where(ChatRun.thread_id == uuid.UUID(thread_id)))
    assert run is not None
    assert run.status == "completed"
