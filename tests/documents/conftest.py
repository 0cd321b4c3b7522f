"""Fixtures of the documents tests: settings whose document folder is the test's own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from lending.config import Settings
from lending.db import SessionMaker
from lending.kv import MemoryStore
from tests.identity.factories import api_client


@pytest.fixture
def doc_settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(update={"documents_dir": tmp_path / "documents"})


@pytest.fixture
async def doc_client(
    doc_settings: Settings, sessionmaker: SessionMaker, memory_store: MemoryStore
) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(doc_settings, sessionmaker, memory_store) as http:
        yield http
