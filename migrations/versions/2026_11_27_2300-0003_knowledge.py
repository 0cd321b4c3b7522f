"""Knowledge base: entries, immutable versions, chunks with vector(384) + tsvector, embedding sets.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 23:00:00+00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here: the default of OMNIFIN_KNOWLEDGE_EMBEDDING_DIMENSION when this was written. A
# model of another size needs a new migration (and a re-embedding), not an edit of this one.
EMBEDDING_DIMENSION = 384


def _timestamps() -> list[sa.Column[Any]]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "knowledge_entry",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("category", sa.String(50), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("lender", sa.String(100), nullable=True),
        sa.Column("product", sa.String(100), nullable=True),
        sa.Column("tags", postgresql.ARRAY(sa.String(50)), server_default="{}", nullable=False),
        sa.Column("status", sa.String(16), server_default="draft", nullable=False),
        sa.Column("published_version_id", sa.Uuid(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        *_timestamps(),
        sa.CheckConstraint("status IN ('draft', 'published', 'archived')", name="status"),
        sa.CheckConstraint("language IN ('en', 'zh')", name="language"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_entry")),
        sa.UniqueConstraint("key", name=op.f("uq_knowledge_entry_key")),
    )
    op.create_index(op.f("ix_knowledge_entry_category"), "knowledge_entry", ["category"])

    op.create_table(
        "knowledge_version",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), server_default="draft", nullable=False),
        sa.Column("ingest_status", sa.String(16), server_default="pending", nullable=False),
        sa.Column("ingest_error", sa.Text(), nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("source_name", sa.String(300), nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("source_bytes", sa.LargeBinary(), nullable=False),
        sa.Column("chunk_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        sa.Column("change_note", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('draft', 'published', 'archived')", name="status"),
        sa.CheckConstraint("ingest_status IN ('pending', 'ready', 'failed')", name="ingest_status"),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["knowledge_entry.id"],
            name=op.f("fk_knowledge_version_entry_id_knowledge_entry"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_version")),
        sa.UniqueConstraint(
            "entry_id", "number", name=op.f("uq_knowledge_version_entry_id_number")
        ),
        sa.UniqueConstraint(
            "entry_id", "content_hash", name=op.f("uq_knowledge_version_entry_id_content_hash")
        ),
    )
    op.create_foreign_key(
        "fk_entry_published",
        "knowledge_entry",
        "knowledge_version",
        ["published_version_id"],
        ["id"],
        ondelete="SET NULL",
    )

    op.create_table(
        "knowledge_chunk",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version_id", sa.Uuid(), nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("embedding_model", sa.String(200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("heading_path", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("ts_config", postgresql.REGCONFIG(), nullable=False),
        sa.Column(
            "tsv",
            postgresql.TSVECTOR(),
            sa.Computed("to_tsvector(ts_config, search_text)", persisted=True),
            nullable=False,
        ),
        sa.Column("embedding", Vector(EMBEDDING_DIMENSION), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("category", sa.String(50), nullable=False),
        sa.Column("lender", sa.String(100), nullable=True),
        sa.Column("product", sa.String(100), nullable=True),
        sa.Column("metadata", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.Column("searchable", sa.Boolean(), server_default="false", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["knowledge_entry.id"],
            name=op.f("fk_knowledge_chunk_entry_id_knowledge_entry"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["knowledge_version.id"],
            name=op.f("fk_knowledge_chunk_version_id_knowledge_version"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_chunk")),
        sa.UniqueConstraint(
            "version_id",
            "embedding_model",
            "position",
            name=op.f("uq_knowledge_chunk_version_id_embedding_model_position"),
        ),
    )
    op.create_index(op.f("ix_knowledge_chunk_entry_id"), "knowledge_chunk", ["entry_id"])
    # Both search indexes hold only what is searched (published versions, active model), so
    # drafts, archived versions and a model being built never dilute an index scan.
    op.create_index(
        "ix_knowledge_chunk_embedding_hnsw",
        "knowledge_chunk",
        ["embedding"],
        postgresql_using="hnsw",
        postgresql_with={"m": 16, "ef_construction": 128},
        postgresql_ops={"embedding": "vector_cosine_ops"},
        postgresql_where=sa.text("searchable"),
    )
    op.create_index(
        "ix_knowledge_chunk_tsv",
        "knowledge_chunk",
        ["tsv"],
        postgresql_using="gin",
        postgresql_where=sa.text("searchable"),
    )
    # Retrieval leaves out query terms that most chunks contain; it reads how common a term is
    # from the planner's statistics, so collect them for more lexemes than the default 100.
    op.execute("ALTER TABLE knowledge_chunk ALTER COLUMN tsv SET STATISTICS 1000")
    # Ranking reads every matching row's tsvector: keep it in the row (MAIN) and let the
    # embedding (1.5 kB, incompressible, EXTERNAL) and the texts move to TOAST instead.
    # Otherwise a row passes the 2 kB TOAST threshold, the tsvector is moved out, and each
    # ranked match costs extra page reads (measured: 5x slower full-text ranking).
    op.execute("ALTER TABLE knowledge_chunk ALTER COLUMN tsv SET STORAGE MAIN")
    op.execute("ALTER TABLE knowledge_chunk ALTER COLUMN embedding SET STORAGE EXTERNAL")

    op.create_table(
        "knowledge_embedding_set",
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("dimension", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('building', 'active', 'retired')", name="status"),
        sa.PrimaryKeyConstraint("model", name=op.f("pk_knowledge_embedding_set")),
    )
    op.create_index(
        "uq_knowledge_embedding_set_one_active",
        "knowledge_embedding_set",
        ["status"],
        unique=True,
        postgresql_where=sa.text("status = 'active'"),
    )


def downgrade() -> None:
    op.drop_table("knowledge_embedding_set")
    op.drop_table("knowledge_chunk")
    op.drop_constraint("fk_entry_published", "knowledge_entry", type_="foreignkey")
    op.drop_table("knowledge_version")
    op.drop_table("knowledge_entry")
