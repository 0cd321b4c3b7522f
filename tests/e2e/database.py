"""The live server's database from a browser test: setting up what the pages act on (through
the same services and factories as the service-level tests) and reading the audit rows an
action left. Playwright's sync API keeps an event loop running in the test's thread, so the
async work runs on a thread of its own."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from lending.db import sqlalchemy_url
from lending.models.audit import AuditEvent

T = TypeVar("T")


def in_database(database_url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one session on the database and commit it; its result."""

    async def run() -> T:
        engine = create_async_engine(sqlalchemy_url(database_url))
        try:
            async with AsyncSession(engine, expire_on_commit=False) as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run()).result()


def audited(
    database_url: str, subject_id: uuid.UUID | str, *, prefix: str = ""
) -> list[tuple[str, str | None]]:
    """The audit rows of one object whose action starts with `prefix`, oldest first: (action,
    the actor's user id)."""

    async def read(session: AsyncSession) -> list[tuple[str, str | None]]:
        rows = await session.execute(
            select(AuditEvent.action, AuditEvent.actor_user_id)
            .where(
                AuditEvent.subject_id == str(subject_id),
                AuditEvent.action.startswith(prefix, autoescape=True),
            )
            .order_by(AuditEvent.id)
        )
        return [(action, str(actor) if actor else None) for action, actor in rows]

    return in_database(database_url, read)
