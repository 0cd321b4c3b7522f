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
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
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

# A storage key is a document id in hex; the sweeper (lending.documents.sweep) considers nothing else.
_STORAGE_KEY = re.compile(r"[0-9a-f]{32}")
_LOCAL_PART = re.compile(r"\.([0-9a-f]{32})\.[0-9a-f]{32}\.part")


@dataclass(frozen=True, slots=True)
class StoredObject:
    """A complete stored file, as the backend lists it."""

    key: str
    size: int
    modified: datetime


@dataclass(frozen=True, slots=True)
class PartialUpload:
    """An upload begun and not finished: a `.part` file, or an S3 multipart upload.

    `ref` names it within its key (the file's name, the upload id); `last_activity` is when a
    byte was last written to it.
    """

    key: str
    ref: str
    size: int
    last_activity: datetime


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
    def objects(self) -> AsyncIterator[StoredObject]: ...
    async def partial_uploads(self) -> list[PartialUpload]: ...
    async def remove_partial(self, partial: PartialUpload) -> None: ...


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

    def _scan(self, pattern: re.Pattern[str]) -> list[tuple[str, str, int, datetime]]:
        """(key, file name, size, modified) of the files named like `pattern` in the key folders."""
        found: list[tuple[str, str, int, datetime]] = []
        if not self.root.is_dir():
            return found
        for folder in os.scandir(self.root):
            if not folder.is_dir(follow_symlinks=False):
                continue
            for entry in os.scandir(folder.path):
                match = pattern.fullmatch(entry.name)
                key = match.group(1) if match and match.groups() else entry.name
                if not match or key[:2] != folder.name or not entry.is_file(follow_symlinks=False):
                    continue
                try:
                    stat = entry.stat(follow_symlinks=False)
                except FileNotFoundError:  # finished or removed meanwhile
                    continue
                modified = datetime.fromtimestamp(stat.st_mtime, UTC)
                found.append((key, entry.name, stat.st_size, modified))
        return found

    async def objects(self) -> AsyncIterator[StoredObject]:
        for key, _, size, modified in await asyncio.to_thread(self._scan, _STORAGE_KEY):
            yield StoredObject(key, size, modified)

    async def partial_uploads(self) -> list[PartialUpload]:
        found = await asyncio.to_thread(self._scan, _LOCAL_PART)
        return [PartialUpload(key, name, size, modified) for key, name, size, modified in found]

    async def remove_partial(self, partial: PartialUpload) -> None:
        # A writer still holding it open (idle past the grace period) fails at its rename.
        path = self.root / partial.key[:2] / partial.ref
        await asyncio.to_thread(path.unlink, missing_ok=True)


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

    def _key_of(self, object_key: str) -> str | None:
        key = object_key.removeprefix(self.prefix)
        if not object_key.startswith(self.prefix) or not _STORAGE_KEY.fullmatch(key):
            return None
        return key

    async def objects(self) -> AsyncIterator[StoredObject]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        iterator = iter(pages)
        while page := await asyncio.to_thread(next, iterator, None):
            for item in page.get("Contents", []):
                key = self._key_of(item["Key"])
                if key is not None:
                    yield StoredObject(key, item["Size"], item["LastModified"])

    async def partial_uploads(self) -> list[PartialUpload]:
        def scan() -> list[PartialUpload]:
            found: list[PartialUpload] = []
            pages = self.client.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            )
            for page in pages:
                for upload in page.get("Uploads", []):
                    key = self._key_of(upload["Key"])
                    if key is None:
                        continue
                    size, last = 0, upload["Initiated"]
                    parts = self.client.get_paginator("list_parts").paginate(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                    try:
                        for part_page in parts:
                            for part in part_page.get("Parts", []):
                                size += part["Size"]
                                last = max(last, part["LastModified"])
                    except self.client.exceptions.NoSuchUpload:  # finished or aborted meanwhile
                        continue
                    found.append(PartialUpload(key, upload["UploadId"], size, last))
            return found

        return await asyncio.to_thread(scan)

    async def remove_partial(self, partial: PartialUpload) -> None:
        try:
            await asyncio.to_thread(
                self.client.abort_multipart_upload,
                Bucket=self.bucket,
                Key=self.object_key(partial.key),
                UploadId=partial.ref,
            )
        except self.client.exceptions.NoSuchUpload:
            pass


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
