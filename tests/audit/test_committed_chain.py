"""The chain under real concurrency and through `omnifin audit verify`, on a committed database
of its own (the shared test database rolls every test back, which hides both)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from devtools.databases import recreate_database
from lending import migrations
from lending.audit.service import audit_service, verify_chain
from lending.config import Settings
from lending.db import create_engine, create_sessionmaker, transaction
from tests.conftest import TEST_STATE_DIR

OMNIFIN = str(Path(sys.executable).parent / "omnifin")


@pytest.fixture
def committed_url(server_url: str) -> str:
    url = recreate_database(server_url, "omnifin_audit_committed")
    migrations.upgrade(url)
    return url


@pytest.fixture
async def committed_engine(settings: Settings, committed_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings, committed_url)
    yield engine
    await engine.dispose()


def _omnifin(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIFIN_")}
    env.update(
        OMNIFIN_DATABASE_URL=url, OMNIFIN_STATE_DIR=str(TEST_STATE_DIR), OMNIFIN_ENVIRONMENT="test"
    )
    return subprocess.run(
        [OMNIFIN, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


async def test_concurrent_appends_never_fork_the_chain(committed_engine: AsyncEngine) -> None:
    sessionmaker = create_sessionmaker(committed_engine)

    async def append(n: int) -> None:
        async with transaction(sessionmaker) as session:
            await audit_service.record(session, None, action="test.concurrent", details={"n": n})
            await asyncio.sleep(0.01)  # hold the transaction open while others try to append

    # Without the advisory lock, two appends would read the same head and the unique
    # constraint on prev_hash would refuse the second one (or, without it, the chain would fork).
    await asyncio.gather(*(append(n) for n in range(8)))

    async with sessionmaker() as session:
        report = await verify_chain(session)
    assert report.intact
    assert report.events_checked >= 8


def test_the_cli_reports_an_intact_chain_then_the_tampered_event(
    committed_url: str, settings: Settings
) -> None:
    async def seed() -> None:
        engine = create_engine(settings, committed_url)
        try:
            async with transaction(create_sessionmaker(engine)) as session:
                for n in range(3):
                    await audit_service.record(session, None, action="test.cli", details={"n": n})
        finally:
            await engine.dispose()

    asyncio.run(seed())
    intact = _omnifin("audit", "verify", url=committed_url)
    assert intact.returncode == 0, intact.stderr
    assert "Audit chain intact" in intact.stdout

    with psycopg.connect(committed_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT id FROM audit_event WHERE action = 'test.cli' ORDER BY id LIMIT 1 OFFSET 1"
        ).fetchone()
        assert row is not None
        with conn.transaction():
            conn.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
            conn.execute(
                "UPDATE audit_event SET actor_role = 'platform_admin' WHERE id = %s", (row[0],)
            )
            conn.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")

    broken = _omnifin("audit", "verify", url=committed_url)
    assert broken.returncode == 1
    assert f"BROKEN at event {row[0]}" in broken.stderr
