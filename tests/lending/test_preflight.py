"""Start-up against a PostgreSQL without pgvector (the machine's PostgreSQL 15) or an unreachable
one: one clear sentence and a non-zero exit, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lending.db import DatabaseUnavailableError, preflight

# The python-svc machine runs PostgreSQL 15 without pgvector here (trust authentication).
PG15_WITHOUT_VECTOR = os.environ.get(
    "OMNIFIN_TEST_PLAIN_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
UNREACHABLE = "postgresql://postgres@127.0.0.1:1/omnifin"
OMNIFIN = str(Path(sys.executable).parent / "omnifin")


def test_preflight_accepts_a_server_with_pgvector(database_url: str) -> None:
    assert preflight(database_url).has_pgvector


def test_preflight_names_the_missing_extension_and_the_fix() -> None:
    with pytest.raises(DatabaseUnavailableError) as raised:
        preflight(PG15_WITHOUT_VECTOR)
    message = str(raised.value)
    assert "does not have the pgvector extension" in message
    assert "127.0.0.1:5432" in message
    assert "unset OMNIFIN_DATABASE_URL" in message


def _run(args: list[str], database_url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMNIFIN_DATABASE_URL": database_url, "OMNIFIN_STATE_DIR": str(tmp_path)}
    return subprocess.run(
        [OMNIFIN, *args], env=env, capture_output=True, text=True, timeout=240, check=False
    )


@pytest.mark.parametrize("command", [["serve", "--port", "1"], ["db", "upgrade"], ["worker"]])
def test_commands_exit_with_one_sentence_when_pgvector_is_missing(
    command: list[str], tmp_path: Path
) -> None:
    result = _run(command, PG15_WITHOUT_VECTOR, tmp_path)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "pgvector" in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def test_unreachable_server_is_one_sentence(tmp_path: Path) -> None:
    result = _run(["db", "upgrade"], UNREACHABLE, tmp_path)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Cannot connect to PostgreSQL at 127.0.0.1:1/omnifin")
