"""Checkpoint retention keeps each thread's latest checkpoints, drops what nothing refers to, and
never touches a thread that waits for an approval."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from agents.tasks import PRUNE_TASK, prune_checkpoints
from lending.config import Settings
from lending.db import create_sessionmaker, transaction
from lending.jobs import enqueue, open_queue
from lending.models.identity import Role
from lending.models.tools import ToolApproval
from tests.agents.sse import send
from tests.identity.factories import actor_of, bearer, create_user, issue_token
from tools.approvals import Confirmation, approval_service


async def _checkpoints(session: AsyncSession, thread_id: str) -> list[str]:
    rows = await session.scalars(
        text("SELECT checkpoint_id FROM checkpoints WHERE thread_id = :t ORDER BY checkpoint_id"),
        {"t": thread_id},
    )
    return list(rows)


async def test_retention_keeps_the_latest_and_spares_pending_approvals(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await create_user(session, role=Role.BORROWER)
    token = await issue_token(session, user, settings=settings)
    await session.commit()
    threads = []
    for _ in range(2):
        created = await client.post("/api/v1/chat/threads", json={}, headers=bearer(token))
        threads.append(created.json()["id"])
        for message in ("hello", "what can you do?", "hello again"):
            await send(client, token, threads[-1], message)
    kept_thread, waiting_thread = threads
    await approval_service.ask(
        session,
        actor_of(user),
        tool_name="submit_application",
        arguments_sha256="0" * 64,
        arguments={},
        confirmation=Confirmation(en="Send it?", zh="提交吗？"),
        language="en",
        channel="chat",
        ttl=timedelta(hours=1),
    )
    await session.execute(
        update(ToolApproval)
        .where(ToolApproval.actor_user_id == user.id)
        .values(thread_id=uuid.UUID(waiting_thread))
    )
    before = {thread: await _checkpoints(session, thread) for thread in threads}
    assert all(len(ids) > 2 for ids in before.values())

    result = await prune_checkpoints(session, keep=2, ttl_days=90)

    assert await _checkpoints(session, kept_thread) == before[kept_thread][-2:]
    assert await _checkpoints(session, waiting_thread) == before[waiting_thread]
    # Other tests' conversations share this database, so the total is at least this thread's.
    assert result.checkpoints >= len(before[kept_thread]) - 2
    orphans = await session.scalar(
        text(
            "SELECT count(*) FROM checkpoint_writes w WHERE w.thread_id = :t AND NOT EXISTS "
            "(SELECT 1 FROM checkpoints c WHERE c.thread_id = w.thread_id "
            "AND c.checkpoint_id = w.checkpoint_id)"
        ),
        {"t": kept_thread},
    )
    assert orphans == 0


async def test_idle_threads_lose_their_checkpoints(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await create_user(session, role=Role.BORROWER)
    token = await issue_token(session, user, settings=settings)
    await session.commit()
    created = await client.post("/api/v1/chat/threads", json={}, headers=bearer(token))
    thread = created.json()["id"]
    await send(client, token, thread, "hello")
    await session.execute(
        text(
            "UPDATE chat_thread SET last_message_at = now() - interval '200 days', "
            "created_at = now() - interval '200 days' WHERE id = :t"
        ),
        {"t": uuid.UUID(thread)},
    )

    await prune_checkpoints(session, keep=10, ttl_days=90)

    assert await _checkpoints(session, thread) == []
    history = await client.get(f"/api/v1/chat/threads/{thread}", headers=bearer(token))
    assert history.json()["messages"]  # the transcript stays


async def test_the_hourly_job_runs_on_the_workers_connection(
    engine: AsyncEngine, database_url: str
) -> None:
    """A real worker runs the job (it keeps the latest checkpoints, so it harms no thread)."""
    sessionmaker = create_sessionmaker(engine)
    async with transaction(sessionmaker) as session:
        job_id = await enqueue(session, PRUNE_TASK, args={"timestamp": 0}, queue_name="maintenance")
    try:
        async with open_queue(database_url) as app:
            await app.run_worker_async(
                queues=["maintenance"], wait=False, install_signal_handlers=False
            )
        async with sessionmaker() as session:
            status = await session.scalar(
                text("SELECT status::text FROM procrastinate_jobs WHERE id = :id"), {"id": job_id}
            )
        assert status == "succeeded"
    finally:
        async with engine.begin() as connection:
            await connection.execute(
                text("DELETE FROM procrastinate_jobs WHERE id = :id"), {"id": job_id}
            )
