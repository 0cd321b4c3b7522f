"""The knowledge base's operations: search, ingest, versions (publish, rollback), re-embedding.

`knowledge_service` is the singleton; its methods take `(session, actor, *, ...)` and never
commit. `actor` None means the system itself (CLI, jobs, seed), which may do everything.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.embeddings import (
    Embedder,
    EmbeddingUnavailable,
    Vectors,
    configured_model,
    embedder_for_model,
)
from knowledge.ingestion import (
    MARKDOWN,
    PLAIN_TEXT,
    ParsedDocument,
    SourceFile,
    check_source,
    content_hash,
    parse_document,
    passage_context,
    split_front_matter,
)
from knowledge.language import TS_CONFIG, Language, detect_language, search_text
from knowledge.repository import KnowledgeRepository
from knowledge.retrieval import Filters, RetrievedChunk, SearchMode, search_chunks
from knowledge.schemas import (
    CitedPassage,
    EmbeddingSetRead,
    EntryDetail,
    EntryPage,
    EntryRead,
    EntryUpdate,
    IngestOptions,
    IngestResult,
    ReindexResult,
    SearchResult,
    VersionRead,
)
from lending.audit.schemas import Origin
from lending.audit.service import audit
from lending.config import Settings, get_settings
from lending.errors import Conflict, InvalidInput, NotFound
from lending.identity.actor import Actor
from lending.identity.scopes import Scope
from lending.jobs import enqueue
from lending.logs import get_logger
from lending.models.base import utcnow
from lending.models.knowledge import (
    EMBEDDING_DIMENSION,
    KnowledgeEmbeddingSet,
    KnowledgeEntry,
    KnowledgeVersion,
)

log = get_logger(__name__)

INGEST_TASK = "knowledge.ingest_version"
REINDEX_TASK = "knowledge.reindex"
_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9._/-]+")


@dataclass(frozen=True)
class PreparedVersion:
    """A parsed document and its passages' vectors per embedding model, ready to store."""

    parsed: ParsedDocument
    vectors: dict[str, Vectors]


def default_key(name: str) -> str:
    """An entry key from a file name or relative path: 'en/fees.md' -> 'en/fees'."""
    path = PurePath(name)
    stem = str(path.with_suffix("")) if path.suffix else str(path)
    key = _KEY_UNSAFE.sub("-", stem.replace("\\", "/")).strip("-./")
    return key[:200] or "entry"


def _require(actor: Actor | None, scope: Scope) -> None:
    if actor is not None:
        actor.require(scope)


def _citation(title: str, heading_path: list[str], version: int) -> str:
    headings = [h for h in heading_path if h and h != title]
    return " › ".join([title, *headings]) + f" (v{version})"


class KnowledgeService:
    # --- search ---------------------------------------------------------------------------

    async def search(
        self,
        session: AsyncSession,
        actor: Actor | None,
        *,
        query: str,
        k: int = 5,
        language: Language | None = None,
        category: str | None = None,
        lender: str | None = None,
        product: str | None = None,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        mode: SearchMode = "hybrid",
    ) -> SearchResult:
        """Passages answering `query`, best first, each with its citation.

        Args:
            query: a question or keywords, at most `knowledge_max_query_chars` characters.
            k: 1 to 50 passages.
            language: only entries in this language; without it, entries in the query's own
                language come first.
            category, lender, product: only entries with this value.
            settings: defaults to the process settings.
            embedder: embeds the query; defaults to the active embedding set's model.
            mode: "hybrid", or "vector"/"text" alone (benchmarks).

        Raises:
            PermissionDenied: the actor lacks knowledge:read.
            InvalidInput: empty or over-long query, k out of range.
        """
        _require(actor, Scope.KNOWLEDGE_READ)
        settings = settings or get_settings()
        query = query.strip()
        if not query:
            raise InvalidInput("The query is empty.")
        if len(query) > settings.knowledge_max_query_chars:
            raise InvalidInput(
                f"The query is {len(query):,} characters long; at most "
                f"{settings.knowledge_max_query_chars:,} are accepted. Ask a shorter question."
            )
        if not 1 <= k <= 50:
            raise InvalidInput("k must be between 1 and 50.")
        repository = KnowledgeRepository.from_session(session)
        query_language: Language = language or detect_language(query)
        active = await repository.active_model()
        if active is None:
            return SearchResult(
                query=query, query_language=query_language, embedding_model=None, passages=[]
            )
        query_vector: Vectors | None = None
        if mode != "text":
            embedder = embedder or embedder_for_model(active, settings)
            if embedder.model != active:
                raise InvalidInput(
                    f"The index holds vectors of '{active}', not of '{embedder.model}'."
                )
            try:
                query_vector = await embedder.embed_query(query)
            except EmbeddingUnavailable as exc:
                if mode == "vector":
                    raise
                # Full-text search alone still answers while the embedding endpoint is down.
                log.warning("knowledge search without vectors", reason=str(exc.detail))
        rows = await search_chunks(
            session,
            query=query,
            query_vector=query_vector,
            k=k,
            filters=Filters(language=language, category=category, lender=lender, product=product),
            mode=mode,
            prefer_language=None if language else query_language,
            candidates=settings.knowledge_search_candidates,
            ef_search=settings.knowledge_hnsw_ef_search,
            common_term_docs=settings.knowledge_text_common_term_docs,
            rank_cap=settings.knowledge_text_rank_cap,
        )
        return SearchResult(
            query=query,
            query_language=query_language,
            embedding_model=active,
            passages=[self._cited(row) for row in rows],
        )

    @staticmethod
    def _cited(row: RetrievedChunk) -> CitedPassage:
        return CitedPassage(
            entry_id=row.entry_id,
            entry_key=row.entry_key,
            title=row.title,
            version=row.version,
            heading_path=row.heading_path,
            text=row.text,
            score=round(row.score, 6),
            language=row.language,
            category=row.category,
            lender=row.lender,
            product=row.product,
            citation=_citation(row.title, row.heading_path, row.version),
            chunk_id=row.chunk_id,
            vector_rank=row.vector_rank,
            text_rank=row.text_rank,
        )

    # --- ingestion ------------------------------------------------------------------------

    async def ingest(
        self,
        session: AsyncSession,
        actor: Actor | None,
        *,
        source: SourceFile,
        options: IngestOptions,
        fallback_key: str | None = None,
        settings: Settings | None = None,
    ) -> IngestResult:
        """Parse, embed and store one file now, in the session's transaction (CLI and seed).

        A file identical to a version the entry already has changes nothing ("unchanged").
        Every check and all parsing happen before the first write, so a bad file leaves
        nothing behind.

        Raises:
            PermissionDenied, PayloadTooLarge, UnsupportedMediaType, InvalidInput.
        """
        _require(actor, Scope.KNOWLEDGE_MANAGE)
        settings = settings or get_settings()
        media_type = check_source(source, max_bytes=settings.knowledge_max_upload_bytes)
        front_matter = _front_matter(source, media_type)
        key = self._key(options, front_matter, fallback_key, source.name)
        repository = KnowledgeRepository.from_session(session)
        unchanged = await self._unchanged(repository, key, content_hash(source.data))
        if unchanged is not None:
            return unchanged
        language = options.language or _declared_language(front_matter, source.name)
        parsed = await asyncio.to_thread(
            parse_document,
            source,
            max_bytes=settings.knowledge_max_upload_bytes,
            max_chars=settings.knowledge_chunk_max_chars,
            soft_max_chars=settings.knowledge_chunk_soft_max_chars,
            language=language,
        )
        entry = await repository.entry_by_key(key, lock=True)
        title = options.title or parsed.title
        if entry is None:
            entry = self._new_entry(key, options, front_matter, parsed.language, title, actor)
            repository.add(entry)
            await repository.flush()
        else:
            self._check_language(entry, parsed.language, source.name)
            self._apply_options(entry, options, front_matter, title)
        models = await self._embedding_models(repository, settings)
        prepared = await self.prepare(parsed, entry.title, models, settings)
        version = KnowledgeVersion(
            entry_id=entry.id,
            number=await repository.next_version_number(entry.id),
            status="draft",
            ingest_status="pending",
            content_hash=parsed.content_hash,
            source_name=source.name[:300],
            media_type=media_type,
            size_bytes=len(source.data),
            source_bytes=source.data,
            author_id=actor.user_id if actor else None,
            change_note=options.change_note,
        )
        repository.add(version)
        await repository.flush()
        await self._store(repository, entry, version, prepared)
        if options.publish:
            await self._publish(repository, entry, version)
        return self._result(entry, version, "created")

    async def submit(
        self,
        session: AsyncSession,
        actor: Actor | None,
        *,
        source: SourceFile,
        options: IngestOptions,
        fallback_key: str | None = None,
        entry_id: uuid.UUID | None = None,
        settings: Settings | None = None,
    ) -> IngestResult:
        """Record a file as a new pending version and enqueue its ingestion (API uploads,
        `--background`). The cheap checks (size, type, emptiness) run now; parsing problems
        are recorded on the version (`ingest_status` "failed", `ingest_error`).

        Args:
            entry_id: add a version to this entry (its key wins over every other).

        Raises:
            PermissionDenied, NotFound, PayloadTooLarge, UnsupportedMediaType, InvalidInput.
        """
        _require(actor, Scope.KNOWLEDGE_MANAGE)
        settings = settings or get_settings()
        media_type = check_source(source, max_bytes=settings.knowledge_max_upload_bytes)
        front_matter = _front_matter(source, media_type)
        repository = KnowledgeRepository.from_session(session)
        entry: KnowledgeEntry | None
        if entry_id is not None:
            entry = await repository.entry(entry_id, lock=True)
            if entry is None:
                raise NotFound("No such knowledge entry.")
            key = entry.key
        else:
            key = self._key(options, front_matter, fallback_key, source.name)
            entry = await repository.entry_by_key(key, lock=True)
        unchanged = await self._unchanged(repository, key, content_hash(source.data))
        if unchanged is not None:
            return unchanged
        language = (
            options.language
            or _declared_language(front_matter, source.name)
            or _guess_language(source, media_type)
        )
        title = options.title or front_matter.get("title") or PurePath(source.name).stem
        if entry is None:
            entry = self._new_entry(key, options, front_matter, language, title, actor)
            repository.add(entry)
            await repository.flush()
        else:
            self._check_language(entry, language, source.name)
            self._apply_options(entry, options, front_matter, options.title)
        version = KnowledgeVersion(
            entry_id=entry.id,
            number=await repository.next_version_number(entry.id),
            status="draft",
            ingest_status="pending",
            content_hash=content_hash(source.data),
            source_name=source.name[:300],
            media_type=media_type,
            size_bytes=len(source.data),
            source_bytes=source.data,
            author_id=actor.user_id if actor else None,
            change_note=options.change_note,
        )
        repository.add(version)
        await repository.flush()
        job_id = await enqueue(
            session,
            INGEST_TASK,
            args={"version_id": str(version.id), "publish": options.publish},
            queue_name="knowledge",
        )
        result = self._result(entry, version, "queued")
        result.job_id = job_id
        return result

    async def load_pending(
        self, session: AsyncSession, *, version_id: uuid.UUID, settings: Settings | None = None
    ) -> tuple[SourceFile, Language, str, list[str]] | None:
        """What the ingestion job needs: (file, language, entry title, models to embed with);
        None when the version is gone or no longer pending (a job run twice)."""
        repository = KnowledgeRepository.from_session(session)
        version = await repository.version_with_source(version_id)
        if version is None or version.ingest_status != "pending":
            return None
        entry = await repository.entry(version.entry_id)
        assert entry is not None
        models = await self._embedding_models(repository, settings or get_settings())
        source = SourceFile(version.source_name, version.source_bytes)
        return source, entry.language, entry.title, models  # type: ignore[return-value]

    async def prepare(
        self, parsed: ParsedDocument, title: str, models: list[str], settings: Settings
    ) -> PreparedVersion:
        """Embed a parsed document's passages with each model (no database access)."""
        contexts = [passage_context(title, p.heading_path, p.text) for p in parsed.passages]
        vectors: dict[str, Vectors] = {}
        for model in models:
            vectors[model] = await embedder_for_model(model, settings).embed_documents(contexts)
        return PreparedVersion(parsed=parsed, vectors=vectors)

    async def complete_version(
        self,
        session: AsyncSession,
        *,
        version_id: uuid.UUID,
        prepared: PreparedVersion,
        publish: bool,
        settings: Settings | None = None,
    ) -> IngestResult | None:
        """Store a pending version's passages and publish it if asked (the ingestion job)."""
        settings = settings or get_settings()
        repository = KnowledgeRepository.from_session(session)
        version = await repository.version(version_id, lock=True)
        if version is None or version.ingest_status != "pending":
            return None
        entry = await repository.entry(version.entry_id, lock=True)
        assert entry is not None
        if entry.title == PurePath(version.source_name).stem and prepared.parsed.title:
            entry.title = prepared.parsed.title  # a heading says more than a file name
        # A model may have started building while the file was parsed: embed for it too.
        for model in await self._embedding_models(repository, settings):
            if model not in prepared.vectors:
                more = await self.prepare(prepared.parsed, entry.title, [model], settings)
                prepared.vectors[model] = more.vectors[model]
        await self._store(repository, entry, version, prepared)
        if publish:
            await self._publish(repository, entry, version)
        return self._result(entry, version, "created")

    async def fail_version(
        self, session: AsyncSession, *, version_id: uuid.UUID, error: str
    ) -> None:
        """Record why a pending version could not be ingested; nothing searched changes."""
        repository = KnowledgeRepository.from_session(session)
        version = await repository.version(version_id, lock=True)
        if version is not None and version.ingest_status == "pending":
            version.ingest_status = "failed"
            version.ingest_error = error[:2000]

    # --- entries and versions -------------------------------------------------------------

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
        _require(actor, Scope.KNOWLEDGE_MANAGE)
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
        _require(actor, Scope.KNOWLEDGE_MANAGE)
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
    ) -> EntryDetail:
        """Change an entry's metadata; searches see it at once (no new version)."""
        _require(actor, Scope.KNOWLEDGE_MANAGE)
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
        _require(actor, Scope.KNOWLEDGE_MANAGE)
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
            await self._publish(repository, entry, target)
            await audit.record(
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
        _require(actor, Scope.KNOWLEDGE_MANAGE)
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
            await audit.record(
                session,
                actor,
                action="knowledge.entry_archived",
                origin=origin,
                subject_type="knowledge_entry",
                subject_id=entry.id,
                details={"key": entry.key},
            )
        return await self.get_entry(session, actor, entry_id=entry_id)

    # --- embedding model changes ----------------------------------------------------------

    async def embedding_sets(
        self, session: AsyncSession, actor: Actor | None
    ) -> list[EmbeddingSetRead]:
        _require(actor, Scope.KNOWLEDGE_MANAGE)
        sets = await KnowledgeRepository.from_session(session).embedding_sets()
        return [EmbeddingSetRead.model_validate(s) for s in sets]

    async def start_reindex(
        self,
        session: AsyncSession,
        actor: Actor | None,
        *,
        settings: Settings | None = None,
        background: bool = True,
    ) -> ReindexResult:
        """Start re-embedding everything with the configured model, old vectors serving until
        the new set is complete (then one transaction switches). With `background` False the
        caller runs `reindex_step` itself (the CLI does, with a progress bar).

        Raises:
            InvalidInput: the configured model does not fit the vector column.
        """
        _require(actor, Scope.KNOWLEDGE_MANAGE)
        settings = settings or get_settings()
        model = configured_model(settings)
        embedder_for_model(model, settings)  # refuses a model that does not fit the column
        repository = KnowledgeRepository.from_session(session)
        sets = {s.model: s for s in await repository.embedding_sets(lock=True)}
        active = next((s for s in sets.values() if s.status == "active"), None)
        if active is None:
            await self._ensure_active(repository, model)
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
            return ReindexResult(model=model, outcome="queued")
        job_id = await enqueue(
            session,
            REINDEX_TASK,
            args={"model": model},
            queue_name="knowledge",
            lock="knowledge-reindex",
        )
        return ReindexResult(model=model, outcome="queued", job_id=job_id)

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

    # --- internals ------------------------------------------------------------------------

    @staticmethod
    def _key(
        options: IngestOptions,
        front_matter: dict[str, str],
        fallback_key: str | None,
        name: str,
    ) -> str:
        key = options.key or front_matter.get("key") or fallback_key or default_key(name)
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,199}", key):
            raise InvalidInput(f"'{key}' is not a valid entry key (letters, digits, . _ / -).")
        return key

    async def _unchanged(
        self, repository: KnowledgeRepository, key: str, digest: str
    ) -> IngestResult | None:
        entry = await repository.entry_by_key(key)
        if entry is None:
            return None
        version = await repository.version_by_hash(entry.id, digest)
        if version is None:
            return None
        return self._result(entry, version, "unchanged")

    @staticmethod
    def _new_entry(
        key: str,
        options: IngestOptions,
        front_matter: dict[str, str],
        language: str,
        title: str,
        actor: Actor | None,
    ) -> KnowledgeEntry:
        category = options.category or front_matter.get("category") or "general"
        tags = options.tags if options.tags is not None else _tags(front_matter.get("tags"))
        entry = KnowledgeEntry(
            key=key,
            title=title[:300],
            category=category,
            language=language,
            lender=options.lender or front_matter.get("lender") or None,
            product=options.product or front_matter.get("product") or None,
            tags=tags,
            status="draft",
            created_by=actor.user_id if actor else None,
        )
        _validate_entry(entry)
        return entry

    @staticmethod
    def _apply_options(
        entry: KnowledgeEntry,
        options: IngestOptions,
        front_matter: dict[str, str],
        title: str | None,
    ) -> None:
        """A new version may also bring new metadata (front matter or options)."""
        if title:
            entry.title = title[:300]
        category = options.category or front_matter.get("category")
        if category:
            entry.category = category
        lender = options.lender or front_matter.get("lender")
        if lender:
            entry.lender = lender
        product = options.product or front_matter.get("product")
        if product:
            entry.product = product
        if options.tags is not None:
            entry.tags = list(options.tags)
        elif "tags" in front_matter:
            entry.tags = _tags(front_matter["tags"])
        _validate_entry(entry)
        entry.updated_at = utcnow()

    @staticmethod
    def _check_language(entry: KnowledgeEntry, language: str, name: str) -> None:
        if entry.language != language:
            raise InvalidInput(
                f"'{name}' is in '{language}' but entry '{entry.key}' is in '{entry.language}'; "
                "each language is its own entry (give the file another key)."
            )

    async def _embedding_models(
        self, repository: KnowledgeRepository, settings: Settings
    ) -> list[str]:
        """The models new chunks are embedded with: the active one and any being built."""
        sets = await repository.embedding_sets()
        models = [s.model for s in sets if s.status in ("active", "building")]
        if not any(s.status == "active" for s in sets):
            model = configured_model(settings)
            await self._ensure_active(repository, model)
            models = [model, *[m for m in models if m != model]]
        return models

    @staticmethod
    async def _ensure_active(repository: KnowledgeRepository, model: str) -> None:
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

    async def _store(
        self,
        repository: KnowledgeRepository,
        entry: KnowledgeEntry,
        version: KnowledgeVersion,
        prepared: PreparedVersion,
    ) -> None:
        language: Language = entry.language  # type: ignore[assignment]
        rows: list[dict[str, Any]] = []
        for model, vectors in prepared.vectors.items():
            for passage in prepared.parsed.passages:
                rows.append(
                    {
                        "version_id": version.id,
                        "entry_id": entry.id,
                        "embedding_model": model,
                        "position": passage.position,
                        "heading_path": list(passage.heading_path),
                        "text": passage.text,
                        "search_text": search_text(
                            language, [entry.title, *passage.heading_path, passage.text]
                        ),
                        "ts_config": TS_CONFIG[language],
                        "embedding": vectors[passage.position],
                        "language": entry.language,
                        "category": entry.category,
                        "lender": entry.lender,
                        "product": entry.product,
                        "metadata_": passage.metadata,
                        "searchable": False,
                    }
                )
        await repository.insert_chunks(rows)
        version.ingest_status = "ready"
        version.ingest_error = None
        version.chunk_count = len(prepared.parsed.passages)

    async def _publish(
        self,
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

    @staticmethod
    def _result(entry: KnowledgeEntry, version: KnowledgeVersion, outcome: str) -> IngestResult:
        return IngestResult(
            entry_id=entry.id,
            key=entry.key,
            version=version.number,
            version_id=version.id,
            outcome=outcome,  # type: ignore[arg-type]
            ingest_status=version.ingest_status,  # type: ignore[arg-type]
            status=version.status,  # type: ignore[arg-type]
            chunk_count=version.chunk_count or 0,
            source_name=version.source_name,
        )

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


def _front_matter(source: SourceFile, media_type: str) -> dict[str, str]:
    if media_type not in (MARKDOWN, PLAIN_TEXT):
        return {}
    fields, _ = split_front_matter(source.data.decode("utf-8-sig", errors="replace"))
    return fields


def _declared_language(front_matter: dict[str, str], name: str) -> Language | None:
    value = front_matter.get("language")
    if value is None:
        return None
    if value not in TS_CONFIG:
        raise InvalidInput(f"'{name}': language '{value}' is not supported (en, zh).")
    return "zh" if value == "zh" else "en"


def _guess_language(source: SourceFile, media_type: str) -> Language:
    if media_type.startswith("text/"):
        return detect_language(source.data[:20_000].decode("utf-8", errors="ignore"))
    return "en"


def _tags(value: str | None) -> list[str]:
    if not value:
        return []
    cleaned = value.strip().strip("[]")
    return [t.strip().strip("\"'") for t in cleaned.split(",") if t.strip()][:20]


def _validate_entry(entry: KnowledgeEntry) -> None:
    if not re.fullmatch(r"[a-z][a-z0-9_-]{0,49}", entry.category or ""):
        raise InvalidInput(f"'{entry.category}' is not a valid category (a lowercase slug).")
    for name in ("lender", "product"):
        value = getattr(entry, name)
        if value is not None and not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,99}", value):
            raise InvalidInput(f"'{value}' is not a valid {name} slug.")


knowledge_service = KnowledgeService()
