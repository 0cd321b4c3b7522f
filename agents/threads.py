"""Threads, runs and transcripts: what the chat API, the OpenAI-compatible endpoint and voice
show and measure. Reads are scoped to the actor; another user's thread is "not found"."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lending.errors import InvalidInput, NotFound
from lending.identity.actor import Actor
from lending.models.chat import ChatFeedback, ChatGraph, ChatMessage, ChatRun, ChatThread, RunStatus
from lending.models.identity import Role

# Which assistant each role talks to by default, and which it may choose.
_DEFAULT_GRAPH = {
    Role.BORROWER: ChatGraph.BORROWER,
    Role.BROKER: ChatGraph.BROKER,
    Role.BROKER_MANAGER: ChatGraph.BROKER,
    Role.PLATFORM_ADMIN: ChatGraph.BROKER,
    Role.PROMPT_ENGINEER: ChatGraph.BORROWER,
}
_ALLOWED_GRAPHS = {
    Role.BORROWER: {ChatGraph.BORROWER},
    Role.BROKER: {ChatGraph.BROKER},
    Role.BROKER_MANAGER: {ChatGraph.BROKER},
    Role.PLATFORM_ADMIN: {ChatGraph.BROKER, ChatGraph.BORROWER},
    Role.PROMPT_ENGINEER: {ChatGraph.BROKER, ChatGraph.BORROWER},
}


@dataclass(frozen=True)
class TranscriptEntry:
    role: str
    content: str = ""
    tool: dict[str, Any] | None = None


def now() -> datetime:
    return datetime.now(UTC)


class ThreadService:
    async def create(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        graph: ChatGraph | None = None,
        channel: str = "web",
        title: str | None = None,
        external_id: str | None = None,
    ) -> ChatThread:
        chosen = graph or _DEFAULT_GRAPH[actor.role]
        if chosen not in _ALLOWED_GRAPHS[actor.role]:
            raise InvalidInput(f"A {actor.role.value} cannot use the {chosen.value} assistant.")
        thread = ChatThread(
            id=uuid.uuid4(),
            user_id=actor.user_id,
            organization_id=actor.organization_id,
            graph=chosen.value,
            channel=channel,
            title=title,
            external_id=external_id,
        )
        session.add(thread)
        await session.flush()
        return thread

    async def get(self, session: AsyncSession, actor: Actor, thread_id: uuid.UUID) -> ChatThread:
        thread = await session.scalar(
            select(ChatThread).where(
                ChatThread.id == thread_id, ChatThread.user_id == actor.user_id
            )
        )
        if thread is None:
            raise NotFound("No such conversation.")
        return thread

    async def by_external_id(
        self, session: AsyncSession, actor: Actor, external_id: str
    ) -> ChatThread | None:
        thread: ChatThread | None = await session.scalar(
            select(ChatThread).where(
                ChatThread.user_id == actor.user_id, ChatThread.external_id == external_id
            )
        )
        return thread

    async def list_for(
        self, session: AsyncSession, actor: Actor, *, limit: int = 50
    ) -> list[ChatThread]:
        rows = await session.scalars(
            select(ChatThread)
            .where(ChatThread.user_id == actor.user_id)
            .order_by(ChatThread.updated_at.desc())
            .limit(limit)
        )
        return list(rows)

    async def history(
        self, session: AsyncSession, actor: Actor, thread_id: uuid.UUID
    ) -> list[ChatMessage]:
        await self.get(session, actor, thread_id)
        rows = await session.scalars(
            select(ChatMessage).where(ChatMessage.thread_id == thread_id).order_by(ChatMessage.id)
        )
        return list(rows)

    async def get_with_last_run_status(
        self, session: AsyncSession, actor: Actor, thread_id: uuid.UUID
    ) -> tuple[ChatThread, str | None]:
        """The actor's thread and the status of its latest run, in one round trip."""
        last_status = (
            select(ChatRun.status)
            .where(ChatRun.thread_id == ChatThread.id)
            .order_by(ChatRun.started_at.desc())
            .limit(1)
            .scalar_subquery()
        )
        row = (
            await session.execute(
                select(ChatThread, last_status).where(
                    ChatThread.id == thread_id, ChatThread.user_id == actor.user_id
                )
            )
        ).first()
        if row is None:
            raise NotFound("No such conversation.")
        return row[0], row[1]

    async def last_run(self, session: AsyncSession, thread_id: uuid.UUID) -> ChatRun | None:
        run: ChatRun | None = await session.scalar(
            select(ChatRun)
            .where(ChatRun.thread_id == thread_id)
            .order_by(ChatRun.started_at.desc())
            .limit(1)
        )
        return run

    async def start_run(
        self,
        session: AsyncSession,
        thread: ChatThread,
        *,
        mode: str,
        prompt_versions: dict[str, Any],
        variant: str | None,
        user_text: str | None,
    ) -> ChatRun:
        run = ChatRun(
            id=uuid.uuid4(),
            thread_id=thread.id,
            status=RunStatus.RUNNING.value,
            mode=mode,
            prompt_versions=prompt_versions,
            variant=variant,
            input_tokens=0,
            output_tokens=0,
            cost=Decimal("0"),
        )
        session.add(run)
        if user_text is not None:
            await session.flush()
            session.add(
                ChatMessage(thread_id=thread.id, run_id=run.id, role="user", content=user_text)
            )
        await session.flush()
        return run

    async def finish_run(
        self,
        session: AsyncSession,
        *,
        thread_id: uuid.UUID,
        run_id: uuid.UUID,
        status: RunStatus,
        mode: str,
        latency_ms: float,
        input_tokens: int,
        output_tokens: int,
        cost: Decimal,
        transcript: list[TranscriptEntry],
        pending_approval: dict[str, Any] | None,
        error: str | None = None,
    ) -> None:
        finished = now()
        await session.execute(
            update(ChatRun)
            .where(ChatRun.id == run_id)
            .values(
                status=status.value,
                mode=mode,
                finished_at=finished,
                latency_ms=round(latency_ms, 3),
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                cost=cost,
                error=error,
            )
        )
        for entry in transcript:
            session.add(
                ChatMessage(
                    thread_id=thread_id,
                    run_id=run_id,
                    role=entry.role,
                    content=entry.content,
                    tool=entry.tool,
                )
            )
        await session.execute(
            update(ChatThread)
            .where(ChatThread.id == thread_id)
            .values(
                pending_approval=pending_approval, last_message_at=finished, updated_at=finished
            )
        )

    async def feedback(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        thread_id: uuid.UUID,
        run_id: uuid.UUID,
        rating: int,
        comment: str | None,
    ) -> ChatFeedback:
        await self.get(session, actor, thread_id)
        run = await session.scalar(
            select(ChatRun).where(ChatRun.id == run_id, ChatRun.thread_id == thread_id)
        )
        if run is None:
            raise NotFound("No such turn in this conversation.")
        existing = await session.scalar(
            select(ChatFeedback).where(
                ChatFeedback.run_id == run_id, ChatFeedback.user_id == actor.user_id
            )
        )
        if existing is not None:
            existing.rating, existing.comment = rating, comment
            await session.flush()
            return existing
        feedback = ChatFeedback(
            id=uuid.uuid4(), run_id=run_id, user_id=actor.user_id, rating=rating, comment=comment
        )
        session.add(feedback)
        await session.flush()
        return feedback

    async def ratings(
        self, session: AsyncSession, actor: Actor, thread_id: uuid.UUID
    ) -> dict[uuid.UUID, int]:
        """The actor's own thumbs (1 or -1) on the thread's turns, by run id."""
        await self.get(session, actor, thread_id)
        rows = await session.execute(
            select(ChatFeedback.run_id, ChatFeedback.rating)
            .join(ChatRun, ChatRun.id == ChatFeedback.run_id)
            .where(ChatRun.thread_id == thread_id, ChatFeedback.user_id == actor.user_id)
        )
        return {run_id: rating for run_id, rating in rows}


threads = ThreadService()
