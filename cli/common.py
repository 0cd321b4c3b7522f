"""What every command shares: settings, logging, and the database URL with a one-sentence failure."""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import typer

from lending.config import Settings, get_settings
from lending.logs import configure_logging


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one sentence to stderr and exit; no traceback for an operator's mistake."""
    typer.echo(message, err=True)
    raise typer.Exit(code)


def setup(*, json_logs: bool | None = None) -> Settings:
    try:
        settings = get_settings()
    except Exception as exc:  # pydantic's message names the setting
        fail(f"Settings are not valid: {exc}".replace("\n", " "))
    configure_logging(
        level=settings.log_level,
        json=_json_logs(settings.log_json if json_logs is None else json_logs),
        redacted_fields=settings.log_redacted_fields,
    )
    return settings


def database_url(settings: Settings) -> str:
    """The database URL, checked: reachable, and pgvector available."""
    from lending.db import DatabaseUnavailableError, preflight, resolve_database_url

    try:
        url = resolve_database_url(settings)
        preflight(url)
    except DatabaseUnavailableError as exc:
        fail(str(exc))
    except Exception as exc:  # the embedded server failed to start
        fail(
            f"The embedded PostgreSQL could not start ({exc}); see {settings.state_dir}/pgdata/log."
        )
    return url


def is_tty() -> bool:
    return sys.stderr.isatty()


def _json_logs(asked: bool | None) -> bool:
    """JSON when asked, or when nobody reads the terminal (a file, a pipe, a container)."""
    return asked if asked is not None else not is_tty()


async def actor_by_email(session: Any, email: str) -> Any:
    """The actor of the active user `email` (a CLI command's `--as`), or exit with a message."""
    from lending.identity.actor import Actor
    from lending.identity.repository import UserRepository

    user = await UserRepository.from_session(session).get_by_email(email)
    if user is None or not user.is_active:
        fail(f"No active user {email}.")
    return Actor.for_user(user.id, user.role, user.organization_id)
