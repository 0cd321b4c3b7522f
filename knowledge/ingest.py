"""Knowledge ingestion: a file becomes a new version of an entry, parsed, embedded and stored,
now (CLI, seed) or by the ingestion job (API and back-office uploads, `--background`).

Parsing and chunking are `knowledge.ingestion`'s; this is the service that stores the result.
`knowledge_ingest` is the singleton; it never commits.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.common import INGEST_TASK, ensure_active, publish_passages, require
from knowledge.embeddings import (
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
from knowledge.schemas import (
    IngestOptions,
    IngestResult,
)
from lending.audit.schemas import Origin
from lending.audit.service import audit_service
from lending.config import Settings, get_settings
from lending.errors import InvalidInput, NotFound
from lending.identity.actor import Actor
from lending.identity.scopes import Scope
from lending.jobs import enqueue
from lending.models.base import utcnow
from lending.models.knowledge import (
    KnowledgeEntry,
    KnowledgeVersion,
)

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


async def parse_source(
    source: SourceFile, settings: Settings, language: Language | None
) -> ParsedDocument:
    """`source` parsed and chunked by the settings' limits, off the event loop."""
    return await asyncio.to_thread(
        parse_document,
        source,
        max_bytes=settings.knowledge_max_upload_bytes,
        max_chars=settings.knowledge_chunk_max_chars,
        soft_max_chars=settings.knowledge_chunk_soft_max_chars,
        language=language,
    )


class KnowledgeIngestService:
    async def ingest(
        self,
        session: AsyncSession,
        actor: Actor | None,
        *,
        source: SourceFile,
        options: IngestOptions,
        fallback_key: str | None = None,
        settings: Settings | None = None,
        origin: Origin | None = None,
    ) -> IngestResult:
        """Parse, embed and store one file now, in the session's transaction (CLI and seed);
        the new version is audited (`knowledge.version_uploaded`).

        A file identical to a version the entry already has changes nothing ("unchanged").
        Every check and all parsing happen before the first write, so a bad file leaves
        nothing behind.

        Raises:
            PermissionDenied, PayloadTooLarge, UnsupportedMediaType, InvalidInput.
        """
        require(actor, Scope.KNOWLEDGE_MANAGE)
        settings = settings or get_settings()
        media_type = check_source(source, max_bytes=settings.knowledge_max_upload_bytes)
        front_matter = _front_matter(source, media_type)
        key = self._key(options, front_matter, fallback_key, source.name)
        repository = KnowledgeRepository.from_session(session)
        unchanged = await self._unchanged(repository, key, content_hash(source.data))
        if unchanged is not None:
            return unchanged
        language = options.language or _declared_language(front_matter, source.name)
        parsed = await parse_source(source, settings, language)
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
        version = await self._new_version(
            repository, entry, source, media_type, parsed.content_hash, actor, options
        )
        await self._store(repository, entry, version, prepared)
        if options.publish:
            await publish_passages(repository, entry, version)
        await self._audit_upload(session, actor, origin, entry, version, options)
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
        origin: Origin | None = None,
    ) -> IngestResult:
        """Record a file as a new pending version and enqueue its ingestion (API uploads,
        `--background`), audited (`knowledge.version_uploaded`). The cheap checks (size, type,
        emptiness) run now; parsing problems are recorded on the version (`ingest_status`
        "failed", `ingest_error`).

        Args:
            entry_id: add a version to this entry (its key wins over every other).

        Raises:
            PermissionDenied, NotFound, PayloadTooLarge, UnsupportedMediaType, InvalidInput.
        """
        require(actor, Scope.KNOWLEDGE_MANAGE)
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
        version = await self._new_version(
            repository, entry, source, media_type, content_hash(source.data), actor, options
        )
        job_id = await enqueue(
            session,
            INGEST_TASK,
            args={"version_id": str(version.id), "publish": options.publish},
            queue_name="knowledge",
        )
        await self._audit_upload(session, actor, origin, entry, version, options)
        result = self._result(entry, version, "queued")
        result.job_id = job_id
        return result

    @staticmethod
    async def _audit_upload(
        session: AsyncSession,
        actor: Actor | None,
        origin: Origin | None,
        entry: KnowledgeEntry,
        version: KnowledgeVersion,
        options: IngestOptions,
    ) -> None:
        await audit_service.record(
            session,
            actor,
            action="knowledge.version_uploaded",
            origin=origin,
            subject_type="knowledge_entry",
            subject_id=entry.id,
            details={
                "key": entry.key,
                "version": version.number,
                "source_name": version.source_name,
                "content_hash": version.content_hash,
                "publish": options.publish,
            },
        )

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
            await publish_passages(repository, entry, version)
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

    @staticmethod
    async def _new_version(
        repository: KnowledgeRepository,
        entry: KnowledgeEntry,
        source: SourceFile,
        media_type: str,
        digest: str,
        actor: Actor | None,
        options: IngestOptions,
    ) -> KnowledgeVersion:
        """The entry's next version of `source`, a draft whose ingestion is pending."""
        version = KnowledgeVersion(
            entry_id=entry.id,
            number=await repository.next_version_number(entry.id),
            status="draft",
            ingest_status="pending",
            content_hash=digest,
            source_name=source.name[:300],
            media_type=media_type,
            size_bytes=len(source.data),
            source_bytes=source.data,
            author_id=actor.user_id if actor else None,
            change_note=options.change_note,
        )
        repository.add(version)
        await repository.flush()
        return version

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
            await ensure_active(repository, model)
            models = [model, *[m for m in models if m != model]]
        return models

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


knowledge_ingest_service = KnowledgeIngestService()
