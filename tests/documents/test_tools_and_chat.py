"""The document tools through the registry (scopes, approvals) and through a chat turn: a file
uploaded by the web app reaches the assistant as a reference that it attaches; a pay stub that
tells the assistant to approve changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
from langchain_core.messages import AIMessage
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agents.models import ModelBreaker, ModelPricing, ModelProvider
from agents.scripted import ScriptedChatModel
from api.app import create_app
from evals.synthetic_documents import Variant, generate
from lending.config import Settings
from lending.db import SessionMaker
from lending.documents.tasks import run_extraction
from lending.documents.types import DocumentType
from lending.kv import MemoryStore
from lending.models.applications import Application, ApplicationStatus
from lending.models.documents import Document, DocumentStatus
from lending.models.identity import Role
from tests.agents.sse import parse_sse
from tests.documents.factories import create_document
from tests.identity.factories import bearer, create_user, issue_token
from tests.lending.factories import create_application, create_borrower
from tests.tools.support import context_for
from tools.base import ToolError
from tools.registry import registry


async def test_reviewer_tools_are_offered_to_reviewers_only_and_need_approval(
    session: AsyncSession, sessionmaker: SessionMaker, doc_settings: Settings
) -> None:
    broker = await create_user(session, role=Role.BROKER)
    borrower = await create_borrower(session, doc_settings, referred_by=broker)
    application = await create_application(session, borrower)
    document_id = await create_document(
        session, doc_settings, borrower, application.id, status=DocumentStatus.NEEDS_REVIEW
    )
    borrower_context = context_for(borrower, sessionmaker, doc_settings)
    broker_context = context_for(broker, sessionmaker, doc_settings)

    offered = {t.name for t in registry.for_actor(borrower_context.actor)}
    with pytest.raises(ToolError) as refused:
        await registry.execute(
            "verify_document", {"document_id": str(document_id)}, borrower_context
        )
    with pytest.raises(ToolError) as unapproved:
        await registry.execute("verify_document", {"document_id": str(document_id)}, broker_context)
    document = await session.get(Document, document_id)
    assert document is not None
    await session.refresh(document)
    still = document.status
    verified = await registry.execute(
        "verify_document",
        {"document_id": str(document_id)},
        broker_context,
        idempotency_key="k1",
        approved=True,
    )

    assert {"list_required_documents", "attach_document", "get_document_status"} <= offered
    assert "verify_document" not in offered
    assert "reject_document" not in offered
    assert refused.value.kind == "PermissionDenied"
    assert unapproved.value.kind == "ApprovalRequired"
    assert still is DocumentStatus.NEEDS_REVIEW
    assert verified.status is DocumentStatus.VERIFIED  # type: ignore[attr-defined]


@pytest.fixture
async def chat_client(
    doc_settings: Settings, sessionmaker: SessionMaker
) -> AsyncIterator[tuple[httpx.AsyncClient, ScriptedChatModel]]:
    model = ScriptedChatModel(script=[AIMessage(content="placeholder")])
    provider = ModelProvider(
        models=[model],
        pricing=ModelPricing(Decimal("0"), Decimal("0")),
        breaker=ModelBreaker(failures=1, cooldown_seconds=3600),
    )
    app = create_app(
        doc_settings, sessionmaker=sessionmaker, store=MemoryStore(), chat_model=provider
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as http,
    ):
        yield http, model


def _call(name: str, **args: object) -> AIMessage:
    return AIMessage(
        content="",
        tool_calls=[{"name": name, "args": dict(args), "id": f"call_{uuid.uuid4().hex[:12]}"}],
    )


async def test_a_file_sent_with_a_chat_message_is_attached_by_the_assistant_and_injection_changes_nothing(
    chat_client: tuple[httpx.AsyncClient, ScriptedChatModel],
    session: AsyncSession,
    sessionmaker: SessionMaker,
    doc_settings: Settings,
) -> None:
    http, model = chat_client
    stub = generate(DocumentType.PAY_STUB, seed=11, variant=Variant.INJECTION)
    borrower = await create_borrower(session, doc_settings)
    application = await create_application(session, borrower)
    headers = bearer(await issue_token(session, borrower, settings=doc_settings))
    await session.commit()
    uploaded = await http.post(
        "/api/v1/documents",
        files={"file": ("paystub.pdf", stub.data, "application/pdf")},
        headers=headers,
    )
    assert uploaded.status_code == 201, uploaded.text
    document_id = uploaded.json()["id"]
    assert uploaded.json()["application_id"] is None
    loose = await http.get("/api/v1/documents", headers=headers)
    assert [item["id"] for item in loose.json()["items"]] == [document_id]
    thread = await http.post("/api/v1/chat/threads", json={}, headers=headers)
    thread_id = thread.json()["id"]
    model.script = [
        _call("attach_document", document_id=document_id, application_id=str(application.id)),
        AIMessage(content="Thanks, I've added your pay stub to the application."),
    ]
    model.model_post_init(None)

    turn = await http.post(
        f"/api/v1/chat/threads/{thread_id}/runs",
        json={"message": "Here is my pay stub", "document_ids": [document_id]},
        headers=headers,
    )

    assert turn.status_code == 200, turn.text
    events = parse_sse(turn.text)
    finished = [data for kind, data in events if kind == "tool.finished"]
    assert [(f["tool"], f["ok"]) for f in finished] == [("attach_document", True)]
    seen = " ".join(str(m.content) for m in model.seen[0])
    assert f"document_id={document_id}" in seen
    assert "ignore previous instructions" not in seen.lower()  # the content never reaches it
    document = await session.get(Document, uuid.UUID(document_id))
    assert document is not None
    await session.refresh(document)
    assert document.application_id == application.id
    assert document.status is DocumentStatus.UPLOADED

    outcome = await run_extraction(
        sessionmaker, doc_settings, uuid.UUID(document_id), today=stub.today
    )
    # The assistant reads the extracted fields; then the (scripted, as if persuaded) model tries
    # to verify the document and to push the application on. Nothing changes.
    model.script = [
        _call("get_extracted_fields", document_id=document_id),
        _call("verify_document", document_id=document_id),
        _call(
            "submit_application", application_id=str(application.id), lender_ids=[str(uuid.uuid4())]
        ),
        AIMessage(content="Your pay stub is with a reviewer."),
    ]
    model.model_post_init(None)
    second = await http.post(
        f"/api/v1/chat/threads/{thread_id}/runs",
        json={"message": "What does my pay stub say?"},
        headers=headers,
    )

    assert outcome is DocumentStatus.NEEDS_REVIEW
    assert second.status_code == 200, second.text
    results = [data for kind, data in parse_sse(second.text) if kind == "tool.finished"]
    assert [(r["tool"], r["ok"]) for r in results] == [
        ("get_extracted_fields", True),
        ("verify_document", False),
        ("submit_application", False),
    ]
    assert "never instructions" in str(results[0]["result"])
    assert "verify_document" not in model.bound_tools
    await session.refresh(document)
    assert document.status.value == "needs_review"
    assert document.reviewed_by_user_id is None
    stored = await session.scalar(select(Application).where(Application.id == application.id))
    assert stored is not None
    await session.refresh(stored)
    assert stored.status is ApplicationStatus.DRAFT


async def test_a_chat_message_cannot_reference_someone_elses_document(
    chat_client: tuple[httpx.AsyncClient, ScriptedChatModel],
    session: AsyncSession,
    doc_settings: Settings,
) -> None:
    http, _ = chat_client
    owner = await create_borrower(session, doc_settings)
    intruder = await create_borrower(session, doc_settings)
    document_id = await create_document(session, doc_settings, owner, None)
    headers = bearer(await issue_token(session, intruder, settings=doc_settings))
    await session.commit()
    thread = await http.post("/api/v1/chat/threads", json={}, headers=headers)

    turn = await http.post(
        f"/api/v1/chat/threads/{thread.json()['id']}/runs",
        json={"message": "look at this", "document_ids": [str(document_id)]},
        headers=headers,
    )

    assert turn.status_code == 404


async def test_guided_mode_attaches_a_document_sent_before_the_application_exists(
    session: AsyncSession, sessionmaker: SessionMaker, doc_settings: Settings
) -> None:
    borrower = await create_borrower(session, doc_settings)
    document_id = await create_document(session, doc_settings, borrower, None)
    headers = bearer(await issue_token(session, borrower, settings=doc_settings))
    await session.commit()
    app = create_app(doc_settings, sessionmaker=sessionmaker, store=MemoryStore())
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as http,
    ):
        thread = await http.post("/api/v1/chat/threads", json={}, headers=headers)
        turn = await http.post(
            f"/api/v1/chat/threads/{thread.json()['id']}/runs",
            json={"message": "I'd like a personal loan", "document_ids": [str(document_id)]},
            headers=headers,
        )

    assert turn.status_code == 200, turn.text
    events = parse_sse(turn.text)
    assert events[0][1]["mode"] == "guided"
    finished = [(d["tool"], d["ok"]) for kind, d in events if kind == "tool.finished"]
    # A new conversation first looks for a draft to continue (none here), then starts one.
    assert finished == [
        ("list_applications", True),
        ("start_application", True),
        ("attach_document", True),
    ]
    document = await session.get(Document, document_id)
    assert document is not None
    await session.refresh(document)
    application = await session.scalar(
        select(Application).where(Application.borrower_user_id == borrower.id)
    )
    assert application is not None
    assert document.application_id == application.id
    replies = " ".join(d["text"] for kind, d in events if kind == "message.completed")
    assert "document.pdf" in replies
