"""`omnifin knowledge ingest|search|reindex`: load files into the knowledge base and query it."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from cli.common import database_url, fail, setup

app = typer.Typer(
    help="Knowledge base: ingest documents, search, switch embedding model.",
    no_args_is_help=True,
)


def _collect(paths: list[Path]) -> list[tuple[Path, str]]:
    """(file, fallback key) for every file named or found under a named folder."""
    from knowledge.ingest import default_key
    from knowledge.ingestion import MEDIA_TYPES

    files: list[tuple[Path, str]] = []
    for path in paths:
        if path.is_dir():
            for found in sorted(path.rglob("*")):
                relative = found.relative_to(path)
                if any(part.startswith(".") for part in relative.parts):
                    continue
                if found.is_file() and found.suffix.lower() in MEDIA_TYPES:
                    files.append((found, default_key(str(relative))))
        elif path.is_file():
            files.append((path, default_key(path.name)))
        else:
            fail(f"{path} does not exist.")
    return files


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files, or folders to walk recursively.")],
    background: bool = typer.Option(
        False, "--background", help="Only record the files and enqueue their ingestion jobs."
    ),
    lang: str | None = typer.Option(None, "--lang", help="Language of the files: en or zh."),
    category: str | None = typer.Option(None, "--category", help="Category, e.g. fees."),
    lender: str | None = typer.Option(None, "--lender", help="Lender slug the files are about."),
    product: str | None = typer.Option(None, "--product", help="Product slug."),
    key: str | None = typer.Option(None, "--key", help="Entry key (a single file only)."),
    publish: bool = typer.Option(
        True, "--publish/--draft", help="Make the new versions searched at once."
    ),
    change_note: str | None = typer.Option(None, "--note", help="Why this version changed."),
) -> None:
    """Ingest Markdown, text, HTML, PDF and DOCX files; unchanged files are skipped.

    Prints one JSON object per file on stdout; exits 1 when any file failed.
    """
    from pydantic import ValidationError

    from knowledge.ingest import knowledge_ingest_service
    from knowledge.ingestion import SourceFile
    from knowledge.schemas import IngestOptions
    from lending.audit.schemas import Origin
    from lending.db import create_engine, create_sessionmaker, transaction
    from lending.errors import OmnifinError

    try:
        options = IngestOptions(
            key=key,
            category=category,
            language=lang,  # type: ignore[arg-type]
            lender=lender,
            product=product,
            change_note=change_note,
            publish=publish,
        )
    except ValidationError as exc:
        fail("Invalid option: " + "; ".join(str(e["msg"]) for e in exc.errors()))
    files = _collect(paths)
    if key is not None and len(files) != 1:
        fail("--key names one entry, so it takes exactly one file.")
    if not files:
        fail("No supported files found (.md, .txt, .html, .pdf, .docx).")
    settings = setup(json_logs=False)
    url = database_url(settings)

    async def run() -> int:
        engine = create_engine(settings, url)
        sessionmaker = create_sessionmaker(engine)
        failures = 0
        try:
            with typer.progressbar(
                files, label="Ingesting", file=sys.stderr, show_pos=True
            ) as progress:
                for path, fallback_key in progress:
                    record: dict[str, Any] = {"file": str(path)}
                    try:
                        source = SourceFile(path.name, path.read_bytes())
                        async with transaction(sessionmaker) as session:
                            call = (
                                knowledge_ingest_service.submit
                                if background
                                else knowledge_ingest_service.ingest
                            )
                            result = await call(
                                session,
                                None,
                                source=source,
                                options=options,
                                fallback_key=fallback_key,
                                settings=settings,
                                origin=Origin(operator="cli:knowledge ingest"),
                            )
                        record.update(result.model_dump(mode="json"))
                    except (OmnifinError, OSError) as exc:
                        failures += 1
                        detail = exc.detail if isinstance(exc, OmnifinError) else str(exc)
                        record.update({"outcome": "error", "error": detail})
                    sys.stdout.write(orjson.dumps(record).decode() + "\n")
        finally:
            await engine.dispose()
        return failures

    failures = asyncio.run(run())
    if failures:
        typer.echo(f"{failures} of {len(files)} files could not be ingested.", err=True)
        raise typer.Exit(1)


@app.command()
def search(
    query: str = typer.Argument(..., help="The question or keywords."),
    k: int = typer.Option(5, "--k", min=1, max=50, help="How many passages."),
    lang: str | None = typer.Option(None, "--lang", help="Only entries in this language."),
    category: str | None = typer.Option(None, "--category"),
    lender: str | None = typer.Option(None, "--lender"),
    product: str | None = typer.Option(None, "--product"),
) -> None:
    """Search the published knowledge base; prints the passages as JSON."""
    from knowledge.search import knowledge_search_service
    from lending.db import create_engine, create_sessionmaker, transaction
    from lending.errors import OmnifinError

    if lang is not None and lang not in ("en", "zh"):
        fail("--lang must be en or zh.")
    settings = setup(json_logs=False)
    url = database_url(settings)

    async def run() -> list[dict[str, Any]]:
        engine = create_engine(settings, url)
        try:
            async with transaction(create_sessionmaker(engine)) as session:
                result = await knowledge_search_service.search(
                    session,
                    None,
                    query=query,
                    k=k,
                    language=lang,  # type: ignore[arg-type]
                    category=category,
                    lender=lender,
                    product=product,
                    settings=settings,
                )
        finally:
            await engine.dispose()
        return [
            {
                "entry_id": str(p.entry_id),
                "entry_key": p.entry_key,
                "title": p.title,
                "version": p.version,
                "heading_path": p.heading_path,
                "text": p.text,
                "score": p.score,
                "citation": p.citation,
                "language": p.language,
            }
            for p in result.passages
        ]

    try:
        passages = asyncio.run(run())
    except OmnifinError as exc:
        fail(f"error: {exc.detail}", 2)
    sys.stdout.write(orjson.dumps(passages, option=orjson.OPT_INDENT_2).decode() + "\n")


@app.command()
def reindex(
    background: bool = typer.Option(
        False, "--background", help="Only enqueue the re-embedding job."
    ),
) -> None:
    """Re-embed everything with the configured model (OMNIFIN_KNOWLEDGE_EMBEDDER); searches use
    the previous model's vectors until the new ones are complete."""
    from knowledge.reindex import knowledge_reindex_service
    from knowledge.tasks import reindex as run_reindex
    from lending.db import create_engine, create_sessionmaker, transaction
    from lending.errors import OmnifinError

    settings = setup(json_logs=False)
    url = database_url(settings)

    async def run() -> dict[str, Any]:
        engine = create_engine(settings, url)
        sessionmaker = create_sessionmaker(engine)
        try:
            async with transaction(sessionmaker) as session:
                result = await knowledge_reindex_service.start_reindex(
                    session, None, settings=settings, background=background
                )
            if result.outcome == "queued" and not background:
                typer.echo(f"Re-embedding with {result.model}...", err=True)
                result.versions_embedded = await run_reindex(
                    sessionmaker, settings, model=result.model
                )
                result.outcome = "completed"
        finally:
            await engine.dispose()
        return result.model_dump(mode="json")

    try:
        outcome = asyncio.run(run())
    except OmnifinError as exc:
        fail(f"error: {exc.detail}", 2)
    sys.stdout.write(orjson.dumps(outcome).decode() + "\n")
