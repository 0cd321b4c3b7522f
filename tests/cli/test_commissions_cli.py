"""`omnifin commissions accrue-trail|batch|export` as an operator runs them: real processes on a
database of their own (the ledger is append-only, so nothing could be rolled back after)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import make_url

from devtools.databases import recreate_database
from lending import migrations
from lending.commissions.accrual import accrual_service
from lending.commissions.payout_batches import payout_batch_service
from lending.config import Settings
from lending.db import create_engine, create_sessionmaker, libpq_url, transaction
from lending.models.identity import Role
from tests.commissions.factories import create_loan, create_rule
from tests.identity.factories import actor_of, create_organization, create_user

OMNIFIN = str(Path(sys.executable).parent / "omnifin")
DATABASE = "omnifin_cli_commissions"


@pytest.fixture
def cli_database(server_url: str) -> Iterator[str]:
    url = recreate_database(server_url, DATABASE)
    migrations.upgrade(url)
    yield url
    admin = make_url(libpq_url(server_url)).set(database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


def _omnifin(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIFIN_")}
    env["OMNIFIN_DATABASE_URL"] = url
    return subprocess.run(
        [OMNIFIN, "commissions", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_trail_batch_and_export(
    cli_database: str, settings: Settings, tmp_path: Path
) -> None:
    engine = create_engine(settings, cli_database)
    sessionmaker = create_sessionmaker(engine)
    try:
        async with transaction(sessionmaker) as session:
            maker = await create_user(session, role=Role.PLATFORM_ADMIN)
            checker = await create_user(session, role=Role.PLATFORM_ADMIN)
            firm = await create_organization(session)
            broker = await create_user(session, organization=firm, role=Role.BROKER)
            await create_rule(session, maker, upfront_percent="0.70", trail_percent="0.20")
            await create_loan(
                session, firm, broker=broker, amount="600000.00", outstanding="580000.00"
            )
            await accrual_service.accrue_pending(session)

        trail = _omnifin(cli_database, "accrue-trail", "--month", "2026-03")
        assert trail.returncode == 0, trail.stderr
        assert json.loads(trail.stdout) == {"month": "2026-03", "entries_written": 1}
        again = _omnifin(cli_database, "accrue-trail", "--month", "2026-03")
        assert json.loads(again.stdout)["entries_written"] == 0

        made = _omnifin(cli_database, "batch", "--as", maker.email, "--cutoff", "2026-12-31")
        assert made.returncode == 0, made.stderr
        batch = json.loads(made.stdout)
        assert batch["total_amount"] == "4296.67"  # 4,200.00 upfront + 96.67 trail
        refused = _omnifin(cli_database, "export", batch["id"], "--as", checker.email)
        assert refused.returncode == 1
        assert "approved" in refused.stderr

        async with transaction(sessionmaker) as session:
            await payout_batch_service.approve_batch(
                session, actor_of(checker), batch_id=uuid.UUID(batch["id"])
            )
        out = tmp_path / "payout"
        exported = _omnifin(
            cli_database, "export", batch["id"], "--as", checker.email, "--out", str(out)
        )
        assert exported.returncode == 0, exported.stderr
        files = sorted(path.name for path in out.iterdir())
        assert files == sorted(
            [f"payout-{batch['id']}.csv", f"statement-{batch['id']}-{broker.id}.pdf"]
        )
        assert "4296.67" in (out / f"payout-{batch['id']}.csv").read_text()
        assert (out / f"statement-{batch['id']}-{broker.id}.pdf").read_bytes().startswith(b"%PDF")
        bad = _omnifin(cli_database, "accrue-trail", "--month", "March")
        assert bad.returncode == 1
        assert "2026-11" in bad.stderr
    finally:
        await engine.dispose()
