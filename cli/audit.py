"""`omnifin audit verify`: walk the audit log's hash chain; exit 1 at the first broken link."""

from __future__ import annotations

import asyncio

import typer

from cli.common import database_url, setup

app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


@app.command()
def verify() -> None:
    """Check every event's hash and link; print the head hash to keep elsewhere."""
    from lending.audit.schemas import ChainReport
    from lending.audit.service import verify_chain
    from lending.db import create_engine, create_sessionmaker

    settings = setup(json_logs=False)
    url = database_url(settings)

    async def run() -> ChainReport:
        engine = create_engine(settings, url)
        try:
            async with create_sessionmaker(engine)() as session:
                return await verify_chain(session)
        finally:
            await engine.dispose()

    report = asyncio.run(run())
    if report.intact:
        typer.echo(
            f"Audit chain intact: {report.events_checked} events; head {report.head_hash}. "
            "Keep the head hash elsewhere: removing the newest events leaves a valid chain."
        )
        return
    typer.echo(
        f"Audit chain BROKEN at event {report.broken_at_id}: {report.reason} "
        f"({report.events_checked} events before it are intact).",
        err=True,
    )
    raise typer.Exit(1)
