"""Read Server-Sent Events the way a browser does, for the chat tests."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import orjson
from langchain_core.messages import AIMessage
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agents.scripted import ScriptedChatModel
from knowledge.ingest import knowledge_ingest_service
from knowledge.ingestion import SourceFile
from knowledge.schemas import IngestOptions
from knowledge.seed import SEED_DIR
from lending.applications.requirements import requirements
from lending.config import Settings
from lending.models.applications import ConsentKind, ConsentRecord
from lending.models.identity import Role, User
from tests.identity.factories import bearer, create_user, issue_token
from tests.lending.factories import create_catalog


def tool_then_reply(
    name: str, args: dict[str, Any], reply: str, *, call_id: str = "call_1"
) -> ScriptedChatModel:
    """A scripted model that calls one tool with `args`, then answers `reply`."""
    return ScriptedChatModel(
        script=[
            AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": call_id}]),
            AIMessage(content=reply),
        ]
    )


def consent_question(kind: str = "credit_check") -> str:
    """What a model asks before recording a consent: the consent's exact current text."""
    text = requirements().consent_texts[ConsentKind(kind)].text
    return f'To show you offers I need your consent: "{text}" Do you agree? (yes or no)'


def consent_call() -> AIMessage:
    """A model's call recording the borrower's credit-check consent as granted."""
    return AIMessage(
        content="",
        tool_calls=[
            {
                "name": "record_consent",
                "args": {"kind": "credit_check", "granted": True},
                "id": f"call_{uuid.uuid4().hex[:12]}",
            }
        ],
    )


async def granted_consents(session: AsyncSession, borrower: User) -> int:
    """How many consents the borrower has granted."""
    return int(
        await session.scalar(
            select(func.count())
            .select_from(ConsentRecord)
            .where(ConsentRecord.borrower_user_id == borrower.id, ConsentRecord.granted.is_(True))
        )
        or 0
    )


def parse_sse(body: str) -> list[tuple[str, dict[str, Any]]]:
    events: list[tuple[str, dict[str, Any]]] = []
    for frame in body.split("\n\n"):
        kind, data = None, []
        for line in frame.splitlines():
            if line.startswith("event:"):
                kind = line.removeprefix("event:").strip()
            elif line.startswith("data:"):
                data.append(line.removeprefix("data:").strip())
        if kind is not None:
            events.append((kind, orjson.loads("\n".join(data))))
    return events


async def send(
    client: httpx.AsyncClient,
    token: str,
    thread_id: str,
    message: str,
    *,
    language: str | None = None,
) -> list[tuple[str, dict[str, Any]]]:
    """Send a message as the web app does; `language` is the app's language setting."""
    body: dict[str, Any] = {"message": message}
    if language is not None:
        body["language"] = language
    response = await client.post(
        f"/api/v1/chat/threads/{thread_id}/runs",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return parse_sse(response.text)


def reply_text(events: list[tuple[str, dict[str, Any]]]) -> str:
    return " ".join(data["text"] for kind, data in events if kind == "message.completed")


# Opens the app with a scripted model as the assistant's (the `with_model` fixture).
Client = Callable[[ScriptedChatModel], AbstractAsyncContextManager[httpx.AsyncClient]]


async def borrower_with_token(session: AsyncSession, settings: Settings) -> tuple[User, str]:
    """A borrower (with the lender catalog in place) and a bearer token, committed."""
    await create_catalog(session)
    user = await create_user(session, role=Role.BORROWER, full_name="Sam Lee")
    token = await issue_token(session, user, settings=settings)
    await session.commit()
    return user, token


async def new_thread(http: httpx.AsyncClient, token: str) -> str:
    response = await http.post("/api/v1/chat/threads", json={}, headers=bearer(token))
    assert response.status_code == 201
    return str(response.json()["id"])


async def seed_some_knowledge(session: AsyncSession, settings: Settings) -> None:
    """A few published knowledge articles in English and Chinese (fake embedder), committed."""
    fake = settings.model_copy(update={"knowledge_embedder": "fake"})
    for name in (
        "apr-vs-note-rate",
        "common-fees",
        "general-eligibility",
        "soft-vs-hard-credit-pull",
    ):
        for language in ("en", "zh"):
            path = SEED_DIR / language / f"{name}.md"
            await knowledge_ingest_service.ingest(
                session,
                None,
                source=SourceFile(path.name, path.read_bytes()),
                options=IngestOptions(publish=True),
                fallback_key=f"{language}/{name}",
                settings=fake,
            )
    await session.commit()
