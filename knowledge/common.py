"""What the knowledge services share: job names, the scope check, the first embedding set and
the swap of an entry's searched passages."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert as pg_insert

from knowledge.repository import KnowledgeRepository
from lending.identity.actor import Actor
from lending.identity.scopes import Scope
from lending.models.base import utcnow
from lending.models.knowledge import (
    EMBEDDING_DIMENSION,
    KnowledgeEmbeddingSet,
    KnowledgeEntry,
    KnowledgeVersion,
)

INGEST_TASK = "knowledge.ingest_version"
REINDEX_TASK = "knowledge.reindex"


def require(actor: Actor | None, scope: Scope) -> None:
    """`actor` None is the system itself (CLI, jobs, seed), which may do everything."""
    if actor is not None:
        actor.require(scope)


async def ensure_active(repository: KnowledgeRepository, model: str) -> None:
    """With nothing indexed yet, the configured model becomes active at once.

    One statement (insert or update): two ingestion jobs starting together on an empty
    knowledge base would otherwise both insert the set and one would fail.
    """
    now = utcnow()
    await repository.session.execute(
        pg_insert(KnowledgeEmbeddingSet)
        .values(model=model, dimension=EMBEDDING_DIMENSION, status="active", activated_at=now)
        .on_conflict_do_update(
            index_elements=["model"], set_={"status": "active", "activated_at": now}
        )
    )
    existing = await repository.embedding_set(model)
    if existing is not None:
        await repository.session.refresh(existing)


async def publish_passages(
    repository: KnowledgeRepository,
    entry: KnowledgeEntry,
    version: KnowledgeVersion,
) -> None:
    """Swap the searched chunks of an entry in the caller's transaction: readers see the
    old version's chunks until it commits, then only the new ones."""
    active = await repository.active_model()
    if entry.published_version_id is not None and entry.published_version_id != version.id:
        previous = await repository.version(entry.published_version_id)
        if previous is not None:
            previous.status = "archived"
    await repository.set_entry_unsearchable(entry.id)
    await repository.set_version_searchable(version.id, searchable=True, active_model=active)
    version.status = "published"
    version.published_at = utcnow()
    entry.published_version_id = version.id
    entry.status = "published"
    entry.updated_at = utcnow()
    await repository.flush()
