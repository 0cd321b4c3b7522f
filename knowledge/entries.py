"""Knowledge entries and their versions: list, read, change metadata, publish (also a rollback)
and archive. Edits, publishing and archiving are audited (uploads, in knowledge.ingest).

`knowledge_entry` is the singleton; it takes `(session, actor, *, ...)` and never commits.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.common import publish_passages, require
from knowledge.repository import KnowledgeRepository
from knowledge.schemas import (
    EntryDetail,
    EntryPage,
    EntryRead,
    EntryUpdate,
    VersionRead,
)
from lending.audit.schemas import Origin
from lending.audit.service import audit_service
from lending.errors import Conflict, NotFound
from lending.identity.actor import Actor
from lending.identity.scopes import Scope
from lending.models.base import utcnow
from lending.models.knowledge import (
    KnowledgeEntry,
)


class KnowledgeEntryService:
    async def list_entries(
        self,
        session: AsyncSession,
        actor: Actor | None,
        *,
        language: str | None = None,
        category: str | None = None,
        status: str | None = None,
        lender: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> EntryPage:
        require(actor, Scope.KNOWLEDGE_MANAGE)
        repository = KnowledgeRepository.from_session(session)
        entries, total = await repository.list_entries(
            language=language,
            category=category,
            status=status,
            lender=lender,
            limit=min(max(limit, 1), 200),
            offset=max(offset, 0),
        )
        numbers = await repository.version_numbers([e.id for e in entries])
        items = [
            EntryRead.model_validate(e).model_copy(update={"published_version": numbers.get(e.id)})
            for e in entries
        ]
        return EntryPage(items=items, total=total)

    async def get_entry(
        self, session: AsyncSession, actor: Actor | None, *, entry_id: uuid.UUID
    ) -> EntryDetail:
        require(actor, Scope.KNOWLEDGE_MANAGE)
        repository = KnowledgeRepository.from_session(session)
        entry = await repository.entry_with_versions(entry_id)
        if entry is None:
            raise NotFound("No such knowledge entry.")
        return self._detail(entry)

    async def update_entry(
        self,
        session: AsyncSession,
        actor: Actor | None,
        *,
        entry_id: uuid.UUID,
        changes: EntryUpdate,
        origin: Origin | None = None,
    ) -> EntryDetail:
        """Change an entry's metadata; searches see it at once (no new version). Audited
        (`knowledge.entry_updated`, with the fields asked to change)."""
        require(actor, Scope.KNOWLEDGE_MANAGE)
        repository = KnowledgeRepository.from_session(session)
        entry = await repository.entry(entry_id, lock=True)
        if entry is None:
            raise NotFound("No such knowledge entry.")
        if changes.title is not None:
            entry.title = changes.title
        if changes.category is not None:
            entry.category = changes.category
        if changes.tags is not None:
            entry.tags = list(changes.tags)
        if changes.lender is not None or changes.clear_lender:
            entry.lender = None if changes.clear_lender else changes.lender
        if changes.product is not None or changes.clear_product:
            entry.product = None if changes.clear_product else changes.product
        entry.updated_at = utcnow()
        await repository.copy_entry_filters(entry)
        await audit_service.record(
            session,
            actor,
            action="knowledge.entry_updated",
            origin=origin,
            subject_type="knowledge_entry",
            subject_id=entry.id,
            details={
                "key": entry.key,
                "changes": changes.model_dump(mode="json", exclude_unset=True),
            },
        )
        return await self.get_entry(session, actor, entry_id=entry_id)

    async def publish_version(
        self,
        session: AsyncSession,
        actor: Actor | None,
        *,
        entry_id: uuid.UUID,
        version: int,
        origin: Origin | None = None,
    ) -> EntryDetail:
        """Make `version` the one searched, atomically (also a rollback to an older version);
        audited (`knowledge.version_published`) when it changes what is searched.

        Raises:
            NotFound: no such entry or version.
            Conflict: the version is not ingested (pending or failed).
        """
        require(actor, Scope.KNOWLEDGE_MANAGE)
        repository = KnowledgeRepository.from_session(session)
        entry = await repository.entry(entry_id, lock=True)
        if entry is None:
            raise NotFound("No such knowledge entry.")
        target = await repository.version_by_number(entry_id, version)
        if target is None:
            raise NotFound(f"Entry '{entry.key}' has no version {version}.")
        if target.ingest_status != "ready":
            raise Conflict(
                f"Version {version} of '{entry.key}' cannot be published: its ingestion is "
                f"{target.ingest_status}"
                + (f" ({target.ingest_error})" if target.ingest_error else "")
                + "."
            )
        if entry.published_version_id != target.id or entry.status != "published":
            previous = entry.published_version_id
            await publish_passages(repository, entry, target)
            await audit_service.record(
                session,
                actor,
                action="knowledge.version_published",
                origin=origin,
                subject_type="knowledge_entry",
                subject_id=entry.id,
                details={
                    "key": entry.key,
                    "version": version,
                    "previous_version_id": str(previous) if previous else None,
                },
            )
        return await self.get_entry(session, actor, entry_id=entry_id)

    async def archive_entry(
        self,
        session: AsyncSession,
        actor: Actor | None,
        *,
        entry_id: uuid.UUID,
        origin: Origin | None = None,
    ) -> EntryDetail:
        """Take an entry out of search; publishing one of its versions brings it back.
        Audited (`knowledge.entry_archived`) unless it was archived already."""
        require(actor, Scope.KNOWLEDGE_MANAGE)
        repository = KnowledgeRepository.from_session(session)
        entry = await repository.entry(entry_id, lock=True)
        if entry is None:
            raise NotFound("No such knowledge entry.")
        if entry.published_version_id is not None:
            current = await repository.version(entry.published_version_id)
            if current is not None:
                current.status = "archived"
        await repository.set_entry_unsearchable(entry.id)
        was = entry.status
        entry.published_version_id = None
        entry.status = "archived"
        entry.updated_at = utcnow()
        if was != "archived":
            await audit_service.record(
                session,
                actor,
                action="knowledge.entry_archived",
                origin=origin,
                subject_type="knowledge_entry",
                subject_id=entry.id,
                details={"key": entry.key},
            )
        return await self.get_entry(session, actor, entry_id=entry_id)

    @staticmethod
    def _detail(entry: KnowledgeEntry) -> EntryDetail:
        versions = [VersionRead.model_validate(v) for v in entry.versions]
        published = next((v.number for v in versions if v.id == entry.published_version_id), None)
        return EntryDetail(
            id=entry.id,
            key=entry.key,
            title=entry.title,
            category=entry.category,
            language=entry.language,
            lender=entry.lender,
            product=entry.product,
            tags=list(entry.tags or []),
            status=entry.status,  # type: ignore[arg-type]
            published_version=published,
            created_at=entry.created_at,
            updated_at=entry.updated_at,
            versions=versions,
        )


knowledge_entry_service = KnowledgeEntryService()
