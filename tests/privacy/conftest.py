"""Fixtures of the privacy tests: a committed database of their own (backups and pg_dump see
only committed data), with a document folder of the test's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from pydantic import SecretStr

from devtools.databases import drop_database, recreate_database
from lending import migrations
from lending.config import Settings
from lending.db import libpq_url
from tests.documents.conftest import doc_client as doc_client  # noqa: F401 - fixtures
from tests.documents.conftest import doc_settings as doc_settings  # noqa: F401

LIVE = "omnifin_backup_live"


@pytest.fixture
def live(server_url: str, settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    url = recreate_database(server_url, LIVE)
    migrations.upgrade(url)
    yield settings.model_copy(
        update={
            "database_url": SecretStr(url),
            "documents_dir": tmp_path / "documents",
            "erasure_ledger_path": tmp_path / "erasures.jsonl",
        }
    )
    drop_database(server_url, LIVE)
    with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
        for (name,) in conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{LIVE}_%",)
        ).fetchall():
            drop_database(server_url, name)


def live_url(settings: Settings) -> str:
    assert settings.database_url is not None
    return settings.database_url.get_secret_value()
