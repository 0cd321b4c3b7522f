"""Embedding model changes: the embedding sets, and re-embedding every version with the
configured model while the old vectors keep serving, then one switch.

`knowledge_reindex` is the singleton; it never commits.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.common import REINDEX_TASK, ensure_active, require
from knowledge.embeddings import (
    configured_model,
    embedder_for_model,
)
from knowledge.ingestion import (
    passage_context,
)
from knowledge.repository import KnowledgeRepository
from knowledge.schemas import (
    EmbeddingSetRead,
    ReindexResult,
)
from lending.audit.schemas import Origin
from lending.audit.service import audit_service
from lending.config import Settings, get_settings
from lending.identity.actor import Actor
from lending.identity.scopes import Scope
from lending.jobs import enqueue
from lending.logs import get_logger
from lending.models.base import utcnow
from lending.models.knowledge import (
    EMBEDDING_DIMENSION,
    KnowledgeEmbeddingSet,
)

log = get_logger(__name__)


class KnowledgeReindexService:
    async def embedding_sets(
        self, session: AsyncSession, actor: Actor | None
    ) -> list[EmbeddingSetRead]:
        require(actor, Scope.KNOWLEDGE_MANAGE)
        sets = await KnowledgeRepository.from_session(session).embedding_sets()
        return [EmbeddingSetRead.model_validate(s) for s in sets]

    async def start_reindex(
        self,
        session: AsyncSession,
        actor: Actor | None,
        *,
        settings: Settings | None = None,
        background: bool = True,
        origin: Origin | None = None,
    ) -> ReindexResult:
        """Start re-embedding everything with the configured model, old vectors serving until
        the new set is complete (then one transaction switches). With `background` False the
        caller runs `reindex_step` itself (the CLI does, with a progress bar). A start that
        changes something is audited (`knowledge.reindex_started`).

        Raises:
            InvalidInput: the configured model does not fit the vector column.
        """
        require(actor, Scope.KNOWLEDGE_MANAGE)
        settings = settings or get_settings()
        model = configured_model(settings)
        embedder_for_model(model, settings)  # refuses a model that does not fit the column
        repository = KnowledgeRepository.from_session(session)
        sets = {s.model: s for s in await repository.embedding_sets(lock=True)}
        active = next((s for s in sets.values() if s.status == "active"), None)
        if active is None:
            await ensure_active(repository, model)
            await self._audit_start(session, actor, origin, model, None, "completed")
            return ReindexResult(model=model, outcome="completed")
        if active.model == model:
            return ReindexResult(model=model, outcome="already_active")
        target = sets.get(model)
        if target is None:
            repository.add(
                KnowledgeEmbeddingSet(model=model, dimension=EMBEDDING_DIMENSION, status="building")
            )
        elif target.status != "building":
            target.status = "building"
        await repository.flush()
        if not background:
            await self._audit_start(session, actor, origin, model, active.model, "queued")
            return ReindexResult(model=model, outcome="queued")
        job_id = await enqueue(
            session,
            REINDEX_TASK,
            args={"model": model},
            queue_name="knowledge",
            lock="knowledge-reindex",
        )
        await self._audit_start(session, actor, origin, model, active.model, "queued")
        return ReindexResult(model=model, outcome="queued", job_id=job_id)

    @staticmethod
    async def _audit_start(
        session: AsyncSession,
        actor: Actor | None,
        origin: Origin | None,
        model: str,
        serving: str | None,
        outcome: str,
    ) -> None:
        await audit_service.record(
            session,
            actor,
            action="knowledge.reindex_started",
            origin=origin,
            subject_type="knowledge_embedding_set",
            subject_id=model,
            details={"model": model, "serving_model": serving, "outcome": outcome},
        )

    async def reindex_step(
        self,
        session: AsyncSession,
        *,
        model: str,
        batch_size: int = 10,
        settings: Settings | None = None,
    ) -> int:
        """Embed up to `batch_size` more versions with `model`; the number done (0: all are)."""
        settings = settings or get_settings()
        repository = KnowledgeRepository.from_session(session)
        target = await repository.embedding_set(model)
        if target is None or target.status != "building":
            return 0
        embedder = embedder_for_model(model, settings)
        versions = await repository.versions_missing_model(model, batch_size)
        for version in versions:
            source_model = await repository.any_chunks_model(version.id)
            if source_model is None:
                continue
            chunks = await repository.chunks_of(version.id, source_model)
            entry = await repository.entry(version.entry_id)
            assert entry is not None
            contexts = [passage_context(entry.title, c.heading_path, c.text) for c in chunks]
            vectors = await embedder.embed_documents(contexts)
            await repository.insert_chunks(
                [
                    {
                        "version_id": c.version_id,
                        "entry_id": c.entry_id,
                        "embedding_model": model,
                        "position": c.position,
                        "heading_path": c.heading_path,
                        "text": c.text,
                        "search_text": c.search_text,
                        "ts_config": c.ts_config,
                        "embedding": vectors[i],
                        "language": c.language,
                        "category": c.category,
                        "lender": c.lender,
                        "product": c.product,
                        "metadata_": c.metadata_,
                        "searchable": False,
                    }
                    for i, c in enumerate(chunks)
                ]
            )
        return len(versions)

    async def finish_reindex(self, session: AsyncSession, *, model: str) -> bool:
        """Switch search to `model` in one transaction if every version has its vectors;
        False when some are still missing (the job then runs more steps)."""
        repository = KnowledgeRepository.from_session(session)
        sets = await repository.embedding_sets(lock=True)
        target = next((s for s in sets if s.model == model), None)
        if target is None or target.status != "building":
            return True
        if await repository.versions_missing_model(model, 1):
            return False
        retired = [s.model for s in sets if s.status == "active"]
        for s in sets:
            if s.status == "active":
                s.status = "retired"
        await repository.flush()
        target.status = "active"
        target.activated_at = utcnow()
        await repository.flush()
        await repository.switch_searchable_model(model)
        # The old vectors are of no further use: a switch back re-embeds anyway.
        await repository.delete_chunks_of_models(retired)
        log.info("knowledge embedding model switched", model=model, retired=retired)
        return True


knowledge_reindex_service = KnowledgeReindexService()
