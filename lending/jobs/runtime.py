"""What a background task runs on: the process settings and one engine per database URL.

Every domain's tasks reach the database through `job_sessionmaker`, so a worker process holds one
small pool per database however many domains' jobs it runs, and a process whose settings name
another database (a test that points the settings elsewhere) never reuses an engine made for the
first one.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from lending import tracing
from lending.config import Settings, get_settings
from lending.db import SessionMaker, create_engine, create_sessionmaker, resolve_database_url

_engines: dict[str, tuple[AsyncEngine, SessionMaker]] = {}


def job_settings() -> Settings:
    """The settings a task runs with: the process's own, as a deployed worker reads them."""
    return get_settings()


def job_sessionmaker(settings: Settings | None = None) -> SessionMaker:
    """Sessions on the engine for the settings' database, made on first use (keyed by URL)."""
    settings = settings or job_settings()
    url = resolve_database_url(settings)
    if url not in _engines:
        engine = create_engine(settings, url)
        tracing.instrument_engine(engine)  # a no-op unless tracing is on
        _engines[url] = (engine, create_sessionmaker(engine))
    return _engines[url][1]


async def dispose_job_engines() -> None:
    """Close every engine the tasks made (at a worker's end, and between tests that run one)."""
    made = list(_engines.values())
    _engines.clear()
    for engine, _ in made:
        await engine.dispose()
