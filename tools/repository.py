"""Queries on stored tool-call results (idempotency records)."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any, Self

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.models.tools import ToolCallRecord


class ToolCallRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: AsyncSession) -> Self:
        return cls(session)

    async def get(
        self, actor_user_id: uuid.UUID, tool_name: str, idempotency_key: str
    ) -> ToolCallRecord | None:
        statement = select(ToolCallRecord).where(
            ToolCallRecord.actor_user_id == actor_user_id,
            ToolCallRecord.tool_name == tool_name,
            ToolCallRecord.idempotency_key == idempotency_key,
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def lock(self, actor_user_id: uuid.UUID, tool_name: str, idempotency_key: str) -> None:
        """Hold a transaction-scoped advisory lock on this (actor, tool, key)."""
        digest = hashlib.sha256(f"{actor_user_id}|{tool_name}|{idempotency_key}".encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        await self.session.execute(select(func.pg_advisory_xact_lock(key)))

    async def store(
        self,
        *,
        actor_user_id: uuid.UUID,
        tool_name: str,
        idempotency_key: str,
        arguments_sha256: str,
        output: dict[str, Any],
    ) -> ToolCallRecord:
        record = ToolCallRecord(
            actor_user_id=actor_user_id,
            tool_name=tool_name,
            idempotency_key=idempotency_key,
            arguments_sha256=arguments_sha256,
            output=output,
        )
        self.session.add(record)
        await self.session.flush()
        return record
