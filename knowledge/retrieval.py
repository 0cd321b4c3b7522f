"""Hybrid retrieval in one SQL statement: HNSW cosine + full-text rank, fused by reciprocal rank.

Vector side: the partial HNSW index over searchable chunks, with pgvector's iterative scan so
that filters (language, category, lender, product) still return enough rows.

Text side: each language's chunks are indexed with its own configuration (`english`, or
`simple` over CJK bigrams; see knowledge/language.py). The query becomes an OR of its terms in
both configurations, because a question rarely contains every word of its answer. An OR of
common terms matches most of the table, and ranking every match is what makes full-text search
slow at scale; so terms that the planner's statistics say occur in more than
`common_term_docs` chunks are left out (they carry almost no information, as in BM25's IDF),
and at most `rank_cap` matches are ranked, with `ts_rank` (term frequency, normalised by the
log of the length) rather than `ts_rank_cd`, whose cover-density search costs about four times
as much per row for an OR query.

Fusion: reciprocal rank fusion, score = sum over the two lists of 1 / (60 + rank), the constant
from Cormack et al. (2009).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pgvector.sqlalchemy import Vector
from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.language import TS_CONFIG, query_text_for
from lending.models.knowledge import EMBEDDING_DIMENSION

SearchMode = Literal["hybrid", "vector", "text"]
RRF_K = 60


@dataclass(frozen=True)
class Filters:
    language: str | None = None
    category: str | None = None
    lender: str | None = None
    product: str | None = None


@dataclass(frozen=True)
class RetrievedChunk:
    chunk_id: uuid.UUID
    entry_id: uuid.UUID
    entry_key: str
    title: str
    version_id: uuid.UUID
    version: int
    heading_path: list[str]
    text: str
    language: str
    category: str
    lender: str | None
    product: str | None
    score: float
    vector_rank: int | None
    text_rank: int | None
    metadata: dict[str, Any]


class TermStatistics:
    """How common each indexed term is, from `pg_stats` (refreshed by ANALYZE / autovacuum).

    Cached per process for `ttl_seconds`: the numbers move slowly, and reading the statistics
    on every query would cost more than the query.
    """

    def __init__(self, ttl_seconds: float = 300) -> None:
        self.ttl_seconds = ttl_seconds
        self._loaded_at = -1e18
        self._frequency: dict[str, float] = {}
        self._rows = 0.0

    def invalidate(self) -> None:
        self._loaded_at = -1e18

    async def estimated_docs(self, session: AsyncSession) -> tuple[dict[str, float], float]:
        """(term -> share of chunks containing it, for the most common terms; chunk count)."""
        now = time.monotonic()
        if now - self._loaded_at > self.ttl_seconds:
            row = (
                await session.execute(
                    text(
                        "SELECT s.most_common_elems::text::text[], s.most_common_elem_freqs, "
                        "c.reltuples FROM pg_class c LEFT JOIN pg_stats s "
                        "ON s.tablename = c.relname AND s.attname = 'tsv' "
                        "AND s.schemaname = current_schema() "
                        "WHERE c.oid = 'knowledge_chunk'::regclass"
                    )
                )
            ).one_or_none()
            frequency: dict[str, float] = {}
            rows = 0.0
            if row is not None:
                elems, freqs, reltuples = row
                rows = max(float(reltuples or 0), 0.0)
                if elems and freqs:
                    frequency = dict(zip(elems, (float(f) for f in freqs), strict=False))
            self._frequency, self._rows, self._loaded_at = frequency, rows, now
        return self._frequency, self._rows


term_statistics = TermStatistics()


def _tsquery_literal(lexemes: Sequence[str]) -> str | None:
    """An OR tsquery of exact lexemes (already normalised by to_tsvector), or None."""
    if not lexemes:
        return None
    quoted = ("'" + lex.replace("\\", "\\\\").replace("'", "''") + "'" for lex in lexemes)
    return " | ".join(quoted)


def select_terms(
    lexemes: Sequence[str], frequency: dict[str, float], rows: float, common_term_docs: int
) -> list[str]:
    """The query terms worth matching: those in at most `common_term_docs` chunks, or, when
    every term is that common, the least common one."""
    if not lexemes:
        return []

    def docs(lexeme: str) -> float:
        return frequency.get(lexeme, 0.0) * rows

    kept = [lex for lex in lexemes if docs(lex) <= common_term_docs]
    return kept or [min(lexemes, key=docs)]


def _term_columns(query: str) -> tuple[list[str], list[str], dict[str, str]]:
    """SELECT columns giving the query's lexemes under each configuration in use, as the index
    stores them: (configurations, columns, parameters)."""
    configs = sorted(set(TS_CONFIG.values()))
    columns = [
        f"tsvector_to_array(to_tsvector('{config}'::regconfig, :q_{config}))" for config in configs
    ]
    params = {f"q_{config}": query_text_for(config, query) for config in configs}
    return configs, columns, params


async def query_terms(session: AsyncSession, query: str) -> dict[str, list[str]]:
    """The query's lexemes under each configuration (for diagnostics and benchmarks)."""
    configs, columns, params = _term_columns(query)
    row = (await session.execute(text(f"SELECT {', '.join(columns)}"), params)).one()
    return {config: list(row[i] or []) for i, config in enumerate(configs)}


def _filter_sql(filters: Filters, alias: str) -> tuple[str, dict[str, Any]]:
    clauses: list[str] = []
    params: dict[str, Any] = {}
    for name in ("language", "category", "lender", "product"):
        value = getattr(filters, name)
        if value is not None:
            clauses.append(f"{alias}.{name} = :f_{name}")
            params[f"f_{name}"] = value
    return "".join(f" AND {clause}" for clause in clauses), params


async def search_chunks(
    session: AsyncSession,
    *,
    query: str,
    query_vector: Any | None,
    k: int,
    filters: Filters,
    mode: SearchMode = "hybrid",
    prefer_language: str | None = None,
    candidates: int = 40,
    ef_search: int = 64,
    common_term_docs: int = 1000,
    rank_cap: int = 2000,
    statistics: TermStatistics | None = None,
) -> list[RetrievedChunk]:
    """The best `k` searchable chunks for a query.

    Args:
        query: the text, for full-text matching.
        query_vector: the query's embedding (None for text-only search).
        k: how many to return.
        filters: exact-match filters on the entry's language, category, lender, product.
        mode: "hybrid" (fused), or one side alone (benchmarks compare the three).
        prefer_language: results in this language come first (a query finds entries in its own
            language first); None keeps the fused order.
        candidates: rows each side hands to fusion.
        ef_search: HNSW candidate list size (pgvector's hnsw.ef_search).
        common_term_docs: query terms in more chunks than this are not matched (see module).
        rank_cap: at most this many full-text matches are ranked.
        statistics: where term frequencies come from (the process-wide cache by default).
    """
    use_vector = mode in ("hybrid", "vector") and query_vector is not None
    use_text = mode in ("hybrid", "text")
    filter_sql, params = _filter_sql(filters, "c")
    params.update({"k": k, "n": max(candidates, k)})
    ctes: list[str] = []

    # One round trip before the search: the transaction-local HNSW settings (an iterative scan
    # keeps going until enough rows pass the filters) and the query's lexemes.
    prelude: list[str] = []
    prelude_params: dict[str, Any] = {}
    if use_vector:
        prelude += [
            "set_config('hnsw.ef_search', :ef, true)",
            "set_config('hnsw.iterative_scan', 'relaxed_order', true)",
        ]
        prelude_params["ef"] = str(int(ef_search))
        params["qv"] = query_vector
        ctes.append(
            "vec AS MATERIALIZED (SELECT id, row_number() OVER (ORDER BY dist) AS rnk FROM ("
            "SELECT c.id, c.embedding <=> :qv AS dist FROM knowledge_chunk c "
            f"WHERE c.searchable{filter_sql} ORDER BY c.embedding <=> :qv LIMIT :n) s)"
        )
    configs: list[str] = []
    if use_text:
        configs, columns, term_params = _term_columns(query)
        prelude += columns
        prelude_params.update(term_params)
    lexemes: dict[str, list[str]] = {}
    if prelude:
        row = (await session.execute(text(f"SELECT {', '.join(prelude)}"), prelude_params)).one()
        offset = 2 if use_vector else 0
        lexemes = {config: list(row[offset + i] or []) for i, config in enumerate(configs)}

    text_conditions: list[str] = []
    rank_cases: list[str] = []
    if use_text:
        stats = statistics or term_statistics
        frequency, rows = await stats.estimated_docs(session)
        for config, terms in lexemes.items():
            literal = _tsquery_literal(select_terms(terms, frequency, rows, common_term_docs))
            if literal is None:
                continue
            params[f"tq_{config}"] = literal
            condition = (
                f"(c.ts_config = '{config}'::regconfig AND c.tsv @@ CAST(:tq_{config} AS tsquery))"
            )
            text_conditions.append(condition)
            rank_cases.append(
                f"WHEN c.ts_config = '{config}'::regconfig "
                f"THEN ts_rank(c.tsv, CAST(:tq_{config} AS tsquery), 1)"
            )
    if text_conditions:
        params["cap"] = rank_cap
        ctes.append(
            "txt AS MATERIALIZED (SELECT id, row_number() OVER (ORDER BY r DESC, id) AS rnk FROM ("
            f"SELECT c.id, CASE {' '.join(rank_cases)} ELSE 0 END AS r FROM ("
            "SELECT c.id, c.tsv, c.ts_config FROM knowledge_chunk c "
            f"WHERE c.searchable AND ({' OR '.join(text_conditions)}){filter_sql} LIMIT :cap"
            ") c ORDER BY r DESC, c.id LIMIT :n) s)"
        )

    if not ctes:
        return []
    has_vec = use_vector
    has_txt = bool(text_conditions)
    if has_vec and has_txt:
        fused = (
            "SELECT coalesce(v.id, t.id) AS id, "
            f"coalesce(1.0 / ({RRF_K} + v.rnk), 0) + coalesce(1.0 / ({RRF_K} + t.rnk), 0) AS score, "
            "v.rnk AS vector_rank, t.rnk AS text_rank FROM vec v FULL JOIN txt t ON t.id = v.id"
        )
    elif has_vec:
        fused = (
            f"SELECT id, 1.0 / ({RRF_K} + rnk) AS score, rnk AS vector_rank, "
            "NULL::bigint AS text_rank FROM vec"
        )
    else:
        fused = (
            f"SELECT id, 1.0 / ({RRF_K} + rnk) AS score, NULL::bigint AS vector_rank, "
            "rnk AS text_rank FROM txt"
        )
    order = "f.score DESC, c.id"
    if prefer_language is not None:
        params["pref"] = prefer_language
        order = "(c.language = :pref) DESC, " + order
    sql = (
        f"WITH {', '.join(ctes)}, fused AS ({fused}) "
        "SELECT c.id, c.entry_id, e.key, e.title, c.version_id, v.number, c.heading_path, "
        "c.text, c.language, c.category, c.lender, c.product, f.score, f.vector_rank, "
        "f.text_rank, c.metadata "
        "FROM fused f JOIN knowledge_chunk c ON c.id = f.id "
        "JOIN knowledge_entry e ON e.id = c.entry_id "
        "JOIN knowledge_version v ON v.id = c.version_id "
        f"ORDER BY {order} LIMIT :k"
    )
    statement = text(sql)
    if use_vector:
        statement = statement.bindparams(bindparam("qv", type_=Vector(EMBEDDING_DIMENSION)))
    result = await session.execute(statement, params)
    return [
        RetrievedChunk(
            chunk_id=row[0],
            entry_id=row[1],
            entry_key=row[2],
            title=row[3],
            version_id=row[4],
            version=row[5],
            heading_path=list(row[6] or []),
            text=row[7],
            language=row[8],
            category=row[9],
            lender=row[10],
            product=row[11],
            score=float(row[12]),
            vector_rank=row[13],
            text_rank=row[14],
            metadata=dict(row[15] or {}),
        )
        for row in result.all()
    ]
