"""Threads, runs and transcripts: what the chat API, the OpenAI-compatible endpoint and voice
show and measure. Reads are scoped to the actor; another user's thread is "not found"."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

import orjson
from sqlalchemy import Select, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from agents.approvals import approval_card
from knowledge.language import detect_language
from lending.analytics.recorder import analytics
from lending.audit.schemas import Origin
from lending.audit.service import audit_service
from lending.db import DriverConnection, run_sql
from lending.errors import InvalidInput, NotFound
from lending.identity.actor import Actor
from lending.identity.scopes import Scope
from lending.models.analytics import EventName
from lending.models.chat import ChatFeedback, ChatGraph, ChatMessage, ChatRun, ChatThread, RunStatus
from lending.models.identity import Role, User
from lending.pagination import Page, fetch_page
from lending.pii import VAULT_KINDS, mask_pii
from tools.approvals import approval_service

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
class TurnThread:
    """What a turn needs of its thread."""

    id: uuid.UUID
    graph: str
    last_run_status: str | None
    # The approvals waiting for the person's answer, oldest (the one asked) first.
    pending_approval_ids: list[uuid.UUID]


# A turn's records are written with plain SQL, one statement per phase, on the driver's own
# connection (`lending.db.driver_autocommit`): the ORM's unit of work, and then its session
# around a single statement, cost more CPU than the rest of the turn's bookkeeping
# (docs/DECISIONS.md, issue 6 and "Turn cost, part 5").
# The error of a run whose process stopped before it ended (killed, crashed, the machine lost).
CUT_OFF_ERROR = "ProcessStopped"
_OPEN_TURN = """
    SELECT t.id, t.graph,
           (SELECT r.status FROM chat_run AS r WHERE r.thread_id = t.id
            ORDER BY r.started_at DESC LIMIT 1),
           (SELECT array_agg(a.id ORDER BY a.created_at, a.id) FROM tool_approval AS a
            WHERE a.thread_id = t.id AND a.actor_user_id = t.user_id AND a.status = 'pending')
    FROM chat_thread AS t
    WHERE t.id = %(thread_id)s AND t.user_id = %(user_id)s
    """
# The run starts without waiting for its commit's WAL flush (set_config(..., true) is SET LOCAL:
# this statement's transaction only). The turn's end commits synchronously and flushes the WAL up
# to it, this row included, before the person is told the turn completed; until then a crash of
# the database itself can lose the turn in flight (never a completed one), and a crash of our
# process loses nothing: the row is committed and visible at once (docs/DECISIONS.md, "Turn cost,
# part 5"). Each flush waited for the disk: 0.2 to 1.7 ms here, three times a turn.
_START_RUN = """
    WITH durability AS (SELECT set_config('synchronous_commit', 'off', true) AS setting),
    run AS (
        INSERT INTO chat_run (id, thread_id, status, mode, started_at, input_tokens,
                              output_tokens, cost, prompt_versions, variant, trace_id, model,
                              resume_input)
        VALUES (%(run_id)s, %(thread_id)s, 'running', %(mode)s, %(started)s, 0, 0, 0,
                %(versions)s::jsonb, %(variant)s, %(trace_id)s, %(model)s, %(resume)s::jsonb)
        RETURNING id, thread_id
    )
    INSERT INTO chat_message (thread_id, run_id, role, content)
    SELECT thread_id, id, 'user', %(user_text)s::text FROM run, durability
    WHERE %(user_text)s::text IS NOT NULL AND durability.setting = 'off'
    """
# RETURNING reads the new row: the inputs the runs kept come from the rows as they were.
_FAIL_CUT_OFF_RUNS = """
    UPDATE chat_run AS r
    SET status = 'failed', error = %(error)s, finished_at = %(finished)s, resume_input = NULL
    FROM (SELECT id, resume_input FROM chat_run
          WHERE thread_id = %(thread_id)s AND status = 'running' FOR UPDATE) AS kept
    WHERE r.id = kept.id
    RETURNING r.started_at, kept.resume_input
    """
_FINISH_RUN = """
    WITH run AS (
        UPDATE chat_run
        SET status = %(status)s, mode = %(mode)s, finished_at = %(finished)s,
            fell_back = %(fell_back)s,
            latency_ms = %(latency_ms)s, input_tokens = %(input_tokens)s,
            output_tokens = %(output_tokens)s, cost = %(cost)s, error = %(error)s,
            resume_input = NULL
        WHERE id = %(run_id)s
    ), transcript AS (
        INSERT INTO chat_message (thread_id, run_id, role, content, tool)
        SELECT %(thread_id)s, %(run_id)s, m.role, m.content, m.tool::jsonb
        FROM unnest(%(roles)s::text[], %(contents)s::text[], %(tools)s::text[])
             WITH ORDINALITY AS m(role, content, tool, position)
        ORDER BY m.position
    )
    UPDATE chat_thread
    SET last_message_at = %(finished)s, updated_at = %(finished)s
    WHERE id = %(thread_id)s
    """


@dataclass(frozen=True)
class ThreadDetail:
    """A conversation as its owner reads it: history, their thumbs, what waits for their answer."""

    thread: ChatThread
    messages: list[ChatMessage]
    ratings: dict[uuid.UUID, int]
    pending_approvals: list[dict[str, Any]]


@dataclass(frozen=True)
class TranscriptEntry:
    role: str
    content: str = ""
    tool: dict[str, Any] | None = None


@dataclass(frozen=True)
class StaffThreadRow:
    """A conversation in the staff list: no title or text (those are the person's words), only
    what tells which one to open."""

    id: uuid.UUID
    graph: str
    channel: str
    owner_role: Role
    created_at: datetime
    last_message_at: datetime | None


@dataclass(frozen=True)
class StaffTranscript:
    """A conversation as staff read it: every run (mode, outcome, cost), every stored message
    (redacted when stored), and everyone's thumbs by run."""

    thread: ChatThread
    owner_role: Role
    runs: list[ChatRun]
    messages: list[ChatMessage]
    ratings: dict[uuid.UUID, list[ChatFeedback]]


def now() -> datetime:
    return datetime.now(UTC)


CUT_OFF_EN = "[interrupted]"
CUT_OFF_ZH = "［被打断］"


def cut_off(heard: str, reply: str) -> str:
    """A reply the person interrupted, as the thread keeps it: what was spoken, then a marker."""
    zh = detect_language(reply) == "zh"
    marker = CUT_OFF_ZH if zh else CUT_OFF_EN
    spoken = heard.strip()
    if not spoken:
        return marker
    return f"{spoken}……{marker}" if zh else f"{spoken} … {marker}"


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
        analytics.record(
            session,
            EventName.CONVERSATION_STARTED,
            organization_id=actor.organization_id,
            user_id=actor.user_id,
            properties={"graph": chosen.value, "thread_channel": channel},
        )
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

    async def detail(
        self, session: AsyncSession, actor: Actor, thread_id: uuid.UUID
    ) -> ThreadDetail:
        thread = await self.get(session, actor, thread_id)
        waiting = await approval_service.pending(session, actor, thread_id=thread_id)
        return ThreadDetail(
            thread=thread,
            messages=await self.history(session, actor, thread_id),
            ratings=await self.ratings(session, actor, thread_id),
            pending_approvals=[approval_card(item) for item in waiting],
        )

    async def open_turn(
        self, records: DriverConnection, actor: Actor, thread_id: uuid.UUID
    ) -> TurnThread:
        """The actor's thread and the status of its latest run, in one statement."""
        rows = await run_sql(
            records,
            _OPEN_TURN,
            {"thread_id": thread_id, "user_id": actor.user_id},
            name="chat_thread open_turn",
        )
        row: Any = rows[0] if rows else None
        if row is None:
            raise NotFound("No such conversation.")
        return TurnThread(
            id=row[0], graph=row[1], last_run_status=row[2], pending_approval_ids=list(row[3] or [])
        )

    async def fail_cut_off_runs(
        self, records: DriverConnection, thread_id: uuid.UUID
    ) -> list[dict[str, Any]]:
        """Runs of the thread still `running` when a new turn begins (which holds the thread's
        lease, so none is live): a process stopped mid-turn. They are `failed`, not left
        running for ever; what they left undone is finished by the new turn
        (TurnRunner._unfinished), which takes over the graph inputs they kept: returned here,
        oldest first, and cleared from them."""
        result = await run_sql(
            records,
            _FAIL_CUT_OFF_RUNS,
            {"thread_id": thread_id, "error": CUT_OFF_ERROR, "finished": now()},
            name="chat_run fail_cut_off_runs",
        )
        rows: list[Any] = sorted(result, key=lambda row: row[0])
        return [item for row in rows for item in row[1] or []]

    async def start_run(
        self,
        records: DriverConnection,
        thread_id: uuid.UUID,
        *,
        mode: str,
        prompt_versions: dict[str, Any],
        variant: str | None,
        user_text: str | None,
        trace_id: str | None = None,
        model: str | None = None,
        resume_input: list[dict[str, Any]] | None = None,
    ) -> uuid.UUID:
        """The turn's run row (running) and the person's message, in one statement.

        `resume_input`: what the graph applies in this run, kept until the run ends, so a run
        cut off before it writes its checkpoint can be run again (`fail_cut_off_runs`)."""
        run_id = uuid.uuid4()
        await run_sql(
            records,
            _START_RUN,
            {
                "run_id": run_id,
                "thread_id": thread_id,
                "mode": mode,
                # The clock, not the transaction's now(): runs order by it.
                "started": now(),
                "versions": orjson.dumps(prompt_versions).decode(),
                "variant": variant,
                "user_text": user_text,
                "trace_id": trace_id,
                "model": model,
                "resume": orjson.dumps(resume_input).decode() if resume_input else None,
            },
            name="chat_run start_run",
        )
        return run_id

    async def finish_run(
        self,
        records: DriverConnection,
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
        error: str | None = None,
        fell_back: bool = False,
    ) -> None:
        """The run's outcome and the turn's transcript (in order), in one statement."""
        await run_sql(
            records,
            _FINISH_RUN,
            {
                "run_id": run_id,
                "thread_id": thread_id,
                "status": status.value,
                "mode": mode,
                "fell_back": fell_back,
                "finished": now(),
                "latency_ms": round(latency_ms, 3),
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
                "cost": cost,
                "error": error,
                "roles": [entry.role for entry in transcript],
                "contents": [entry.content for entry in transcript],
                "tools": [
                    orjson.dumps(entry.tool).decode() if entry.tool is not None else None
                    for entry in transcript
                ],
            },
            name="chat_run finish_run",
        )

    async def record_voice(
        self,
        session: AsyncSession,
        *,
        run_id: uuid.UUID,
        metrics: dict[str, float],
        heard: str | None = None,
    ) -> None:
        """What a finished voice turn measured (LiveKit's per-stage metrics, seconds) and, when
        the person spoke over the reply (`heard` is what was played before the cut), the reply
        as far as it was spoken, marked as cut off, in place of the whole one."""
        run = await session.get(ChatRun, run_id, with_for_update=True)
        if run is None:
            raise NotFound("No such run.")
        voice: dict[str, Any] = dict(run.voice or {})
        if metrics:
            voice["metrics"] = {**voice.get("metrics", {}), **metrics}
        if heard is not None and not voice.get("interrupted"):
            reply = await session.scalar(
                select(ChatMessage)
                .where(ChatMessage.run_id == run_id, ChatMessage.role == "assistant")
                .order_by(ChatMessage.id.desc())
                .limit(1)
            )
            if reply is not None:
                voice["interrupted"] = True
                voice["unspoken_chars"] = max(len(reply.content) - len(heard.strip()), 0)
                # The heard text comes from the model's reply (which never holds PII in clear);
                # masked anyway, as everything stored from outside the runner is.
                reply.content = cut_off(mask_pii(heard, kinds=VAULT_KINDS), reply.content)
        run.voice = voice
        await session.flush()

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


class StaffThreadReads:
    """Reading other people's conversations: staff with `conversations:read` (platform
    administrators and prompt engineers, in the back office). The list shows no words of
    theirs; opening one transcript is audited (`chat.thread_read_by_staff`) in the caller's
    transaction."""

    async def page(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        thumbs_down: bool = False,
        errors: bool = False,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page[StaffThreadRow]:
        """Every conversation, newest first; `thumbs_down`: a turn rated -1; `errors`: a run
        that failed or recorded an error (both: either)."""
        actor.require(Scope.CONVERSATIONS_READ)
        # fetch_page takes one-entity statements' type; this one pairs the thread and its owner.
        statement = cast(
            "Select[Any]", select(ChatThread, User.role).join(User, User.id == ChatThread.user_id)
        )
        wanted = []
        if thumbs_down:
            wanted.append(
                exists()
                .where(ChatRun.thread_id == ChatThread.id, ChatFeedback.run_id == ChatRun.id)
                .where(ChatFeedback.rating < 0)
            )
        if errors:
            wanted.append(
                exists().where(
                    ChatRun.thread_id == ChatThread.id,
                    or_(ChatRun.status == RunStatus.FAILED.value, ChatRun.error.is_not(None)),
                )
            )
        if wanted:
            statement = statement.where(or_(*wanted))
        found = await fetch_page(
            session,
            statement,
            [ChatThread.created_at, ChatThread.id],
            cursor=cursor,
            limit=limit,
            scalars=False,
        )
        return Page(
            [
                StaffThreadRow(
                    id=thread.id,
                    graph=thread.graph,
                    channel=thread.channel,
                    owner_role=role,
                    created_at=thread.created_at,
                    last_message_at=thread.last_message_at,
                )
                for thread, role in found.items
            ],
            found.next_cursor,
        )

    async def transcript(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        thread_id: uuid.UUID,
        origin: Origin | None = None,
    ) -> StaffTranscript:
        """One conversation's runs and messages, oldest first; the read is audited."""
        actor.require(Scope.CONVERSATIONS_READ)
        thread = await session.get(ChatThread, thread_id)
        if thread is None:
            raise NotFound("No such conversation.")
        owner_role = await session.scalar(select(User.role).where(User.id == thread.user_id))
        assert owner_role is not None  # chat_thread.user_id references user_account
        runs = list(
            await session.scalars(
                select(ChatRun)
                .where(ChatRun.thread_id == thread_id)
                .order_by(ChatRun.started_at, ChatRun.id)
            )
        )
        messages = list(
            await session.scalars(
                select(ChatMessage)
                .where(ChatMessage.thread_id == thread_id)
                .order_by(ChatMessage.id)
            )
        )
        ratings: dict[uuid.UUID, list[ChatFeedback]] = {}
        for feedback in await session.scalars(
            select(ChatFeedback)
            .join(ChatRun, ChatRun.id == ChatFeedback.run_id)
            .where(ChatRun.thread_id == thread_id)
            .order_by(ChatFeedback.created_at)
        ):
            ratings.setdefault(feedback.run_id, []).append(feedback)
        if thread.user_id != actor.user_id:
            await audit_service.record(
                session,
                actor,
                action="chat.thread_read_by_staff",
                origin=origin,
                organization_id=thread.organization_id,
                subject_type="chat_thread",
                subject_id=thread.id,
                details={"runs": len(runs), "messages": len(messages)},
            )
        return StaffTranscript(thread, owner_role, runs, messages, ratings)


thread_service = ThreadService()
staff_threads = StaffThreadReads()
