"""The storage sweeper on both backends (a folder, and moto's S3 server over HTTP), against
committed data on real connections: unfinished uploads and unreferenced files older than the
grace period go; an upload in flight (partial, or stored with its row not yet committed) and
every referenced file stay; the report counts what went, in files and bytes."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncEngine

from lending.config import Settings, get_settings
from lending.db import SessionMaker, create_sessionmaker, transaction
from lending.documents import tasks
from lending.documents.service import document_service
from lending.documents.storage import LocalBlobStore, S3BlobStore, blob_store
from lending.documents.sweep import sweep
from lending.documents.upload import Receiver
from lending.jobs import enqueue, open_queue, queue
from lending.jobs.runtime import dispose_job_engines
from lending.models.documents import Document
from lending.models.identity import User
from tests.documents.conftest import s3_bucket_settings
from tests.documents.factories import create_document
from tests.identity.factories import actor_of
from tests.lending.factories import create_borrower

# An S3 part is 8 MiB: an unfinished upload exists in the bucket once a part is sent.
_PARTIAL_BYTES = {"local": 3 * 4096, "s3": 9 * 1_048_576}


@pytest.fixture(params=["local", "s3"])
def backend_settings(request: pytest.FixtureRequest, doc_settings: Settings) -> Settings:
    settings = doc_settings.model_copy(update={"documents_chunk_bytes": 4096})
    if request.param == "s3":
        return s3_bucket_settings(settings, request.getfixturevalue("s3_server"))
    return settings


@pytest.fixture
async def committed(engine: AsyncEngine) -> AsyncIterator[tuple[SessionMaker, list[uuid.UUID]]]:
    """Sessions on their own connections (commits are real); rows of the listed users and
    their documents are deleted afterwards."""
    users: list[uuid.UUID] = []
    yield create_sessionmaker(engine), users
    async with engine.begin() as connection:
        for user_id in users:
            await connection.execute(
                delete(Document).where(Document.uploaded_by_user_id == user_id)
            )
            await connection.execute(delete(User).where(User.id == user_id))


def _pdf(size: int) -> bytes:
    return b"%PDF-" + os.urandom(size - 5)


async def _feed(receiver: Receiver, content: bytes) -> None:
    for start in range(0, len(content), 1_048_576):
        await receiver.feed(content[start : start + 1_048_576])


def _object_size(store: LocalBlobStore | S3BlobStore, key: str) -> int | None:
    """The stored file's size, read past the code under test; None when there is none."""
    if isinstance(store, LocalBlobStore):
        path = store.path(key)
        return path.stat().st_size if path.exists() else None
    listing = store.client.list_objects_v2(Bucket=store.bucket, Prefix=store.object_key(key))
    sizes = [item["Size"] for item in listing.get("Contents", [])]
    return sizes[0] if sizes else None


def _partial_sizes(store: LocalBlobStore | S3BlobStore) -> dict[str, int]:
    """Unfinished uploads by storage key, with their bytes so far."""
    if isinstance(store, LocalBlobStore):
        return {
            path.name.split(".")[1]: path.stat().st_size for path in store.root.glob("*/.*.part")
        }
    sizes: dict[str, int] = {}
    for upload in store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", []):
        parts = store.client.list_parts(
            Bucket=store.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
        )
        key = upload["Key"].removeprefix(store.prefix)
        sizes[key] = sum(part["Size"] for part in parts.get("Parts", []))
    return sizes


async def _read_back(
    sessionmaker: SessionMaker, settings: Settings, user: User, document_id: uuid.UUID
) -> bytes:
    async with sessionmaker() as session:
        _, stream = await document_service.download(
            session, actor_of(user), document_id=document_id, settings=settings
        )
        return b"".join([piece async for piece in stream])


async def test_the_sweeper_removes_old_leftovers_and_spares_uploads_in_flight(
    backend_settings: Settings, committed: tuple[SessionMaker, list[uuid.UUID]]
) -> None:
    settings = backend_settings
    sessionmaker, users = committed
    store = blob_store(settings)
    assert isinstance(store, LocalBlobStore | S3BlobStore)
    grace = timedelta(seconds=settings.documents_sweep_grace_seconds)
    async with transaction(sessionmaker) as session:
        user = await create_borrower(session, settings, complete=False)
    users.append(user.id)

    # Before the cut-off: a registered document, a file stored whose row never committed
    # (the process died), and an upload that died mid-way.
    kept_content = _pdf(5000)
    async with transaction(sessionmaker) as session:
        kept_id = await create_document(session, settings, user, None, content=kept_content)
    orphaned = document_service.receiver(settings, store)
    await _feed(orphaned, _pdf(9000))
    orphan_key = (await orphaned.finish()).storage_key
    dead = document_service.receiver(settings, store)
    await _feed(dead, _pdf(_PARTIAL_BYTES[store.name]))
    dead_partials = _partial_sizes(store)
    assert list(dead_partials) == [dead.storage_key]
    orphan_bytes = _object_size(store, orphan_key)
    assert orphan_bytes

    # Nothing is old yet by the real clock: nothing goes.
    early = await sweep(sessionmaker, store, grace=grace)
    assert (early.partial_uploads, early.orphans) == (0, 0)
    assert (early.young_partial_uploads, early.young_unreferenced) == (1, 1)

    # The cut-off, with a second either side (S3 keeps whole seconds).
    await asyncio.sleep(1.1)
    cutoff = datetime.now(UTC)
    await asyncio.sleep(1.1)

    # After it, uploads in flight: one still streaming, one stored with its row not committed.
    streaming_content = _pdf(_PARTIAL_BYTES[store.name] + 777)
    streaming = document_service.receiver(settings, store)
    await _feed(streaming, streaming_content[:-777])
    pending_content = _pdf(6000)
    pending = document_service.receiver(settings, store)
    await _feed(pending, pending_content)
    pending_received = await pending.finish()
    async with sessionmaker() as uploading:
        pending_read = await document_service.register(
            uploading,
            actor_of(user),
            received=pending_received,
            filename="pending.pdf",
            application_id=None,
            declared_type=None,
            settings=settings,
        )
        await uploading.flush()

        dry = await sweep(sessionmaker, store, grace=grace, now=cutoff + grace, dry_run=True)
        assert (dry.partial_uploads, dry.partial_bytes) == (1, dead_partials[dead.storage_key])
        assert (dry.orphans, dry.orphan_bytes) == (1, orphan_bytes)
        assert _object_size(store, orphan_key) == orphan_bytes
        assert dead.storage_key in _partial_sizes(store)

        report = await sweep(sessionmaker, store, grace=grace, now=cutoff + grace)
        await uploading.commit()

    assert report.dry_run is False
    assert (report.partial_uploads, report.partial_bytes) == (1, dead_partials[dead.storage_key])
    assert (report.orphans, report.orphan_bytes) == (1, orphan_bytes)
    assert (report.young_partial_uploads, report.young_unreferenced) == (1, 1)
    assert _object_size(store, orphan_key) is None
    assert set(_partial_sizes(store)) == {streaming.storage_key}

    # Both uploads in flight complete and read back; the old document is untouched.
    await streaming.feed(streaming_content[-777:])
    streaming_received = await streaming.finish()
    async with transaction(sessionmaker) as session:
        streaming_read = await document_service.register(
            session,
            actor_of(user),
            received=streaming_received,
            filename="streaming.pdf",
            application_id=None,
            declared_type=None,
            settings=settings,
        )
    assert await _read_back(sessionmaker, settings, user, kept_id) == kept_content
    assert await _read_back(sessionmaker, settings, user, pending_read.id) == pending_content
    assert await _read_back(sessionmaker, settings, user, streaming_read.id) == streaming_content

    # Everything left is referenced: even a sweep that finds it all old removes nothing.
    later = await sweep(sessionmaker, store, grace=grace, now=datetime.now(UTC) + 2 * grace)
    assert (later.partial_uploads, later.orphans) == (0, 0)
    assert _partial_sizes(store) == {}


async def test_files_that_are_not_document_files_are_never_swept(
    doc_settings: Settings, committed: tuple[SessionMaker, list[uuid.UUID]]
) -> None:
    sessionmaker, _ = committed
    root = doc_settings.documents_dir
    assert root is not None
    store = LocalBlobStore(root)
    strangers = [root / "README", root / "ab" / "notes.txt", root / "ab" / ("cd" + "0" * 30)]
    for path in strangers:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"not ours")
        os.utime(path, (0, 0))

    report = await sweep(sessionmaker, store, grace=timedelta(hours=1))

    assert (report.partial_uploads, report.orphans) == (0, 0)
    assert all(path.exists() for path in strangers)


async def test_a_real_worker_runs_the_hourly_sweep_job(
    doc_settings: Settings,
    database_url: str,
    committed: tuple[SessionMaker, list[uuid.UUID]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    periodic = queue.periodic_registry.periodic_tasks[(tasks.SWEEP_TASK, "hourly")]
    assert periodic.cron == "41 * * * *"
    assert periodic.task.queue == "maintenance"
    # The job reads the process settings, as a deployed worker does.
    monkeypatch.setenv("OMNIFIN_ENVIRONMENT", "test")
    monkeypatch.setenv("OMNIFIN_DATABASE_URL", database_url)
    monkeypatch.setenv("OMNIFIN_STATE_DIR", str(doc_settings.state_dir))
    monkeypatch.setenv("OMNIFIN_DOCUMENTS_DIR", str(doc_settings.documents_dir))
    get_settings.cache_clear()
    sessionmaker, _ = committed
    store = LocalBlobStore(doc_settings.documents_dir or Path())
    orphan = document_service.receiver(doc_settings, store)
    await _feed(orphan, _pdf(5000))
    orphan_key = (await orphan.finish()).storage_key
    then = (datetime.now(UTC) - timedelta(hours=2)).timestamp()
    os.utime(store.path(orphan_key), (then, then))
    async with transaction(sessionmaker) as session:
        job_id = await enqueue(
            session,
            tasks.SWEEP_TASK,
            args={"timestamp": int(then)},
            queue_name="maintenance",
        )
    try:
        async with open_queue(database_url) as app:
            await app.run_worker_async(
                queues=["maintenance"], wait=False, install_signal_handlers=False
            )
        async with sessionmaker() as session:
            status = await session.scalar(
                text("SELECT status::text FROM procrastinate_jobs WHERE id = :id"), {"id": job_id}
            )
        assert status == "succeeded"
        assert not store.path(orphan_key).exists()
    finally:
        async with sessionmaker() as session, session.begin():
            await session.execute(
                text("DELETE FROM procrastinate_jobs WHERE id = :id"), {"id": job_id}
            )
        await dispose_job_engines()
        get_settings.cache_clear()
