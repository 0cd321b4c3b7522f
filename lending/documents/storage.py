"""Encrypted document storage: a random data key per file, AES-256-GCM in chunks, so files stream
in and out without ever being whole in memory, and never reach a disk or bucket in plaintext.

A stored file is the concatenation of its chunks, each `AES-GCM(data key, nonce = chunk index,
plaintext chunk, associated data = document id | chunk index | final flag)`. The final flag
makes a truncated file fail to decrypt; the document id makes a file copied under another
document fail. The data key is sealed by the master key (lending.crypto) and kept in the
document's row, so rotating the master key re-wraps a few bytes per document, never the files.

Backends: a local folder (default, under the state folder) and any S3-compatible store (boto3,
its blocking calls in worker threads).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from lending import crypto
from lending.config import Settings

TAG_BYTES = 16
_S3_PART_BYTES = 8 * 1_048_576  # S3 parts must be at least 5 MiB, the last excepted
_READ_BYTES = 1_048_576


class StorageError(Exception):
    """A stored file is missing, or does not decrypt (altered, truncated, wrong key)."""


def _key_context(document_id: uuid.UUID) -> bytes:
    return f"document:{document_id}:data_key".encode()


def _chunk_context(document_id: uuid.UUID, index: int, final: bool) -> bytes:
    return document_id.bytes + index.to_bytes(8, "big") + (b"\x01" if final else b"\x00")


def _nonce(index: int) -> bytes:
    # A data key seals exactly one file, so the chunk index is a nonce that never repeats.
    return index.to_bytes(12, "big")


@dataclass(frozen=True, slots=True)
class WrappedKey:
    sealed: bytes
    key_id: str


def new_data_key(settings: Settings, document_id: uuid.UUID) -> tuple[bytes, WrappedKey]:
    """A fresh data key for one document, and the same key sealed by the current master key."""
    data_key = AESGCM.generate_key(bit_length=256)
    sealed = crypto.encryptor(settings).encrypt(data_key, _key_context(document_id))
    return data_key, WrappedKey(sealed, crypto.sealed_key_id(sealed))


def unwrap_data_key(settings: Settings, document_id: uuid.UUID, sealed: bytes) -> bytes:
    try:
        return crypto.encryptor(settings).decrypt(sealed, _key_context(document_id))
    except crypto.DecryptionError as error:
        raise StorageError(f"the document's key does not open: {error}") from None


def rewrap_data_key(settings: Settings, document_id: uuid.UUID, sealed: bytes) -> WrappedKey:
    """The data key sealed again with the current master key (rotation)."""
    data_key = unwrap_data_key(settings, document_id, sealed)
    resealed = crypto.encryptor(settings).encrypt(data_key, _key_context(document_id))
    return WrappedKey(resealed, crypto.sealed_key_id(resealed))


def needs_rewrap(settings: Settings, sealed: bytes) -> bool:
    return crypto.encryptor(settings).needs_reencryption(sealed)


# Backends: raw bytes in and out; they never see plaintext.


class BlobWriter(Protocol):
    async def write(self, data: bytes) -> None: ...
    async def commit(self) -> None: ...
    async def abort(self) -> None: ...


class BlobStore(Protocol):
    name: str

    async def writer(self, key: str) -> BlobWriter: ...
    def read(self, key: str) -> AsyncIterator[bytes]: ...
    async def delete(self, key: str) -> None: ...
    async def exists(self, key: str) -> bool: ...


class LocalBlobStore:
    """Files in a folder; a file appears under its key only once fully written (rename)."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        if "/" in key or key.startswith("."):
            raise ValueError(f"not a storage key: {key!r}")
        return self.root / key[:2] / key

    async def writer(self, key: str) -> BlobWriter:
        path = self.path(key)
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True, mode=0o700)
        return _LocalWriter(path)

    async def read(self, key: str) -> AsyncIterator[bytes]:
        path = self.path(key)
        try:
            handle = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError:
            raise StorageError("the stored file is missing") from None
        try:
            while data := await asyncio.to_thread(handle.read, _READ_BYTES):
                yield data
        finally:
            handle.close()

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.path(key).unlink, missing_ok=True)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path(key).exists)


class _LocalWriter:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
        self.handle = self.partial.open("wb")
        os.chmod(self.partial, 0o600)

    async def write(self, data: bytes) -> None:
        await asyncio.to_thread(self.handle.write, data)

    async def commit(self) -> None:
        def finish() -> None:
            self.handle.flush()
            os.fsync(self.handle.fileno())
            self.handle.close()
            os.replace(self.partial, self.path)

        await asyncio.to_thread(finish)

    async def abort(self) -> None:
        self.handle.close()
        await asyncio.to_thread(self.partial.unlink, missing_ok=True)


class S3BlobStore:
    """Objects in an S3-compatible bucket, written with a multipart upload as they stream."""

    name = "s3"

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    @classmethod
    def from_settings(cls, settings: Settings) -> S3BlobStore:
        import boto3  # type: ignore[import-untyped]

        if not settings.documents_s3_bucket:
            raise ValueError("OMNIFIN_DOCUMENTS_S3_BUCKET is needed with documents_storage=s3")
        access = settings.documents_s3_access_key_id
        secret = settings.documents_s3_secret_access_key
        client = boto3.client(
            "s3",
            endpoint_url=settings.documents_s3_endpoint_url,
            region_name=settings.documents_s3_region,
            aws_access_key_id=access.get_secret_value() if access else None,
            aws_secret_access_key=secret.get_secret_value() if secret else None,
        )
        return cls(client, settings.documents_s3_bucket, settings.documents_s3_prefix)

    def object_key(self, key: str) -> str:
        return f"{self.prefix}{key}"

    async def writer(self, key: str) -> BlobWriter:
        return _S3Writer(self, self.object_key(key))

    async def read(self, key: str) -> AsyncIterator[bytes]:
        try:
            response = await asyncio.to_thread(
                self.client.get_object, Bucket=self.bucket, Key=self.object_key(key)
            )
        except self.client.exceptions.NoSuchKey:
            raise StorageError("the stored file is missing") from None
        body = response["Body"]
        try:
            while data := await asyncio.to_thread(body.read, _READ_BYTES):
                yield data
        finally:
            body.close()

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(
            self.client.delete_object, Bucket=self.bucket, Key=self.object_key(key)
        )

    async def exists(self, key: str) -> bool:
        try:
            await asyncio.to_thread(
                self.client.head_object, Bucket=self.bucket, Key=self.object_key(key)
            )
        except self.client.exceptions.ClientError:
            return False
        return True


class _S3Writer:
    def __init__(self, store: S3BlobStore, object_key: str) -> None:
        self.store = store
        self.key = object_key
        self.buffer = bytearray()
        self.upload_id: str | None = None
        self.parts: list[dict[str, Any]] = []

    async def write(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) >= _S3_PART_BYTES:
            await self._flush_part()

    async def _flush_part(self) -> None:
        client, bucket = self.store.client, self.store.bucket
        if self.upload_id is None:
            created = await asyncio.to_thread(
                client.create_multipart_upload, Bucket=bucket, Key=self.key
            )
            self.upload_id = created["UploadId"]
        number = len(self.parts) + 1
        body, self.buffer = bytes(self.buffer), bytearray()
        part = await asyncio.to_thread(
            client.upload_part,
            Bucket=bucket,
            Key=self.key,
            UploadId=self.upload_id,
            PartNumber=number,
            Body=body,
        )
        self.parts.append({"PartNumber": number, "ETag": part["ETag"]})

    async def commit(self) -> None:
        client, bucket = self.store.client, self.store.bucket
        if self.upload_id is None:
            body, self.buffer = bytes(self.buffer), bytearray()
            await asyncio.to_thread(client.put_object, Bucket=bucket, Key=self.key, Body=body)
            return
        if self.buffer:
            await self._flush_part()
        await asyncio.to_thread(
            client.complete_multipart_upload,
            Bucket=bucket,
            Key=self.key,
            UploadId=self.upload_id,
            MultipartUpload={"Parts": self.parts},
        )

    async def abort(self) -> None:
        self.buffer = bytearray()
        if self.upload_id is not None:
            await asyncio.to_thread(
                self.store.client.abort_multipart_upload,
                Bucket=self.store.bucket,
                Key=self.key,
                UploadId=self.upload_id,
            )


def blob_store(settings: Settings) -> BlobStore:
    """The backend the settings choose (made once per settings object)."""
    cached = _STORES.get(id(settings))
    if cached is not None and cached[0] is settings:
        return cached[1]
    store: BlobStore
    if settings.documents_storage == "s3":
        store = S3BlobStore.from_settings(settings)
    else:
        store = LocalBlobStore(settings.documents_dir or settings.state_dir / "documents")
    _STORES[id(settings)] = (settings, store)
    return store


_STORES: dict[int, tuple[Settings, BlobStore]] = {}


# Sealing and opening the chunk stream.


class SealingWriter:
    """Encrypts plaintext written in any pieces into fixed-size chunks on a backend writer.

    A chunk is written only once more plaintext follows it, so the last one (which may be a
    full chunk) is sealed as final at `close`.
    """

    def __init__(
        self, target: BlobWriter, data_key: bytes, document_id: uuid.UUID, chunk_bytes: int
    ) -> None:
        self.target = target
        self.aead = AESGCM(data_key)
        self.document_id = document_id
        self.chunk_bytes = chunk_bytes
        self.pending = bytearray()
        self.index = 0

    async def write(self, data: bytes) -> None:
        self.pending += data
        while len(self.pending) > self.chunk_bytes:
            chunk = bytes(self.pending[: self.chunk_bytes])
            del self.pending[: self.chunk_bytes]
            await self._seal(chunk, final=False)

    async def close(self) -> None:
        await self._seal(bytes(self.pending), final=True)
        self.pending = bytearray()
        await self.target.commit()

    async def _seal(self, chunk: bytes, *, final: bool) -> None:
        context = _chunk_context(self.document_id, self.index, final)
        await self.target.write(self.aead.encrypt(_nonce(self.index), chunk, context))
        self.index += 1


async def open_sealed(
    raw: AsyncIterator[bytes],
    data_key: bytes,
    document_id: uuid.UUID,
    *,
    size_bytes: int,
    chunk_bytes: int,
) -> AsyncIterator[bytes]:
    """Plaintext chunks of a stored file, each checked before it is yielded."""
    aead = AESGCM(data_key)
    chunks = max(1, -(-size_bytes // chunk_bytes))
    sealed_chunk = chunk_bytes + TAG_BYTES
    buffer = bytearray()
    index = 0

    def open_one(data: bytes, final: bool) -> bytes:
        try:
            return aead.decrypt(_nonce(index), data, _chunk_context(document_id, index, final))
        except InvalidTag:
            raise StorageError("the stored file was altered or truncated") from None

    async for data in raw:
        buffer += data
        while len(buffer) > sealed_chunk and index < chunks - 1:
            piece = bytes(buffer[:sealed_chunk])
            del buffer[:sealed_chunk]
            yield open_one(piece, False)
            index += 1
    if index != chunks - 1 or not buffer:
        raise StorageError("the stored file is truncated")
    yield open_one(bytes(buffer), True)
