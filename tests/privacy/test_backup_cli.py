"""`omnifin backup create` and `omnifin backup restore` as an operator runs them: separate
processes, the settings from the environment, one-sentence refusals with exit status 1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from lending.config import Settings
from lending.db import create_engine, create_sessionmaker, transaction
from tests.conftest import TEST_STATE_DIR
from tests.privacy.conftest import live_url
from tests.privacy.world import build_world

OMNIFIN = str(Path(sys.executable).parent / "omnifin")


def _omnifin(*args: str, settings: Settings) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIFIN_")}
    assert settings.documents_dir is not None
    env.update(
        OMNIFIN_DATABASE_URL=live_url(settings),
        OMNIFIN_STATE_DIR=str(TEST_STATE_DIR),
        OMNIFIN_ENVIRONMENT="test",
        OMNIFIN_DOCUMENTS_DIR=str(settings.documents_dir),
    )
    return subprocess.run(
        [OMNIFIN, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


async def test_the_commands_create_refuse_and_restore(live: Settings, tmp_path: Path) -> None:
    engine = create_engine(live, live_url(live))
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            await build_world(session, live)
    finally:
        await engine.dispose()

    created = _omnifin("backup", "create", "--out", str(tmp_path / "out"), settings=live)
    assert created.returncode == 0, created.stderr
    assert "Backup written" in created.stdout
    (archive,) = (tmp_path / "out").glob("omnifin-backup-*.tar")

    cut = tmp_path / "cut.tar"
    raw = archive.read_bytes()
    cut.write_bytes(raw[: len(raw) // 2])  # a copy interrupted halfway
    refused = _omnifin("backup", "restore", str(cut), settings=live)
    assert refused.returncode == 1
    assert "Restore refused: The archive is damaged" in refused.stderr
    assert "Traceback" not in refused.stderr

    restored = _omnifin("backup", "restore", str(archive), settings=live)
    assert restored.returncode == 0, restored.stderr
    assert "1 documents" in restored.stdout
    assert "previous state is kept" in restored.stdout
