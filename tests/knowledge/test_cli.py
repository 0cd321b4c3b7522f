"""`omnifin knowledge ingest|search` as an operator runs them, on a committed database of their own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.databases import recreate_database
from lending import migrations
from tests.conftest import TEST_STATE_DIR

OMNIFIN = str(Path(sys.executable).parent / "omnifin")


@pytest.fixture(scope="module")
def url(server_url: str) -> str:
    url = recreate_database(server_url, "omnifin_knowledge_cli")
    migrations.upgrade(url)
    return url


def omnifin(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIFIN_")}
    env.update(
        OMNIFIN_DATABASE_URL=url,
        OMNIFIN_STATE_DIR=str(TEST_STATE_DIR),
        OMNIFIN_ENVIRONMENT="test",
        OMNIFIN_KNOWLEDGE_EMBEDDER="fake",
    )
    return subprocess.run(
        [OMNIFIN, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_ingest_a_folder_then_search_it(url: str, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    (docs / "zh").mkdir(parents=True)
    (docs / "fees.md").write_text(
        "---\ncategory: fees\n---\n# Fees\n\n## Late payment\n\nA late fee of $29 applies.\n"
    )
    (docs / "zh" / "fees.md").write_text("# 费用\n\n逾期15天后收取29美元滞纳金。\n")
    (docs / "empty.txt").write_text("")
    (docs / "notes.rtf").write_text("skipped: not a supported type")

    first = omnifin("knowledge", "ingest", str(docs), url=url)

    records = [json.loads(line) for line in first.stdout.splitlines()]
    assert first.returncode == 1, first.stderr  # one file failed
    assert {r["file"].removeprefix(str(docs) + "/"): r["outcome"] for r in records} == {
        "empty.txt": "error",
        "fees.md": "created",
        "zh/fees.md": "created",
    }
    assert {r.get("key") for r in records if r["outcome"] == "created"} == {"fees", "zh/fees"}
    assert "Ingesting" in first.stderr
    assert "1 of 3 files could not be ingested" in first.stderr

    again = omnifin("knowledge", "ingest", str(docs / "fees.md"), url=url)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["outcome"] == "unchanged"

    search = omnifin("knowledge", "search", "late fee", "--k", "1", url=url)
    assert search.returncode == 0, search.stderr
    [hit] = json.loads(search.stdout)
    assert hit["title"] == "Fees"
    assert hit["heading_path"] == ["Fees", "Late payment"]
    assert hit["version"] == 1
    assert set(hit) >= {"entry_id", "title", "version", "heading_path", "text", "score"}

    chinese = omnifin("knowledge", "search", "滞纳金", "--lang", "zh", url=url)
    assert [h["language"] for h in json.loads(chinese.stdout)] == ["zh"]


def test_background_ingest_only_enqueues(url: str, tmp_path: Path) -> None:
    path = tmp_path / "timeline.md"
    path.write_text("# Timeline\n\nFunds arrive in two business days.\n")

    result = omnifin("knowledge", "ingest", "--background", str(path), url=url)

    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert (record["outcome"], record["ingest_status"]) == ("queued", "pending")
    assert record["job_id"] > 0


def test_a_bad_option_is_one_sentence(url: str, tmp_path: Path) -> None:
    result = omnifin("knowledge", "search", "fee", "--lang", "fr", url=url)
    assert result.returncode != 0
    assert "--lang must be en or zh" in result.stderr
