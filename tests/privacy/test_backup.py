"""Backups: create -> wipe -> restore gives back the same applications, ledger, documents (same
plaintext bytes) and conversations; a damaged or mismatched archive is refused and changes
nothing; an archive from an older schema is migrated on restore. On committed databases of their
own (the shared test database rolls every test back)."""

from __future__ import annotations

import asyncio
import shutil
import tarfile
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alembic.script import ScriptDirectory
from pydantic import SecretStr
from sqlalchemy import select, text

from devtools.databases import recreate_database
from lending import migrations
from lending.audit.service import verify_chain
from lending.backups.archive import BackupError, check_archive, create_backup, restore_backup
from lending.config import Settings
from lending.db import create_engine, create_sessionmaker, libpq_url, transaction
from lending.documents.service import document_service
from lending.models.applications import Application
from lending.models.chat import ChatMessage
from lending.models.commissions import CommissionEntry
from tests.identity.factories import actor_of
from tests.privacy.conftest import LIVE
from tests.privacy.conftest import live_url as _url
from tests.privacy.world import World, build_world


def _before(revision: str | None) -> str:
    script = ScriptDirectory.from_config(migrations.alembic_config(""))
    assert revision is not None
    down = script.get_revision(revision).down_revision
    assert isinstance(down, str)
    return down


async def _populate(settings: Settings) -> World:
    engine = create_engine(settings, _url(settings))
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            return await build_world(session, settings)
    finally:
        await engine.dispose()


async def _state(settings: Settings, world: World) -> dict[str, Any]:
    """What a person would check after a restore, read through the services where there are."""
    engine = create_engine(settings, _url(settings))
    try:
        async with create_sessionmaker(engine)() as session:
            applications = [
                (a.id, a.reference, a.status, a.amount, a.version)
                for a in await session.scalars(select(Application).order_by(Application.id))
            ]
            ledger = [
                (e.id, e.loan_id, e.party, e.amount, e.component)
                for e in await session.scalars(select(CommissionEntry).order_by(CommissionEntry.id))
            ]
            messages = [
                (m.thread_id, m.role, m.content)
                for m in await session.scalars(select(ChatMessage).order_by(ChatMessage.id))
            ]
            _, stream = await document_service.download(
                session, actor_of(world.borrower), document_id=world.document_id, settings=settings
            )
            plaintext = b"".join([chunk async for chunk in stream])
            await session.rollback()
            chain = await verify_chain(session)
        return {
            "applications": applications,
            "ledger": ledger,
            "messages": messages,
            "document": plaintext,
            "chain_intact": chain.intact,
            "chain_head": chain.head_hash,
        }
    finally:
        await engine.dispose()


def _wipe(server_url: str, settings: Settings) -> None:
    recreate_database(server_url, LIVE)
    assert settings.documents_dir is not None
    shutil.rmtree(settings.documents_dir)


async def test_create_wipe_restore_gives_everything_back(
    live: Settings, server_url: str, tmp_path: Path
) -> None:
    world = await _populate(live)
    before = await _state(live, world)
    assert before["ledger"], "the world has commission ledger entries"
    assert before["document"] == world.document_bytes

    result = create_backup(live, _url(live), tmp_path / "backups")
    manifest = check_archive(result.path, live)
    assert manifest["documents"] == 1
    assert manifest["key_ids"], "the archive names the master keys it needs"
    secret = live.secret("encryption_key").get_secret_value()
    assert secret.encode() not in result.path.read_bytes(), "never the keys themselves"
    assert world.document_bytes not in result.path.read_bytes(), "documents stay encrypted"

    _wipe(server_url, live)
    restored = await asyncio.to_thread(restore_backup, live, _url(live), result.path)

    assert restored.revision_now == migrations.head_revision()
    after = await _state(live, world)
    assert after == before
    assert after["chain_intact"]


async def test_a_damaged_archive_is_refused_and_changes_nothing(
    live: Settings, tmp_path: Path
) -> None:
    world = await _populate(live)
    result = create_backup(live, _url(live), tmp_path / "backups")
    damaged = tmp_path / "damaged.tar"
    raw = bytearray(result.path.read_bytes())
    with tarfile.open(result.path) as tar:
        member = next(m for m in tar.getmembers() if m.name.startswith("documents/"))
    raw[member.offset_data + 10] ^= 0xFF  # one byte of the encrypted document
    damaged.write_bytes(bytes(raw))
    # Something changes after the backup, so that a half-restore would show.
    engine = create_engine(live, _url(live))
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE loan_application SET amount = 4321"))
    await engine.dispose()

    with pytest.raises(BackupError, match=r"damaged: documents/[0-9a-f]{32} does not match"):
        await asyncio.to_thread(restore_backup, live, _url(live), damaged)

    state = await _state(live, world)
    assert {row[3] for row in state["applications"]} == {4321}
    with psycopg.connect(libpq_url(_url(live)).rsplit("/", 1)[0] + "/postgres") as conn:
        leftovers = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{LIVE}_%",)
        ).fetchall()
    assert leftovers == []


async def test_an_archive_needing_a_key_that_is_not_configured_is_refused(
    live: Settings, tmp_path: Path
) -> None:
    await _populate(live)
    result = create_backup(live, _url(live), tmp_path / "backups")
    other = live.model_copy(
        update={"encryption_key": SecretStr("another key"), "encryption_previous_keys": []}
    )
    with pytest.raises(BackupError, match="needs master key ids"):
        await asyncio.to_thread(restore_backup, other, _url(live), result.path)


async def test_what_is_not_a_backup_is_refused(live: Settings, tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.tar"
    with tarfile.open(bogus, "w") as tar:
        tar.add(__file__, arcname="database.dump")
    with pytest.raises(BackupError, match="not an Omnifin backup"):
        await asyncio.to_thread(restore_backup, live, _url(live), bogus)
    truncated = tmp_path / "truncated.tar"
    truncated.write_bytes(b"\x00" * 100)
    with pytest.raises(BackupError):
        await asyncio.to_thread(restore_backup, live, _url(live), truncated)


async def test_an_archive_from_an_older_schema_is_migrated_on_restore(
    server_url: str, live: Settings, tmp_path: Path
) -> None:
    head = migrations.head_revision()
    older = _before(head)
    url = recreate_database(server_url, LIVE)
    await asyncio.to_thread(migrations.upgrade, url, older)
    result = create_backup(live, url, tmp_path / "backups")
    assert result.revision == older
    restored = await asyncio.to_thread(restore_backup, live, url, result.path)
    assert restored.revision_in_archive == older
    assert restored.revision_now == head
    assert migrations.current_revision(url) == migrations.head_revision()
