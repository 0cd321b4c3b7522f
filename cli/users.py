"""`omnifin users create`: create a user with any role, for operators (and tests)."""

from __future__ import annotations

import asyncio

import typer

from cli.common import database_url, fail, setup

app = typer.Typer(help="Users and roles.", no_args_is_help=True)


@app.command()
def create(
    email: str = typer.Option(..., help="Sign-in address (unique, case-insensitive)."),
    password: str = typer.Option(
        ..., help="Initial password (the password policy applies).", prompt=True, hide_input=True
    ),
    role: str = typer.Option(
        ...,
        help="borrower, broker, broker_manager, platform_admin or prompt_engineer.",
    ),
    org: str | None = typer.Option(
        None, help="Organization slug (default: the platform organization)."
    ),
    full_name: str | None = typer.Option(None, help="Display name (default: the email's name)."),
) -> None:
    """Create a user; prints its id. Audited as done by the operator at the command line."""
    from lending.audit.schemas import Origin
    from lending.db import create_engine, create_sessionmaker, transaction
    from lending.errors import OmnifinError
    from lending.identity.users import user_service
    from lending.models.identity import Role

    try:
        chosen_role = Role(role)
    except ValueError:
        fail(f"Unknown role {role!r}: use one of {', '.join(r.value for r in Role)}.", code=2)
    settings = setup(json_logs=False)
    url = database_url(settings)

    async def run() -> str:
        engine = create_engine(settings, url)
        try:
            async with transaction(create_sessionmaker(engine)) as session:
                user = await user_service.create(
                    session,
                    settings=settings,
                    email=email,
                    password=password,
                    full_name=full_name or email.split("@", 1)[0],
                    role=chosen_role,
                    organization_slug=org,
                    origin=Origin(operator="cli:users create"),
                )
                return str(user.id)
        finally:
            await engine.dispose()

    try:
        user_id = asyncio.run(run())
    except OmnifinError as exc:
        fail(_sentence(exc.detail), code=2)
    typer.echo(user_id)
    typer.echo(f"Created {chosen_role.value} {email}.", err=True)


def _sentence(detail: object) -> str:
    if isinstance(detail, list):  # validation-shaped: [{"msg": ...}, ...]
        return " ".join(str(item.get("msg", item)) for item in detail if isinstance(item, dict))
    return str(detail)
