"""`omnifin documents rotate-key` and `omnifin documents sweep` as an operator runs them: real
processes against a committed database of their own, and a folder of stored documents."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from devtools.databases import recreate_database
from lending import crypto, migrations
from lending.config import Settings
from lending.db import SessionMaker, create_engine, create_sessionmaker, transaction
from lending.documents.service import document_service, field_context, text_context
from lending.documents.storage import LocalBlobStore, StorageError
from lending.models.documents import Document, DocumentField
from lending.models.identity import User
from tests.documents.factories import create_document
from tests.documents.files import pdf_bytes
from tests.identity.factories import actor_of
from tests.lending.factories import create_borrower

OMNIFIN = str(Path(sys.executable).parent / "omnifin")
OLD_KEY = "the-old-master-key-of-2025-retired"
NEW_KEY = "the-new-master-key-of-2026-current"


@pytest.fixture(scope="module")
def url(server_url: str) -> str:
    url = recreate_database(server_url, "omnifin_documents_cli")
    migrations.upgrade(url)
    return url


@pytest.fixture
def old_settings(url: str, tmp_path: Path) -> Settings:
    return Settings(
        environment="test",
        state_dir=tmp_path / "state",
        database_url=url,  # type: ignore[arg-type]
        documents_dir=tmp_path / "documents",
        encryption_key=SecretStr(OLD_KEY),
    )


@pytest.fixture
async def engine_for_cli(old_settings: Settings, url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(old_settings, url)
    yield engine
    await engine.dispose()


def _omnifin(
    *args: str, settings: Settings, previous: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIFIN_")}
    assert settings.database_url is not None
    assert settings.encryption_key is not None
    env.update(
        OMNIFIN_ENVIRONMENT="test",
        OMNIFIN_DATABASE_URL=settings.database_url.get_secret_value(),
        OMNIFIN_STATE_DIR=str(settings.state_dir),
        OMNIFIN_DOCUMENTS_DIR=str(settings.documents_dir),
        OMNIFIN_ENCRYPTION_KEY=settings.encryption_key.get_secret_value(),
        OMNIFIN_ENCRYPTION_PREVIOUS_KEYS=json.dumps(previous or []),
    )
    return subprocess.run(
        [OMNIFIN, "documents", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def _borrower(sessionmaker: SessionMaker, settings: Settings) -> User:
    async with transaction(sessionmaker) as session:
        return await create_borrower(session, settings, complete=False)


async def test_rotate_key_rewraps_documents_so_the_old_key_is_no_longer_needed(
    old_settings: Settings, engine_for_cli: AsyncEngine
) -> None:
    sessionmaker = create_sessionmaker(engine_for_cli)
    new_only = old_settings.model_copy(update={"encryption_key": SecretStr(NEW_KEY)})
    content = pdf_bytes("pay stub of Jordan Rivera")
    user = await _borrower(sessionmaker, old_settings)
    sealer = crypto.encryptor(old_settings)
    async with transaction(sessionmaker) as session:
        document_id = await create_document(session, old_settings, user, None, content=content)
        document = await session.get(Document, document_id)
        assert document is not None
        document.text_encrypted = sealer.encrypt(b"extracted text", text_context(document_id))
        session.add(
            DocumentField(
                document_id=document_id,
                name="id_number",
                value_kind="text",
                value_encrypted=sealer.encrypt(
                    b"D1234567", field_context(document_id, "id_number")
                ),
                sensitive=True,
                confidence=Decimal("0.9"),
            )
        )
    old_key_id = document.key_id
    stored_file = LocalBlobStore(old_settings.documents_dir or Path()).path(document_id.hex)
    stored_bytes = stored_file.read_bytes()

    async def read_back(settings: Settings) -> bytes:
        async with sessionmaker() as session:
            _, stream = await document_service.download(
                session, actor_of(user), document_id=document_id, settings=settings
            )
            return b"".join([piece async for piece in stream])

    with pytest.raises(StorageError):
        await read_back(new_only)  # before rotation the new key alone cannot open it
    refused = _omnifin("rotate-key", settings=new_only)
    assert refused.returncode == 1
    assert "does not open with the configured keys" in refused.stderr

    rotated = _omnifin("rotate-key", "--batch", "1", settings=new_only, previous=[OLD_KEY])
    again = _omnifin("rotate-key", settings=new_only, previous=[OLD_KEY])

    assert rotated.returncode == 0, rotated.stderr
    assert rotated.stdout.startswith("Re-wrapped the keys of 1 documents")
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("Re-wrapped the keys of 0 documents")
    assert await read_back(new_only) == content
    async with sessionmaker() as session:
        document = await session.get(Document, document_id)
        field = await session.scalar(
            select(DocumentField).where(DocumentField.document_id == document_id)
        )
    assert document is not None
    assert field is not None
    assert document.key_id != old_key_id
    opener = crypto.encryptor(new_only)
    assert document.text_encrypted is not None
    assert field.value_encrypted is not None
    assert opener.decrypt(document.text_encrypted, text_context(document_id)) == b"extracted text"
    assert opener.decrypt(field.value_encrypted, field_context(document_id, "id_number")) == (
        b"D1234567"
    )
    assert stored_file.read_bytes() == stored_bytes  # the file itself was not rewritten


def _age(path: Path, hours: float) -> None:
    then = (datetime.now(UTC) - timedelta(hours=hours)).timestamp()
    os.utime(path, (then, then))


async def test_sweep_reports_then_removes_old_leftovers_and_keeps_the_rest(
    old_settings: Settings, engine_for_cli: AsyncEngine
) -> None:
    sessionmaker = create_sessionmaker(engine_for_cli)
    store = LocalBlobStore(old_settings.documents_dir or Path())
    user = await _borrower(sessionmaker, old_settings)
    async with transaction(sessionmaker) as session:
        kept_id = await create_document(session, old_settings, user, None)
    orphan = document_service.receiver(old_settings, store)
    await orphan.feed(pdf_bytes("never registered"))
    orphan_key = (await orphan.finish()).storage_key
    young = document_service.receiver(old_settings, store)
    await young.feed(pdf_bytes("registering right now"))
    young_key = (await young.finish()).storage_key
    dead = document_service.receiver(old_settings, store)
    await dead.feed(b"%PDF-" + os.urandom(10_000))
    (partial,) = store.root.glob("*/.*.part")
    for path in (store.path(kept_id.hex), store.path(orphan_key), partial):
        _age(path, 2)
    orphan_bytes = store.path(orphan_key).stat().st_size
    partial_bytes = partial.stat().st_size

    dry = _omnifin("sweep", "--dry-run", settings=old_settings)

    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith(
        f"Would remove 1 unfinished uploads ({partial_bytes} bytes) and 1 stored files no "
        f"document references ({orphan_bytes} bytes)"
    )
    assert "left 0 unfinished uploads and 1 unreferenced files younger" in dry.stdout
    assert partial.exists()
    assert store.path(orphan_key).exists()

    swept = _omnifin("sweep", settings=old_settings)

    assert swept.returncode == 0, swept.stderr
    assert swept.stdout.startswith(
        f"Removed 1 unfinished uploads ({partial_bytes} bytes) and 1 stored files"
    )
    assert "documents.sweep" in swept.stderr  # the log line, with the same counts
    assert f"orphan_bytes={orphan_bytes}" in swept.stderr
    assert not partial.exists()
    assert not store.path(orphan_key).exists()
    assert store.path(young_key).exists()
    assert store.path(kept_id.hex).exists()
