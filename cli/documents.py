"""`omnifin documents rotate-key`: re-wrap every document's data key with the current master key."""

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
