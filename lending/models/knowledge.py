"""Knowledge base tables: entries, their immutable versions, searchable chunks and embedding sets."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, REGCONFIG, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lending.models.base import Base, TimestampMixin, new_id

# The size of `knowledge_chunk.embedding`; settings.knowledge_embedding_dimension must match it.
EMBEDDING_DIMENSION = 384

ENTRY_STATUSES = ("draft", "published", "archived")
VERSION_STATUSES = ("draft", "published", "archived")
INGEST_STATUSES = ("pending", "ready", "failed")
EMBEDDING_SET_STATUSES = ("building", "active", "retired")
LANGUAGES = ("en", "zh")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class KnowledgeEntry(TimestampMixin, Base):
    """A topic of the knowledge base in one language; what is searched is its published version."""

    __tablename__ = "knowledge_entry"
    __table_args__ = (
        CheckConstraint(_one_of("status", ENTRY_STATUSES), name="status"),
        CheckConstraint(_one_of("language", LANGUAGES), name="language"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # Stable identity of the source (front matter `key:` or the file's path), for re-ingestion.
    key: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    category: Mapped[str] = mapped_column(String(50), index=True)
    language: Mapped[str] = mapped_column(String(8))
    # Slugs from the lender catalog (knowledge/seed/lenders.json until the lenders domain lands).
    lender: Mapped[str | None] = mapped_column(String(100))
    product: Mapped[str | None] = mapped_column(String(100))
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(50)), server_default="{}")
    status: Mapped[str] = mapped_column(String(16), server_default="draft")
    published_version_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey(
            "knowledge_version.id", use_alter=True, ondelete="SET NULL", name="fk_entry_published"
        )
    )
    created_by: Mapped[uuid.UUID | None]

    versions: Mapped[list[KnowledgeVersion]] = relationship(
        back_populates="entry",
        foreign_keys="KnowledgeVersion.entry_id",
        order_by="KnowledgeVersion.number",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class KnowledgeVersion(Base):
    """One immutable revision of an entry's content: the source file and how it was ingested."""

    __tablename__ = "knowledge_version"
    __table_args__ = (
        UniqueConstraint("entry_id", "number"),
        UniqueConstraint("entry_id", "content_hash"),
        CheckConstraint(_one_of("status", VERSION_STATUSES), name="status"),
        CheckConstraint(_one_of("ingest_status", INGEST_STATUSES), name="ingest_status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    entry_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("knowledge_entry.id", ondelete="CASCADE")
    )
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), server_default="draft")
    ingest_status: Mapped[str] = mapped_column(String(16), server_default="pending")
    ingest_error: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    source_name: Mapped[str] = mapped_column(String(300))
    media_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    # Kept so a version can be re-chunked or re-embedded later; read only by ingestion.
    source_bytes: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    chunk_count: Mapped[int] = mapped_column(Integer, server_default="0")
    author_id: Mapped[uuid.UUID | None]
    change_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    entry: Mapped[KnowledgeEntry] = relationship(back_populates="versions", foreign_keys=[entry_id])


class KnowledgeChunk(Base):
    """A passage of one version, embedded by one model; searched while `searchable` is true.

    A version has one set of chunks per embedding model, so a new model's vectors can be built
    beside the old ones; `searchable` marks the chunks of published versions in the active set.
    Filter columns are copied from the entry so that the vector and text indexes can filter.
    """

    __tablename__ = "knowledge_chunk"
    __table_args__ = (
        UniqueConstraint("version_id", "embedding_model", "position"),
        Index(
            "ix_knowledge_chunk_embedding_hnsw",
            "embedding",
            postgresql_using="hnsw",
            postgresql_with={"m": 16, "ef_construction": 128},
            postgresql_ops={"embedding": "vector_cosine_ops"},
            postgresql_where=text("searchable"),
        ),
        Index(
            "ix_knowledge_chunk_tsv",
            "tsv",
            postgresql_using="gin",
            postgresql_where=text("searchable"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("knowledge_version.id", ondelete="CASCADE")
    )
    entry_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("knowledge_entry.id", ondelete="CASCADE"), index=True
    )
    embedding_model: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)
    heading_path: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    text: Mapped[str] = mapped_column(Text)
    # What full-text search indexes: headings and text, CJK runs split into character bigrams.
    search_text: Mapped[str] = mapped_column(Text)
    ts_config: Mapped[str] = mapped_column(REGCONFIG)
    tsv: Mapped[Any] = mapped_column(
        TSVECTOR, Computed("to_tsvector(ts_config, search_text)", persisted=True)
    )
    embedding: Mapped[Any] = mapped_column(Vector(EMBEDDING_DIMENSION))
    language: Mapped[str] = mapped_column(String(8))
    category: Mapped[str] = mapped_column(String(50))
    lender: Mapped[str | None] = mapped_column(String(100))
    product: Mapped[str | None] = mapped_column(String(100))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB, server_default="{}")
    searchable: Mapped[bool] = mapped_column(Boolean, server_default="false")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class KnowledgeEmbeddingSet(Base):
    """An embedding model the chunks are (being) embedded with; exactly one is active at a time."""

    __tablename__ = "knowledge_embedding_set"
    __table_args__ = (
        CheckConstraint(_one_of("status", EMBEDDING_SET_STATUSES), name="status"),
        Index(
            "uq_knowledge_embedding_set_one_active",
            "status",
            unique=True,
            postgresql_where=text("status = 'active'"),
        ),
    )

    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    dimension: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
