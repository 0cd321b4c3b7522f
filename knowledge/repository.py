"""Every query of the knowledge base except the search itself (knowledge/retrieval.py)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload, undefer

from lending.models.knowledge import (
    KnowledgeChunk,
    KnowledgeEmbeddingSet,
    KnowledgeEntry,
    KnowledgeVersion,
)


class KnowledgeRepository:
    """Knowledge is not tenant data: every signed-in actor may search what is published, and
    only managers reach entries and versions (the service checks the scopes)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: AsyncSession) -> KnowledgeRepository:
        return cls(session)

    # --- entries ---------------------------------------------------------------------------

    async def entry(self, entry_id: uuid.UUID, *, lock: bool = False) -> KnowledgeEntry | None:
        statement = select(KnowledgeEntry).where(KnowledgeEntry.id == entry_id)
        if lock:
            statement = statement.with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def entry_by_key(self, key: str, *, lock: bool = False) -> KnowledgeEntry | None:
        statement = select(KnowledgeEntry).where(KnowledgeEntry.key == key)
        if lock:
            statement = statement.with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def entry_with_versions(self, entry_id: uuid.UUID) -> KnowledgeEntry | None:
        # populate_existing refreshes the versions collection; pending changes must reach the
        # database first or the refresh would overwrite them (sessions do not autoflush).
        await self.session.flush()
        statement = (
            select(KnowledgeEntry)
            .where(KnowledgeEntry.id == entry_id)
            .options(selectinload(KnowledgeEntry.versions))
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    def _entries(
        self,
        *,
        language: str | None,
        category: str | None,
        status: str | None,
        lender: str | None,
    ) -> Select[KnowledgeEntry]:
        statement = select(KnowledgeEntry)
        if language is not None:
            statement = statement.where(KnowledgeEntry.language == language)
        if category is not None:
            statement = statement.where(KnowledgeEntry.category == category)
        if status is not None:
            statement = statement.where(KnowledgeEntry.status == status)
        if lender is not None:
            statement = statement.where(KnowledgeEntry.lender == lender)
        return statement

    async def list_entries(
        self,
        *,
        language: str | None = None,
        category: str | None = None,
        status: str | None = None,
        lender: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[KnowledgeEntry], int]:
        statement = self._entries(
            language=language, category=category, status=status, lender=lender
        )
        total = await self.session.scalar(select(func.count()).select_from(statement.subquery()))
        rows = await self.session.execute(
            statement.order_by(KnowledgeEntry.key).limit(limit).offset(offset)
        )
        return list(rows.scalars()), int(total or 0)

    async def version_numbers(self, entry_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
        """The published version's number of each entry that has one."""
        if not entry_ids:
            return {}
        rows = await self.session.execute(
            select(KnowledgeVersion.entry_id, KnowledgeVersion.number)
            .join(KnowledgeEntry, KnowledgeEntry.published_version_id == KnowledgeVersion.id)
            .where(KnowledgeVersion.entry_id.in_(entry_ids))
        )
        return {entry_id: number for entry_id, number in rows}

    def add(self, row: object) -> None:
        self.session.add(row)

    async def flush(self) -> None:
        await self.session.flush()

    # --- versions --------------------------------------------------------------------------

    async def version(
        self, version_id: uuid.UUID, *, lock: bool = False
    ) -> KnowledgeVersion | None:
        statement = select(KnowledgeVersion).where(KnowledgeVersion.id == version_id)
        if lock:
            statement = statement.with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def version_with_source(self, version_id: uuid.UUID) -> KnowledgeVersion | None:
        statement = (
            select(KnowledgeVersion)
            .where(KnowledgeVersion.id == version_id)
            .options(undefer(KnowledgeVersion.source_bytes))
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def version_by_number(self, entry_id: uuid.UUID, number: int) -> KnowledgeVersion | None:
        statement = select(KnowledgeVersion).where(
            KnowledgeVersion.entry_id == entry_id, KnowledgeVersion.number == number
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def version_by_hash(
        self, entry_id: uuid.UUID, content_hash: str
    ) -> KnowledgeVersion | None:
        statement = select(KnowledgeVersion).where(
            KnowledgeVersion.entry_id == entry_id, KnowledgeVersion.content_hash == content_hash
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def next_version_number(self, entry_id: uuid.UUID) -> int:
        highest = await self.session.scalar(
            select(func.max(KnowledgeVersion.number)).where(KnowledgeVersion.entry_id == entry_id)
        )
        return int(highest or 0) + 1

    # --- chunks ----------------------------------------------------------------------------

    async def insert_chunks(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(KnowledgeChunk), rows)

    async def chunks_of(self, version_id: uuid.UUID, model: str) -> list[KnowledgeChunk]:
        rows = await self.session.execute(
            select(KnowledgeChunk)
            .where(KnowledgeChunk.version_id == version_id, KnowledgeChunk.embedding_model == model)
            .order_by(KnowledgeChunk.position)
        )
        return list(rows.scalars())

    async def set_version_searchable(
        self, version_id: uuid.UUID, *, searchable: bool, active_model: str | None
    ) -> None:
        """Only the active model's chunks of a version are ever searchable."""
        await self.session.execute(
            update(KnowledgeChunk)
            .where(KnowledgeChunk.version_id == version_id)
            .values(
                searchable=(KnowledgeChunk.embedding_model == active_model)
                if searchable and active_model is not None
                else False
            )
        )

    async def set_entry_unsearchable(self, entry_id: uuid.UUID) -> None:
        await self.session.execute(
            update(KnowledgeChunk)
            .where(KnowledgeChunk.entry_id == entry_id, KnowledgeChunk.searchable.is_(True))
            .values(searchable=False)
        )

    async def copy_entry_filters(self, entry: KnowledgeEntry) -> None:
        """Chunks carry their entry's filter columns (see KnowledgeChunk); keep them equal."""
        await self.session.execute(
            update(KnowledgeChunk)
            .where(KnowledgeChunk.entry_id == entry.id)
            .values(category=entry.category, lender=entry.lender, product=entry.product)
        )

    # --- embedding sets --------------------------------------------------------------------

    async def embedding_sets(self, *, lock: bool = False) -> list[KnowledgeEmbeddingSet]:
        statement = select(KnowledgeEmbeddingSet).order_by(KnowledgeEmbeddingSet.created_at)
        if lock:
            statement = statement.with_for_update()
        return list((await self.session.execute(statement)).scalars())

    async def embedding_set(self, model: str) -> KnowledgeEmbeddingSet | None:
        return await self.session.get(KnowledgeEmbeddingSet, model)

    async def active_model(self) -> str | None:
        return await self.session.scalar(
            select(KnowledgeEmbeddingSet.model).where(KnowledgeEmbeddingSet.status == "active")
        )

    async def versions_missing_model(self, model: str, limit: int) -> list[KnowledgeVersion]:
        """Ingested versions that have no chunks embedded by `model` yet."""
        has_model = (
            select(KnowledgeChunk.id)
            .where(
                KnowledgeChunk.version_id == KnowledgeVersion.id,
                KnowledgeChunk.embedding_model == model,
            )
            .exists()
        )
        rows = await self.session.execute(
            select(KnowledgeVersion)
            .where(
                KnowledgeVersion.ingest_status == "ready",
                KnowledgeVersion.chunk_count > 0,
                ~has_model,
            )
            .order_by(KnowledgeVersion.created_at, KnowledgeVersion.id)
            .limit(limit)
        )
        return list(rows.scalars())

    async def any_chunks_model(self, version_id: uuid.UUID) -> str | None:
        return await self.session.scalar(
            select(KnowledgeChunk.embedding_model)
            .where(KnowledgeChunk.version_id == version_id)
            .limit(1)
        )

    async def switch_searchable_model(self, model: str) -> None:
        """Searchable: exactly the chunks of published versions embedded by `model`."""
        await self.session.execute(
            text(
                "UPDATE knowledge_chunk c SET searchable = (c.embedding_model = :model "
                "AND v.status = 'published') FROM knowledge_version v "
                "WHERE v.id = c.version_id AND c.searchable IS DISTINCT FROM "
                "(c.embedding_model = :model AND v.status = 'published')"
            ),
            {"model": model},
        )

    async def delete_chunks_of_models(self, models: Sequence[str]) -> None:
        if models:
            await self.session.execute(
                text("DELETE FROM knowledge_chunk WHERE embedding_model = ANY(:models)"),
                {"models": list(models)},
            )
