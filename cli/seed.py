"""`omnifin seed demo`: load the demo data (idempotent) and print the demo logins."""

from __future__ import annotations

import asyncio

import typer

from cli.common import database_url, setup

app = typer.Typer(help="Demo and fixture data.", no_args_is_help=True)


@app.command()
def demo(
    world: bool = typer.Option(
        True,
        "--world/--bare",
        help="Also build the lived-in demo: the Harbor broker's clients with applications at "
        "every stage, offers, a funded loan with commissions, notifications. --bare loads only "
        "the logins, catalog, prompts and knowledge.",
    ),
) -> None:
    """Load the demo firm, users, lender catalog and assistant prompts (safe to run again) and
    print the demo logins."""
    from agents.prompts.service import seed_default_prompts
    from cli.demo_content import seed_demo_content
    from knowledge.seed import seed_knowledge
    from lending.db import create_engine, create_sessionmaker, transaction
    from lending.demo import seed_demo

    settings = setup(json_logs=False)
    url = database_url(settings)

    async def run() -> None:
        engine = create_engine(settings, url)
        try:
            async with transaction(create_sessionmaker(engine)) as session:
                summary = await seed_demo(session, settings, world=world)
                # The assistant's prompts live above `lending`, so the CLI seeds them.
                created = await seed_default_prompts(session)
                if created:
                    summary.notes.append(f"Assistant prompts: {len(created)} created.")
                knowledge = await seed_knowledge(session, settings, background=True)
                summary.notes.append(knowledge.render())
            if world:
                # After the commit: extraction and the assistant's turns run in transactions
                # of their own, as the job and the chat API run them (cli.demo_content).
                summary.notes.extend(
                    await seed_demo_content(create_sessionmaker(engine), settings, url)
                )
        finally:
            await engine.dispose()
        typer.echo(summary.render())

    asyncio.run(run())
