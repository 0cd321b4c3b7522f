"""Encrypted storage: chunked AES-GCM round trips, tampering and truncation detected, the S3
backend against a real S3 server over HTTP (moto's), and master-key rotation."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from evals.synthetic_documents import generate
from lending import crypto
from lending.config import Settings
from lending.documents.service import document_service, text_context
from lending.documents.storage import (
    LocalBlobStore,
    S3BlobStore,
    StorageError,
    open_sealed,
    unwrap_data_key,
)
from lending.documents.types import DocumentType
from lending.errors import PayloadTooLarge
from lending.models.documents import Document
from tests.documents.conftest import s3_bucket_settings
from tests.documents.factories import create_document
from tests.identity.factories import actor_of
from tests.lending.factories import create_application, create_borrower

CHUNK = 4096


async def _store(settings: Settings, store: object, content: bytes) -> tuple[uuid.UUID, bytes]:
    receiver = document_service.receiver(settings, store)  # type: ignore[arg-type]
    for start in range(0, len(content), 1000):
        await receiver.feed(content[start : start + 1000])
    received = await receiver.finish()
    return received.document_id, received.wrapped_key.sealed


async def _read(
    settings: Settings,
    store: LocalBlobStore | S3BlobStore,
    document_id: uuid.UUID,
    sealed_key: bytes,
    size: int,
) -> bytes:
    key = unwrap_data_key(settings, document_id, sealed_key)
    parts = [
        piece
        async for piece in open_sealed(
            store.read(document_id.hex), key, document_id, size_bytes=size, chunk_bytes=CHUNK
        )
    ]
    return b"".join(parts)


@pytest.fixture
def small_chunks(doc_settings: Settings) -> Settings:
    return doc_settings.model_copy(update={"documents_chunk_bytes": CHUNK})


@pytest.mark.parametrize("extra", [0, 1, CHUNK - 1], ids=["exact-chunks", "one-over", "short-last"])
async def test_a_file_round_trips_through_several_chunks(
    small_chunks: Settings, tmp_path: Path, extra: int
) -> None:
    store = LocalBlobStore(tmp_path)
    content = b"%PDF-" + os.urandom(3 * CHUNK + extra - 5)

    document_id, sealed = await _store(small_chunks, store, content)

    assert await _read(small_chunks, store, document_id, sealed, len(content)) == content
    raw = store.path(document_id.hex).read_bytes()
    assert len(raw) == len(content) + 16 * -(-len(content) // CHUNK)
    assert content[:64] not in raw


async def test_an_altered_truncated_or_moved_file_does_not_decrypt(
    small_chunks: Settings, tmp_path: Path
) -> None:
    store = LocalBlobStore(tmp_path)
    content = b"%PDF-" + os.urandom(3 * CHUNK)
    document_id, sealed = await _store(small_chunks, store, content)
    path = store.path(document_id.hex)
    original = path.read_bytes()

    altered = bytearray(original)
    altered[CHUNK + 20] ^= 1
    path.write_bytes(bytes(altered))
    with pytest.raises(StorageError):
        await _read(small_chunks, store, document_id, sealed, len(content))

    path.write_bytes(original[: 3 * (CHUNK + 16)])  # the last chunk dropped
    with pytest.raises(StorageError):
        await _read(small_chunks, store, document_id, sealed, len(content))

    path.write_bytes(original)
    other_id = uuid.uuid4()
    store.path(other_id.hex).parent.mkdir(parents=True, exist_ok=True)
    store.path(other_id.hex).write_bytes(original)
    with pytest.raises(StorageError):
        await _read(small_chunks, store, other_id, sealed, len(content))
    assert await _read(small_chunks, store, document_id, sealed, len(content)) == content


@pytest.fixture
def s3_settings(small_chunks: Settings, s3_server: str) -> Settings:
    return s3_bucket_settings(small_chunks, s3_server)


async def test_the_s3_backend_streams_a_large_file_in_parts_encrypted(
    s3_settings: Settings,
) -> None:
    store = S3BlobStore.from_settings(s3_settings)
    content = b"%PDF-" + os.urandom(9 * 1_048_576)  # more than one 8 MiB part

    document_id, sealed = await _store(s3_settings, store, content)

    stored = store.client.get_object(Bucket=store.bucket, Key=store.object_key(document_id.hex))
    raw = stored["Body"].read()
    assert len(raw) > len(content)
    assert content[:4096] not in raw
    assert await _read(s3_settings, store, document_id, sealed, len(content)) == content
    await store.delete(document_id.hex)
    assert not await store.exists(document_id.hex)


async def test_a_refused_upload_leaves_nothing_in_the_bucket(s3_settings: Settings) -> None:
    store = S3BlobStore.from_settings(s3_settings)
    settings = s3_settings.model_copy(update={"max_upload_bytes": 9 * 1_048_576})
    receiver = document_service.receiver(settings, store)
    block = b"%PDF-" + b"x" * (1_048_576 - 5)

    for _ in range(9):
        await receiver.feed(block)
    with pytest.raises(PayloadTooLarge):
        await receiver.feed(block)

    listing = store.client.list_objects_v2(Bucket=store.bucket)
    uploads = store.client.list_multipart_uploads(Bucket=store.bucket)
    assert listing.get("KeyCount", 0) == 0
    assert uploads.get("Uploads", []) == []


async def test_rotating_the_master_key_rewraps_keys_and_keeps_files_readable(
    session: AsyncSession, small_chunks: Settings
) -> None:
    borrower = await create_borrower(session, small_chunks)
    application = await create_application(session, borrower)
    stub = generate(DocumentType.PAY_STUB, seed=12)
    document_id = await create_document(
        session, small_chunks, borrower, application.id, content=stub.data
    )
    document = await session.get(Document, document_id)
    assert document is not None
    document.text_encrypted = crypto.encryptor(small_chunks).encrypt(
        b"pay stub text", text_context(document_id)
    )
    await session.flush()
    old_key_id = document.key_id
    old_secret = small_chunks.secret("encryption_key")
    rotated = small_chunks.model_copy(
        update={
            "encryption_key": SecretStr("a-brand-new-master-key-2026"),
            "encryption_previous_keys": [old_secret],
        }
    )
    only_new = rotated.model_copy(update={"encryption_previous_keys": []})

    with pytest.raises(StorageError):
        await document_service.download(
            session, actor_of(borrower), document_id=document_id, settings=only_new
        )
    first = await document_service.rotate_keys(session, settings=rotated)
    again = await document_service.rotate_keys(session, settings=rotated)
    summary, stream = await document_service.download(
        session, actor_of(borrower), document_id=document_id, settings=only_new
    )

    assert first >= 1
    assert again == 0
    await session.refresh(document)
    assert document.key_id != old_key_id
    assert b"".join([piece async for piece in stream]) == stub.data
    assert document.text_encrypted is not None
    opened = crypto.encryptor(only_new).decrypt(document.text_encrypted, text_context(document_id))
    assert opened == b"pay stub text"
    assert summary.size_bytes == len(stub.data)
