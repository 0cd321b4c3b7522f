"""Queries of the privacy domain: a person's rows of each registered table, and the statements
erasure and retention run. Table names and conditions come from the registry, never from input."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from lending.models.privacy import ErasureRequest, ErasureStatus
from lending.privacy.registry import CHECKPOINT_TABLES, RULES, Rule

# Any of the person's identifying values (`:markers`, lower case) inside a text expression.
_MENTIONS = (
    "EXISTS (SELECT 1 FROM unnest(CAST(:markers AS text[])) k WHERE strpos(lower({}), k) > 0)"
)
# The same inside serialised checkpoint bytes (`:raw`: the values as written, and lower case).
_MENTIONS_BYTES = (
    "EXISTS (SELECT 1 FROM unnest(CAST(:raw AS text[])) k "
    "WHERE position(convert_to(k, 'UTF8') in {}) > 0)"
)


@dataclass(slots=True)
class OthersRecords:
    """Rows in other people's conversations and tool records that mention a person."""

    thread_ids: list[str] = field(default_factory=list)
    message_ids: list[int] = field(default_factory=list)
    tool_call_ids: list[uuid.UUID] = field(default_factory=list)
    approval_ids: list[uuid.UUID] = field(default_factory=list)
    # Turns whose error text names the person.
    run_ids: list[uuid.UUID] = field(default_factory=list)


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

    async def others_records(self, user_id: uuid.UUID, markers: Sequence[str]) -> OthersRecords:
        """What others (a broker acting for the person, staff) recorded that mentions them."""
        lowered = sorted({m.lower() for m in markers})
        raw = sorted({*markers, *lowered, *(m.upper() for m in markers)})
        params: dict[str, Any] = {"user_id": user_id, "markers": lowered, "raw": raw}
        found = OthersRecords()

        async def column(statement: str) -> list[Any]:
            return [row[0] for row in await self.session.execute(text(statement), params)]

        others = "SELECT id FROM chat_thread WHERE user_id <> :user_id"
        found.message_ids = await column(
            f"SELECT id FROM chat_message WHERE thread_id IN ({others}) AND ("
            + _MENTIONS.format("content")
            + " OR "
            + _MENTIONS.format("coalesce(tool::text, '')")
            + ")"
        )
        found.run_ids = await column(
            f"SELECT id FROM chat_run WHERE thread_id IN ({others}) AND error IS NOT NULL AND "
            + _MENTIONS.format("error")
        )
        found.tool_call_ids = await column(
            "SELECT id FROM tool_call WHERE actor_user_id <> :user_id AND "
            + _MENTIONS.format("output::text")
        )
        found.approval_ids = await column(
            "SELECT id FROM tool_approval WHERE actor_user_id <> :user_id AND ("
            + " OR ".join(
                _MENTIONS.format(c) for c in ("arguments::text", "details::text", "question")
            )
            + ")"
        )
        own = "SELECT id::text FROM chat_thread WHERE user_id = :user_id"
        threads: set[str] = set()
        if found.message_ids:
            threads.update(
                await self._column_with(
                    "SELECT DISTINCT thread_id::text FROM chat_message WHERE id = ANY(:ids)",
                    ids=found.message_ids,
                )
            )
        if found.approval_ids:
            threads.update(
                await self._column_with(
                    "SELECT DISTINCT thread_id::text FROM tool_approval "
                    "WHERE id = ANY(:ids) AND thread_id IS NOT NULL",
                    ids=found.approval_ids,
                )
            )
        for table, blob in (("checkpoint_blobs", "blob"), ("checkpoint_writes", "blob")):
            threads.update(
                await column(
                    f"SELECT DISTINCT thread_id FROM {table} WHERE thread_id NOT IN ({own}) AND "
                    + _MENTIONS_BYTES.format(blob)
                )
            )
        threads.update(
            await column(
                f"SELECT DISTINCT thread_id FROM checkpoints WHERE thread_id NOT IN ({own}) AND "
                + _MENTIONS.format("checkpoint::text")
            )
        )
        found.thread_ids = sorted(t for t in threads if t)
        return found

    async def _column_with(self, statement: str, **params: Any) -> list[Any]:
        return [row[0] for row in await self.session.execute(text(statement), params)]

    async def anonymise_messages(self, message_ids: Sequence[int], note: str) -> int:
        if not message_ids:
            return 0
        return await self.execute(
            "UPDATE chat_message SET content = :note, tool = CASE WHEN tool IS NULL THEN NULL "
            "ELSE jsonb_build_object('tool', tool->'tool', 'erased', true) END "
            "WHERE id = ANY(:ids)",
            note=note,
            ids=list(message_ids),
        )

    async def anonymise_run_errors(self, run_ids: Sequence[uuid.UUID], note: str) -> int:
        if not run_ids:
            return 0
        return await self.execute(
            "UPDATE chat_run SET error = :note WHERE id = ANY(:ids)", note=note, ids=list(run_ids)
        )

    async def delete_by_ids(self, table: str, ids: Sequence[uuid.UUID]) -> int:
        if not ids:
            return 0
        return await self.execute(f"DELETE FROM {table} WHERE id = ANY(:ids)", ids=list(ids))

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
