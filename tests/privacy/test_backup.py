"""Backups: create -> wipe -> restore gives back the same applications, ledger, documents (same
plaintext bytes) and conversations; a damaged or mismatched archive is refused and changes
nothing; an archive from an older schema is migrated on restore. On committed databases of their
own (the shared test database rolls every test back)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
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
from lending.backups.archive import (
    BackupError,
    check_archive,
    create_backup,
    pg_program,
    restore_backup,
)
from lending.config import Settings
from lending.db import create_engine, create_sessionmaker, libpq_url, transaction
from lending.documents.service import document_service
from lending.kv import MemoryStore
from lending.models.applications import Application
from lending.models.audit import AuditEvent
from lending.models.chat import ChatMessage
from lending.models.commissions import CommissionEntry, FundedLoan
from lending.models.identity import User
from lending.models.privacy import ErasureRequest
from lending.privacy.ledger import ledger_path, read_ledger
from lending.privacy.restore import reapply_from_ledger, restore_keeping_erasures
from lending.privacy.schemas import ErasureRequestCreate, ErasureReview
from lending.privacy.service import privacy_service
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


async def _erase(settings: Settings, world: World) -> str:
    """The borrower asks, another admin approves: the erasure runs and commits."""
    engine = create_engine(settings, _url(settings))
    sessionmaker = create_sessionmaker(engine)
    try:
        async with transaction(sessionmaker) as session:
            request = await privacy_service.request_erasure(
                session, actor_of(world.borrower), data=ErasureRequestCreate(reason="forget me")
            )
        async with transaction(sessionmaker) as session:
            done = await privacy_service.review(
                session,
                actor_of(world.admin),
                request_id=request.id,
                data=ErasureReview(approve=True),
                settings=settings,
                store=MemoryStore(),
            )
            assert done.pseudonym is not None
            return done.pseudonym
    finally:
        await engine.dispose()


@pytest.mark.parametrize("kept_by", ["the ledger file", "the database replaced"])
async def test_restoring_a_backup_older_than_an_erasure_does_not_bring_the_person_back(
    live: Settings, server_url: str, tmp_path: Path, kept_by: str
) -> None:
    world = await _populate(live)
    archive = create_backup(live, _url(live), tmp_path / "backups").path
    pseudonym = await _erase(live, world)
    ledger = ledger_path(live)
    assert [r.pseudonym for r in read_ledger(ledger)] == [pseudonym], "written once committed"
    if kept_by == "the ledger file":
        _wipe(server_url, live)  # the database is lost: only the file remembers
    else:
        ledger.unlink()  # the file is lost: the database being replaced remembers

    restored = await asyncio.to_thread(restore_keeping_erasures, live, _url(live), archive)

    assert restored.erasures_reapplied == 1
    dump = await asyncio.to_thread(_plain_dump, _url(live))
    left = [value for value in world.personal_values if value in dump]
    assert left == [], f"the restore brought back {left}"
    assert live.documents_dir is not None
    assert [p for p in live.documents_dir.rglob("*") if p.is_file()] == [], "files shredded"
    engine = create_engine(live, _url(live))
    try:
        async with create_sessionmaker(engine)() as session:
            user = await session.get(User, world.borrower.id)
            assert user is not None
            assert (user.full_name, user.is_active) == (pseudonym, False)
            loan = await session.get(FundedLoan, world.loan_id)
            assert loan is not None
            assert loan.borrower_name == pseudonym
            requests = (
                await session.scalars(
                    select(ErasureRequest).where(ErasureRequest.status == "completed")
                )
            ).all()
            assert [(r.subject_user_id, r.pseudonym) for r in requests] == [
                (world.borrower.id, pseudonym)
            ]
            actions = list(await session.scalars(select(AuditEvent.action)))
            assert "privacy.erasure_reapplied" in actions
            assert (await verify_chain(session)).intact
    finally:
        await engine.dispose()
    # Both records agree again, and restoring once more re-applies nothing.
    assert [r.pseudonym for r in read_ledger(ledger)] == [pseudonym]
    again = await asyncio.to_thread(restore_keeping_erasures, live, _url(live), archive)
    assert again.erasures_reapplied == 1  # the archive still predates the erasure
    newer = create_backup(live, _url(live), tmp_path / "newer").path
    latest = await asyncio.to_thread(restore_keeping_erasures, live, _url(live), newer)
    assert latest.erasures_reapplied == 0


def _plain_dump(url: str) -> str:
    done = subprocess.run(
        [pg_program("pg_dump"), "--format=plain", "--data-only", f"--dbname={libpq_url(url)}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


async def test_after_a_recovery_that_skips_them_the_ledger_reapplies_erasures(
    live: Settings, tmp_path: Path
) -> None:
    """A production point-in-time recovery is the server's own: afterwards
    `omnifin backup reapply-erasures` carries the ledger's erasures out again."""
    world = await _populate(live)
    archive = create_backup(live, _url(live), tmp_path / "backups").path
    pseudonym = await _erase(live, world)
    # Restored without the re-application (as a server's own recovery would): the person is back.
    await asyncio.to_thread(restore_backup, live, _url(live), archive)
    assert world.personal_values[2] in await asyncio.to_thread(_plain_dump, _url(live))

    assert await asyncio.to_thread(reapply_from_ledger, live, _url(live)) == 1
    dump = await asyncio.to_thread(_plain_dump, _url(live))
    assert [value for value in world.personal_values if value in dump] == []
    assert pseudonym in dump
    assert await asyncio.to_thread(reapply_from_ledger, live, _url(live)) == 0
