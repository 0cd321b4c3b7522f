"""The job runtime: every domain's tasks share one engine per database URL, never another's."""

from __future__ import annotations

from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.engine import make_url

from lending.config import Settings
from lending.jobs.runtime import dispose_job_engines, job_sessionmaker


async def _database_of(settings: Settings) -> str:
    async with job_sessionmaker(settings)() as session:
        name: str = await session.scalar(text("SELECT current_database()"))
    return name


async def test_one_engine_per_database_url(settings: Settings, database_url: str) -> None:
    other_url = make_url(database_url).set(database="postgres").render_as_string(False)
    other = settings.model_copy(update={"database_url": SecretStr(other_url)})
    try:
        assert job_sessionmaker(settings) is job_sessionmaker(settings)
        assert job_sessionmaker(other) is not job_sessionmaker(settings)
        # Each reaches its own database: a worker pointed elsewhere never reuses the first engine.
        assert await _database_of(settings) == make_url(database_url).database
        assert await _database_of(other) == "postgres"
    finally:
        await dispose_job_engines()
    # After disposal the next use makes a fresh engine.
    try:
        assert await _database_of(settings) == make_url(database_url).database
    finally:
        await dispose_job_engines()
