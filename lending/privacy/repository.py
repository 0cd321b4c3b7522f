"""Queries of the privacy domain: a person's rows of each registered table, and the statements
erasure and retention run. Table names and conditions come from the registry, never from input."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from lending.models.privacy import ErasureRequest, ErasureStatus
from lending.privacy.registry import CHECKPOINT_TABLES, RULES, Rule


class PrivacyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: AsyncSession) -> PrivacyRepository:
        return cls(session)

    async def rows_of(self, rule: Rule, user_id: uuid.UUID) -> list[dict[str, Any]]:
        statement = text(f"SELECT * FROM {rule.table} WHERE {rule.owner}")  # noqa: S608 - registry constants
        result = await self.session.execute(statement, {"user_id": user_id})
        return [dict(row) for row in result.mappings()]

    async def count_of(self, rule: Rule, user_id: uuid.UUID) -> int:
        statement = text(f"SELECT count(*) FROM {rule.table} WHERE {rule.owner}")  # noqa: S608
        return int((await self.session.execute(statement, {"user_id": user_id})).scalar_one())

    async def execute(self, statement: str, **params: Any) -> int:
        result = await self.session.execute(text(statement), params)
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def delete_owned(self, table: str, user_id: uuid.UUID) -> int:
        rule = RULES[table]
        return await self.execute(f"DELETE FROM {table} WHERE {rule.owner}", user_id=user_id)

    async def delete_checkpoints(self, thread_ids: Sequence[str]) -> int:
        removed = 0
        for table in CHECKPOINT_TABLES:
            removed += await self.execute(
                f"DELETE FROM {table} WHERE thread_id = ANY(:ids)", ids=list(thread_ids)
            )
        return removed

    async def documents_of(self, user_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
        rows = await self.rows_of(RULES["document"], user_id)
        return [(row["id"], row["storage_key"]) for row in rows]

    async def threads_of(self, user_id: uuid.UUID) -> list[str]:
        rows = await self.session.execute(
            text("SELECT id::text FROM chat_thread WHERE user_id = :user_id"), {"user_id": user_id}
        )
        return [row[0] for row in rows]

    # Erasure requests

    async def add(self, request: ErasureRequest) -> ErasureRequest:
        self.session.add(request)
        await self.session.flush()
        return request

    async def get_request(
        self, request_id: uuid.UUID, *, lock: bool = False
    ) -> ErasureRequest | None:
        statement = select(ErasureRequest).where(ErasureRequest.id == request_id)
        if lock:
            statement = statement.with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def pending_for(self, user_id: uuid.UUID) -> ErasureRequest | None:
        statement = select(ErasureRequest).where(
            ErasureRequest.subject_user_id == user_id,
            ErasureRequest.status == ErasureStatus.PENDING.value,
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def list_requests(
        self, *, status: str | None, subject_user_id: uuid.UUID | None, limit: int
    ) -> Sequence[ErasureRequest]:
        statement = select(ErasureRequest).order_by(ErasureRequest.created_at.desc()).limit(limit)
        if status is not None:
            statement = statement.where(ErasureRequest.status == status)
        if subject_user_id is not None:
            statement = statement.where(ErasureRequest.subject_user_id == subject_user_id)
        return (await self.session.execute(statement)).scalars().all()

    # Retention

    async def stale_threads(self, before: datetime) -> list[str]:
        rows = await self.session.execute(
            text(
                "SELECT id::text FROM chat_thread "
                "WHERE coalesce(last_message_at, updated_at) < :before"
            ),
            {"before": before},
        )
        return [row[0] for row in rows]
