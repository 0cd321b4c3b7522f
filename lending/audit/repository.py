"""Queries on the audit log; it only ever inserts and reads."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.models.audit import AuditEvent

# One advisory lock key for the whole chain (arbitrary, fixed): appends take it for the rest of
# their transaction, so each append reads the committed head and none forks the chain.
CHAIN_LOCK_KEY = 0x6F6D6E6946696E01


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: AsyncSession) -> AuditRepository:
        return cls(session)

    async def lock_chain(self) -> None:
        await self.session.execute(select(func.pg_advisory_xact_lock(CHAIN_LOCK_KEY)))

    async def head_hash(self) -> str | None:
        statement = select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def add(self, event: AuditEvent) -> AuditEvent:
        self.session.add(event)
        await self.session.flush()
        return event

    async def after(self, last_id: int, limit: int) -> Sequence[AuditEvent]:
        """The next `limit` events after id `last_id`, in chain order."""
        statement = (
            select(AuditEvent)
            .where(AuditEvent.id > last_id)
            .order_by(AuditEvent.id)
            .limit(limit)
            # What the table holds now, not what this session loaded earlier.
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(statement)).scalars().all()

    def listing(
        self,
        *,
        before_id: int | None = None,
        action: str | None = None,
        actor_user_id: uuid.UUID | None = None,
        organization_id: uuid.UUID | None = None,
        subject_type: str | None = None,
        subject_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Select[AuditEvent]:
        statement = select(AuditEvent).order_by(AuditEvent.id.desc())
        if subject_type is not None:
            statement = statement.where(AuditEvent.subject_type == subject_type)
        if subject_id is not None:
            statement = statement.where(AuditEvent.subject_id == subject_id)
        if since is not None:
            statement = statement.where(AuditEvent.occurred_at >= since)
        if until is not None:
            statement = statement.where(AuditEvent.occurred_at < until)
        if before_id is not None:
            statement = statement.where(AuditEvent.id < before_id)
        if action is not None:
            statement = statement.where(AuditEvent.action == action)
        if actor_user_id is not None:
            statement = statement.where(AuditEvent.actor_user_id == actor_user_id)
        if organization_id is not None:
            statement = statement.where(AuditEvent.organization_id == organization_id)
        return statement

    async def list(self, statement: Select[AuditEvent], limit: int) -> Sequence[AuditEvent]:
        return (await self.session.execute(statement.limit(limit))).scalars().all()
