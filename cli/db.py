"""`omnifin db`: apply, revert and inspect migrations."""

from __future__ import annotations

import typer

from cli.common import database_url, setup

app = typer.Typer(help="Database migrations.", no_args_is_help=True)


@app.command()
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    from lending import migrations

    settings = setup(json_logs=False)
    migrations.upgrade(database_url(settings), revision)
    typer.echo(f"Database at {migrations.current_revision(database_url(settings))}.", err=True)


@app.command()
def downgrade(revision: str = typer.Argument("-1", help="Target revision, or -N steps.")) -> None:
    """Revert migrations down to REVISION (default: one step; `base` reverts all)."""
    from lending import migrations

    settings = setup(json_logs=False)
    migrations.downgrade(database_url(settings), revision)
    typer.echo(
        f"Database at {migrations.current_revision(database_url(settings)) or 'base'}.", err=True
    )


@app.command()
def current() -> None:
    """Print the revision the database is at and the latest one the code has."""
    from lending import migrations

    settings = setup(json_logs=False)
    url = database_url(settings)
    typer.echo(f"current: {migrations.current_revision(url) or 'base'}")
    typer.echo(f"head: {migrations.head_revision()}")
