"""Receiving one file as it streams: size limit, content sniffing, SHA-256 and encryption on the
way to storage, holding at most a chunk (and, for a zip, its last megabyte) in memory."""

from __future__ import annotations

import hashlib
import uuid
from collections import deque
from dataclasses import dataclass

from lending.config import Settings
from lending.documents import sniffing
from lending.documents.storage import BlobStore, SealingWriter, WrappedKey, new_data_key
from lending.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from lending.models.base import new_id

# The parts of a streamed form upload, in order, as the transport (api.multipart) hands them over.


@dataclass(frozen=True, slots=True)
class FormField:
    name: str
    value: str


@dataclass(frozen=True, slots=True)
class FileStart:
    name: str
    filename: str


@dataclass(frozen=True, slots=True)
class FileData:
    data: bytes


@dataclass(frozen=True, slots=True)
class FileEnd:
    pass


FormPart = FormField | FileStart | FileData | FileEnd


class NotAcceptedType(UnsupportedMediaType):
    message = (
        "This kind of file is not accepted: upload a PDF, PNG, JPEG, HEIC/HEIF, TIFF or DOCX "
        "(the type is read from the file's content, not its name)."
    )


@dataclass(frozen=True, slots=True)
class ReceivedFile:
    """A file stored (encrypted) and not yet registered: delete it if registering fails."""

    document_id: uuid.UUID
    storage_backend: str
    storage_key: str
    chunk_bytes: int
    wrapped_key: WrappedKey
    media_type: str
    size_bytes: int
    sha256: str


class Receiver:
    """Feed it the file's bytes in any pieces, then `finish` (or `abort` on any failure)."""

    def __init__(self, settings: Settings, store: BlobStore) -> None:
        self.settings = settings
        self.store = store
        self.limit = settings.max_upload_bytes
        self.chunk_bytes = settings.documents_chunk_bytes
        self.document_id = new_id()
        self.storage_key = self.document_id.hex
        self.data_key, self.wrapped_key = new_data_key(settings, self.document_id)
        self.digest = hashlib.sha256()
        self.size = 0
        self.head = bytearray()
        self.media_type: str | None = None
        self.tail: deque[bytes] = deque()
        self.tail_size = 0
        self.sealer: SealingWriter | None = None
        self.committed = False
        self.aborted = False

    async def feed(self, data: bytes) -> None:
        if not data:
            return
        try:
            await self._feed(data)
        except BaseException:
            await self.abort()
            raise

    async def _feed(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            raise PayloadTooLarge(f"The file is larger than the limit of {self.limit} bytes.")
        self.digest.update(data)
        if self.media_type is None:
            self.head += data[: sniffing.SNIFF_BYTES]
            if len(self.head) >= sniffing.SNIFF_BYTES:
                self._decide()
        if self.media_type == sniffing.ZIP_CANDIDATE:
            self._keep_tail(data)
        if self.sealer is None:
            writer = await self.store.writer(self.storage_key)
            self.sealer = SealingWriter(writer, self.data_key, self.document_id, self.chunk_bytes)
        await self.sealer.write(data)

    def _decide(self) -> None:
        media_type = sniffing.sniff(bytes(self.head))
        if media_type is None:
            raise NotAcceptedType()
        self.media_type = media_type

    def _keep_tail(self, data: bytes) -> None:
        self.tail.append(data)
        self.tail_size += len(data)
        while self.tail and self.tail_size - len(self.tail[0]) >= sniffing.ZIP_TAIL_BYTES:
            self.tail_size -= len(self.tail.popleft())

    async def finish(self) -> ReceivedFile:
        try:
            if self.size == 0 or self.sealer is None:
                raise InvalidInput("The file is empty.")
            if self.media_type is None:
                self._decide()  # a file shorter than the sniffing window
            if self.media_type == sniffing.ZIP_CANDIDATE:
                if not sniffing.is_docx(b"".join(self.tail), self.size):
                    raise NotAcceptedType()
                self.media_type = sniffing.DOCX
            await self.sealer.close()
            self.committed = True
        except BaseException:
            await self.abort()
            raise
        assert self.media_type is not None
        return ReceivedFile(
            document_id=self.document_id,
            storage_backend=self.store.name,
            storage_key=self.storage_key,
            chunk_bytes=self.chunk_bytes,
            wrapped_key=self.wrapped_key,
            media_type=self.media_type,
            size_bytes=self.size,
            sha256=self.digest.hexdigest(),
        )

    async def abort(self) -> None:
        """Remove whatever was written (a partial file, or a finished one never registered)."""
        if self.aborted:
            return
        self.aborted = True
        if self.committed:
            await self.store.delete(self.storage_key)
        elif self.sealer is not None:
            await self.sealer.target.abort()
