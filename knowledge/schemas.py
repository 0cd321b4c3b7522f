"""Typed inputs and outputs of the knowledge base (REST, CLI and the `search_knowledge` tool)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from knowledge.language import Language

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,99}$")]
Category = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,49}$")]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=50, strip_whitespace=True)]
EntryKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")]
EntryStatus = Literal["draft", "published", "archived"]
VersionStatus = Literal["draft", "published", "archived"]
IngestStatus = Literal["pending", "ready", "failed"]

# Categories the seed content and the assistant use; others are accepted (a slug).
KNOWN_CATEGORIES = (
    "eligibility",
    "documents",
    "timelines",
    "fees",
    "rates",
    "credit",
    "commissions",
    "process",
    "products",
    "general",
)


class SearchQuery(BaseModel):
    """What a knowledge search takes (the `search_knowledge` tool's input)."""

    query: str = Field(min_length=1, description="The question or keywords, in any language.")
    k: int = Field(default=5, ge=1, le=50, description="How many passages to return.")
    language: Language | None = Field(
        default=None, description="Only entries in this language; otherwise its own first."
    )
    category: Category | None = None
    lender: Slug | None = Field(default=None, description="Only entries about this lender.")
    product: Slug | None = Field(default=None, description="Only entries about this product.")


class CitedPassage(BaseModel):
    """A passage with what is needed to cite it: entry, version and headings."""

    entry_id: uuid.UUID
    entry_key: str
    title: str
    version: int
    heading_path: list[str]
    text: str
    score: float = Field(description="Reciprocal-rank-fusion score; higher is better.")
    language: str
    category: str
    lender: str | None
    product: str | None
    citation: str = Field(description="'Title › Heading (v3)', ready to show to a person.")
    chunk_id: uuid.UUID
    vector_rank: int | None = None
    text_rank: int | None = None


class SearchResult(BaseModel):
    query: str
    query_language: Language
    embedding_model: str | None = Field(
        description="The model whose vectors were searched (None: nothing is indexed yet)."
    )
    passages: list[CitedPassage]


class IngestOptions(BaseModel):
    """Metadata for an ingested file; unset fields come from its front matter, then defaults."""

    key: EntryKey | None = Field(
        default=None,
        description="Stable identity of the entry; a new file with it is a new version.",
    )
    title: str | None = Field(default=None, max_length=300)
    category: Category | None = None
    language: Language | None = None
    lender: Slug | None = None
    product: Slug | None = None
    tags: list[Tag] | None = Field(default=None, max_length=20)
    change_note: str | None = Field(default=None, max_length=2000)
    publish: bool = Field(default=True, description="Make the new version the one searched.")


class IngestResult(BaseModel):
    entry_id: uuid.UUID
    key: str
    version: int
    version_id: uuid.UUID
    outcome: Literal["created", "unchanged", "queued"]
    ingest_status: IngestStatus
    status: VersionStatus
    chunk_count: int
    source_name: str
    job_id: int | None = None


class VersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: int
    status: VersionStatus
    ingest_status: IngestStatus
    ingest_error: str | None
    content_hash: str
    source_name: str
    media_type: str
    size_bytes: int
    chunk_count: int
    author_id: uuid.UUID | None
    change_note: str | None
    created_at: datetime
    published_at: datetime | None


class EntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    key: str
    title: str
    category: str
    language: str
    lender: str | None
    product: str | None
    tags: list[str]
    status: EntryStatus
    published_version: int | None = None
    created_at: datetime
    updated_at: datetime


class EntryDetail(EntryRead):
    versions: list[VersionRead]


class EntryUpdate(BaseModel):
    """Metadata changes; they apply to the searched chunks at once (no new version)."""

    title: str | None = Field(default=None, min_length=1, max_length=300)
    category: Category | None = None
    lender: Slug | None = None
    product: Slug | None = None
    tags: list[Tag] | None = Field(default=None, max_length=20)
    clear_lender: bool = False
    clear_product: bool = False


class EntryPage(BaseModel):
    items: list[EntryRead]
    total: int


class EmbeddingSetRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    model: str
    dimension: int
    status: Literal["building", "active", "retired"]
    created_at: datetime
    activated_at: datetime | None


class ReindexResult(BaseModel):
    model: str
    outcome: Literal["already_active", "queued", "completed"]
    job_id: int | None = None
    versions_embedded: int = 0
