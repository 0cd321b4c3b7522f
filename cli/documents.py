"""`omnifin documents rotate-key` (re-wrap every document's data key with the current master key)
and `omnifin documents sweep` (remove unfinished uploads and unreferenced stored files)."""

from __future__ import annotations

import asyncio

import typer

from cli.common import database_url, fail, setup

app = typer.Typer(help="Documents: encrypted storage.", no_args_is_help=True)


@app.command("rotate-key")
def rotate_key(
    batch: int = typer.Option(500, min=1, max=10_000, help="Documents per transaction."),
) -> None:
    """Re-wrap document keys sealed with a retired encryption key.

    Set the new OMNIFIN_ENCRYPTION_KEY and list the old one in OMNIFIN_ENCRYPTION_PREVIOUS_KEYS,
    run this, then drop the old key. Only each document's wrapped data key (and its sealed text
    and sensitive values) change; the stored files are not rewritten. Safe to run again.
    """
    from lending.db import create_engine, create_sessionmaker, transaction
    from lending.documents.service import document_service
    from lending.documents.storage import StorageError

    settings = setup(json_logs=False)
    url = database_url(settings)

    async def run() -> int:
        engine = create_engine(settings, url)
        total = 0
        try:
            sessionmaker = create_sessionmaker(engine)
            while True:
                async with transaction(sessionmaker) as session:
                    done = await document_service.rotate_keys(
                        session, settings=settings, batch=batch
                    )
                total += done
                if done < batch:
                    return total
        finally:
            await engine.dispose()

    try:
        total = asyncio.run(run())
    except StorageError as exc:
        fail(f"A document key does not open with the configured keys ({exc}); nothing more done.")
    typer.echo(f"Re-wrapped the keys of {total} documents with the current encryption key.")


@app.command("sweep")
def sweep_storage(
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Only report what would be removed; remove nothing."
    ),
) -> None:
    """Remove unfinished uploads and stored files no document references.

    Only those last written more than OMNIFIN_DOCUMENTS_SWEEP_GRACE_SECONDS ago (default an
    hour): an upload in flight is younger. The worker runs this hourly; safe to run any time.
    """
    from datetime import timedelta

    from lending.db import create_engine, create_sessionmaker
    from lending.documents.storage import blob_store
    from lending.documents.sweep import SweepReport, sweep

    settings = setup(json_logs=False)
    url = database_url(settings)

    async def run() -> SweepReport:
        engine = create_engine(settings, url)
        try:
            return await sweep(
                create_sessionmaker(engine),
                blob_store(settings),
                grace=timedelta(seconds=settings.documents_sweep_grace_seconds),
                dry_run=dry_run,
            )
        finally:
            await engine.dispose()

    try:
        report = asyncio.run(run())
    except Exception as exc:
        fail(f"The storage could not be swept ({type(exc).__name__}: {exc}); nothing more done.")
    typer.echo(report.summary())
