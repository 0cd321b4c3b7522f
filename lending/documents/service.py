"""The document service: register uploads (deduplicated per application), read, download, attach,
correct the type, review (verify / reject), completeness, and key rotation.

The workflow: uploaded → processing → extracted | needs_ocr | failed → needs_review → verified |
rejected (with a reason). The extraction job (tasks.py) drives the first steps; an extracted
document that is confident and unflagged waits in `extracted` for a routine check, every other
outcome (low confidence, any signal, no text, a failure) goes to `needs_review`. Reviewers
(brokers on their reach, platform administrators) verify or reject; correcting the type sends
the document back to `uploaded` and extraction runs again.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from lending import crypto
from lending.analytics.recorder import analytics
from lending.applications.repository import ApplicationRepository
from lending.audit.schemas import Origin
from lending.audit.service import audit_service
from lending.config import Settings
from lending.db import SessionMaker, transaction
from lending.documents.repository import READ_SCOPES, WRITE_SCOPES, DocumentRepository
from lending.documents.requirements import completeness
from lending.documents.schemas import (
    ApplicationDocuments,
    Completeness,
    DocumentList,
    DocumentRead,
    DocumentSummary,
    EventRead,
    FieldRead,
    SignalRead,
)
from lending.documents.storage import (
    BlobStore,
    blob_store,
    needs_rewrap,
    open_sealed,
    rewrap_data_key,
    unwrap_data_key,
)
from lending.documents.types import DocumentType
from lending.documents.upload import (
    FileData,
    FileEnd,
    FileStart,
    FormField,
    FormPart,
    ReceivedFile,
    Receiver,
)
from lending.errors import Conflict, InvalidInput, NotFound
from lending.identity.actor import Actor
from lending.identity.scopes import Scope
from lending.jobs import enqueue
from lending.models.analytics import EventName
from lending.models.applications import Application
from lending.models.documents import Document, DocumentEvent, DocumentField, DocumentStatus
from lending.notifications.service import notification_service
from lending.pagination import Page, map_page

EXTRACT_TASK = "documents.extract"

_S = DocumentStatus
# Moves the workflow allows (type corrections, which restart it, are separate).
TRANSITIONS: dict[DocumentStatus, frozenset[DocumentStatus]] = {
    _S.UPLOADED: frozenset({_S.PROCESSING, _S.REJECTED}),
    _S.PROCESSING: frozenset({_S.EXTRACTED, _S.NEEDS_OCR, _S.FAILED}),
    _S.EXTRACTED: frozenset({_S.NEEDS_REVIEW, _S.VERIFIED, _S.REJECTED}),
    _S.NEEDS_OCR: frozenset({_S.NEEDS_REVIEW}),
    _S.FAILED: frozenset({_S.NEEDS_REVIEW}),
    _S.NEEDS_REVIEW: frozenset({_S.VERIFIED, _S.REJECTED}),
    _S.VERIFIED: frozenset(),
    _S.REJECTED: frozenset(),
}
_FINAL = frozenset({_S.VERIFIED, _S.REJECTED})


class IllegalDocumentTransition(Conflict):
    message = "The document is not in a state that allows this."


def field_context(document_id: uuid.UUID, name: str) -> bytes:
    return f"document_field:{document_id}:{name}".encode()


def text_context(document_id: uuid.UUID) -> bytes:
    return f"document:{document_id}:text".encode()


def encode_value(value: Any) -> tuple[str, str | None]:
    """(kind, text) of an extracted value, for a row; parsed back by `decode_value`."""
    if value is None:
        return "none", None
    if isinstance(value, bool):
        return "text", str(value).lower()
    if isinstance(value, int):
        return "integer", str(value)
    if isinstance(value, Decimal):
        return "decimal", str(value)
    if isinstance(value, date):
        return "date", value.isoformat()
    return "text", str(value)


def decode_value(kind: str, text: str | None) -> Any:
    if text is None or kind == "none":
        return None
    if kind == "integer":
        return int(text)
    if kind == "decimal":
        return Decimal(text)
    if kind == "date":
        return date.fromisoformat(text)
    return text


def mask(value: str) -> str:
    return "****" + value[-4:] if len(value) > 4 else "****"


async def _audit(
    session: AsyncSession,
    actor: Actor,
    action: str,
    document_id: uuid.UUID,
    origin: Origin | None,
) -> None:
    """Audit a change to (or a read of) a document, last in the unit of work."""
    await audit_service.record_change(
        session, actor, action, origin=origin, subject_type="document", subject_id=document_id
    )


_UUID = TypeAdapter(uuid.UUID)
_TYPE = TypeAdapter(DocumentType)


def _form_field(fields: dict[str, str], name: str, adapter: TypeAdapter[Any]) -> Any:
    raw = fields.get(name, "").strip()
    if not raw:
        return None
    try:
        return adapter.validate_python(raw)
    except ValidationError:
        raise InvalidInput([{"loc": ["body", name], "msg": f"not a valid {name}"}]) from None


class DocumentService:
    # Upload

    def receiver(self, settings: Settings, store: BlobStore | None = None) -> Receiver:
        """A receiver streaming one file into storage (the caller feeds it the bytes)."""
        return Receiver(settings, store or blob_store(settings))

    async def check_upload_target(
        self, session: AsyncSession | None, actor: Actor, application_id: uuid.UUID | None
    ) -> Application | None:
        """Refuse early (before the bytes) an upload to an application out of reach."""
        actor.require_any(*WRITE_SCOPES)
        if application_id is None:
            return None
        assert session is not None, "an application is looked up in a session"
        application = await ApplicationRepository.from_session(session).get_scoped(
            actor, application_id, WRITE_SCOPES
        )
        if application is None:
            raise NotFound("No such application.")
        return application

    async def upload(
        self,
        sessionmaker: SessionMaker,
        actor: Actor,
        parts: AsyncIterable[FormPart],
        *,
        settings: Settings,
        origin: Origin | None = None,
    ) -> DocumentRead:
        """Receive one streamed form upload (fields `application_id` and `document_type`, then
        the `file`) and register it. The target is checked before any byte is stored, and again
        once `application_id` is known; a file that does not end up registered is deleted.

        A slow body must not hold a database connection (25 slow uploads would take the pool):
        this owns its units of work, like a stream. The target is checked in a short read that
        ends before the file streams; the file streams into storage with no session open; the
        rows are written (and the extraction job queued) in one short transaction at the end.
        """
        await self.check_upload_target(None, actor, None)
        fields: dict[str, str] = {}
        receiver: Receiver | None = None
        received: ReceivedFile | None = None
        filename = "document"
        try:
            async for part in parts:
                if isinstance(part, FormField):
                    fields[part.name] = part.value
                elif isinstance(part, FileStart):
                    if part.name != "file" or receiver is not None:
                        raise InvalidInput("Send exactly one file, in the form field `file`.")
                    application_id = _form_field(fields, "application_id", _UUID)
                    if application_id is not None:
                        async with sessionmaker() as session:
                            await self.check_upload_target(session, actor, application_id)
                    receiver = self.receiver(settings)
                    filename = part.filename
                elif isinstance(part, FileData):
                    assert receiver is not None
                    await receiver.feed(part.data)
                elif isinstance(part, FileEnd):
                    assert receiver is not None
                    received = await receiver.finish()
            if received is None:
                raise InvalidInput([{"loc": ["body", "file"], "msg": "a file is required"}])
            async with transaction(sessionmaker) as session:
                return await self.register(
                    session,
                    actor,
                    received=received,
                    filename=filename,
                    application_id=_form_field(fields, "application_id", _UUID),
                    declared_type=_form_field(fields, "document_type", _TYPE),
                    settings=settings,
                    origin=origin,
                )
        except BaseException:
            if receiver is not None:
                await receiver.abort()
            raise

    async def register(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        received: ReceivedFile,
        filename: str,
        application_id: uuid.UUID | None,
        declared_type: DocumentType | None,
        settings: Settings,
        origin: Origin | None = None,
    ) -> DocumentRead:
        """Record a stored file as a document of the application (or of its uploader, until it
        is attached) and queue its extraction. The same bytes already on the application are
        linked, not stored twice: the new copy is deleted and the existing document returned
        with `duplicate` set. On any failure the caller deletes the stored file."""
        document = await self._register(
            session,
            actor,
            received=received,
            filename=filename,
            application_id=application_id,
            declared_type=declared_type,
            settings=settings,
        )
        action = "document.duplicate_upload" if document.duplicate else "document.uploaded"
        await _audit(session, actor, action, document.id, origin)
        return document

    async def _register(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        received: ReceivedFile,
        filename: str,
        application_id: uuid.UUID | None,
        declared_type: DocumentType | None,
        settings: Settings,
    ) -> DocumentRead:
        application = await self.check_upload_target(session, actor, application_id)
        repository = DocumentRepository.from_session(session)
        if application is not None:
            existing = await repository.by_hash(application.id, received.sha256)
            if existing is not None:
                await blob_store(settings).delete(received.storage_key)
                await self._event(
                    repository,
                    existing,
                    actor,
                    "duplicate_upload",
                    details={"filename": _clean_name(filename)},
                )
                read = await self._read(session, existing)
                return read.model_copy(update={"duplicate": True})
        document = Document(
            id=received.document_id,
            application_id=application.id if application else None,
            organization_id=application.organization_id if application else actor.organization_id,
            uploaded_by_user_id=actor.user_id,
            filename=_clean_name(filename),
            media_type=received.media_type,
            size_bytes=received.size_bytes,
            sha256=received.sha256,
            storage_backend=received.storage_backend,
            storage_key=received.storage_key,
            chunk_bytes=received.chunk_bytes,
            wrapped_key=received.wrapped_key.sealed,
            key_id=received.wrapped_key.key_id,
            declared_type=declared_type,
            document_type=declared_type or DocumentType.OTHER,
            status=DocumentStatus.UPLOADED,
            review_reasons=[],
        )
        await repository.add(document)
        await self._event(
            repository,
            document,
            actor,
            "uploaded",
            to_status=DocumentStatus.UPLOADED,
            details={"media_type": received.media_type, "size_bytes": received.size_bytes},
        )
        analytics.record(
            session,
            EventName.DOCUMENT_UPLOADED,
            organization_id=document.organization_id,
            application_id=document.application_id,
            user_id=actor.user_id,
            broker_id=application.broker_user_id if application is not None else None,
            properties={"document_type": document.document_type.value},
        )
        if application is not None:
            await self._queue_extraction(session, document)
        return await self._read(session, document)

    async def attach(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        document_id: uuid.UUID,
        application_id: uuid.UUID,
        document_type: DocumentType | None,
        settings: Settings,
        origin: Origin | None = None,
    ) -> DocumentRead:
        """Attach a document uploaded without an application (e.g. in a chat) to one."""
        attached = await self._attach(
            session,
            actor,
            document_id=document_id,
            application_id=application_id,
            document_type=document_type,
            settings=settings,
        )
        await _audit(session, actor, "document.attached", attached.id, origin)
        return attached

    async def _attach(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        document_id: uuid.UUID,
        application_id: uuid.UUID,
        document_type: DocumentType | None,
        settings: Settings,
    ) -> DocumentRead:
        repository = DocumentRepository.from_session(session)
        document = await self.load(
            session, actor, document_id=document_id, write=True, for_update=True
        )
        application = await self.check_upload_target(session, actor, application_id)
        assert application is not None
        if document.application_id is not None:
            if document.application_id == application.id:
                return await self._read(session, document)
            raise Conflict("The document is already attached to another application.")
        existing = await repository.by_hash(application.id, document.sha256)
        if existing is not None:
            # Already on the application: link to that one and drop the loose copy.
            await self._event(
                repository, existing, actor, "duplicate_upload", details={"from": str(document.id)}
            )
            await session.delete(document)
            await session.flush()
            await blob_store(settings).delete(document.storage_key)
            read = await self._read(session, existing)
            return read.model_copy(update={"duplicate": True})
        document.application_id = application.id
        document.organization_id = application.organization_id
        if document_type is not None:
            document.declared_type = document_type
            document.document_type = document_type
        await self._event(
            repository, document, actor, "attached", details={"application_id": str(application.id)}
        )
        await self._queue_extraction(session, document)
        return await self._read(session, document)

    # Reads

    async def get(
        self, session: AsyncSession, actor: Actor, *, document_id: uuid.UUID
    ) -> DocumentRead:
        document = await self.load(session, actor, document_id=document_id)
        return await self._read(session, document)

    async def load(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        document_id: uuid.UUID,
        write: bool = False,
        for_update: bool = False,
    ) -> Document:
        scopes = WRITE_SCOPES if write else READ_SCOPES
        actor.require_any(*scopes)
        document = await DocumentRepository.from_session(session).get_scoped(
            actor, document_id, scopes, for_update=for_update
        )
        if document is None:
            raise NotFound("No such document.")
        return document

    async def list_documents(
        self, session: AsyncSession, actor: Actor, *, application_id: uuid.UUID | None
    ) -> DocumentList:
        """The application's documents, or (without one) the caller's unattached uploads."""
        actor.require_any(*READ_SCOPES)
        repository = DocumentRepository.from_session(session)
        if application_id is None:
            rows = await repository.unattached(actor)
        else:
            application = await self._application(session, actor, application_id)
            rows = await repository.for_application(application.id)
        return DocumentList(items=[DocumentSummary.model_validate(row) for row in rows])

    async def review_queue(
        self, session: AsyncSession, actor: Actor, *, cursor: str | None = None, limit: int = 50
    ) -> Page[DocumentSummary]:
        """The documents waiting for a reviewer, within the reviewer's reach, oldest first."""
        actor.require(Scope.DOCUMENTS_REVIEW)
        page = await DocumentRepository.from_session(session).review_queue(
            actor, cursor=cursor, limit=limit
        )
        return map_page(page, DocumentSummary.model_validate)

    async def application_documents(
        self, session: AsyncSession, actor: Actor, *, application_id: uuid.UUID
    ) -> ApplicationDocuments:
        """The application's documents and which required ones are still missing."""
        actor.require_any(*READ_SCOPES)
        application = await self._application(session, actor, application_id)
        rows = await DocumentRepository.from_session(session).for_application(application.id)
        return ApplicationDocuments(
            completeness=completeness(application, rows),
            documents=[DocumentSummary.model_validate(row) for row in rows],
        )

    async def completeness(
        self, session: AsyncSession, actor: Actor, *, application_id: uuid.UUID
    ) -> Completeness:
        return (
            await self.application_documents(session, actor, application_id=application_id)
        ).completeness

    async def download(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        document_id: uuid.UUID,
        settings: Settings,
        origin: Origin | None = None,
    ) -> tuple[DocumentSummary, AsyncIterator[bytes]]:
        """The document and its plaintext as a stream, decrypted chunk by chunk as it is sent.

        The stream needs no database session: it can outlive the request's transaction.
        """
        document = await self.load(session, actor, document_id=document_id)
        data_key = unwrap_data_key(settings, document.id, document.wrapped_key)
        store = blob_store(settings)
        stream = open_sealed(
            store.read(document.storage_key),
            data_key,
            document.id,
            size_bytes=document.size_bytes,
            chunk_bytes=document.chunk_bytes,
        )
        # A download is audited too: who read which document is part of the record.
        await _audit(session, actor, "document.downloaded", document.id, origin)
        return DocumentSummary.model_validate(document), stream

    # Changes

    async def correct_type(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        document_id: uuid.UUID,
        document_type: DocumentType,
        origin: Origin | None = None,
    ) -> DocumentRead:
        """The uploader (or anyone who may change the document) says what it really is;
        extraction runs again for that type."""
        document = await self.load(
            session, actor, document_id=document_id, write=True, for_update=True
        )
        if document.status in _FINAL:
            raise IllegalDocumentTransition(
                f"The document was already {document.status.value}; upload it again instead."
            )
        repository = DocumentRepository.from_session(session)
        previous = document.document_type
        document.declared_type = document_type
        document.document_type = document_type
        await self._event(
            repository,
            document,
            actor,
            "type_corrected",
            details={"from": previous.value, "to": document_type.value},
        )
        if document.application_id is not None:
            await self._move(repository, document, actor, DocumentStatus.UPLOADED, force=True)
            document.review_reasons = []
            await self._queue_extraction(session, document)
        corrected = await self._read(session, document)
        await _audit(session, actor, "document.type_corrected", document.id, origin)
        return corrected

    async def verify(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        document_id: uuid.UUID,
        origin: Origin | None = None,
    ) -> DocumentRead:
        """A reviewer confirms the document is genuine and what it says it is."""
        document = await self._for_review(session, actor, document_id)
        await self._move(
            DocumentRepository.from_session(session), document, actor, DocumentStatus.VERIFIED
        )
        document.reviewed_by_user_id = actor.user_id
        document.reviewed_at = datetime.now(UTC)
        analytics.record(
            session,
            EventName.DOCUMENT_VERIFIED,
            origin=origin,
            organization_id=document.organization_id,
            application_id=document.application_id,
            user_id=actor.user_id,
            properties={"document_type": document.document_type.value},
        )
        verified = await self._read(session, document)
        await _audit(session, actor, "document.verified", document.id, origin)
        return verified

    async def reject(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        document_id: uuid.UUID,
        reason: str,
        origin: Origin | None = None,
    ) -> DocumentRead:
        """A reviewer refuses the document, saying why (the borrower sees the reason)."""
        document = await self._for_review(session, actor, document_id)
        await self._move(
            DocumentRepository.from_session(session),
            document,
            actor,
            DocumentStatus.REJECTED,
            reason=reason,
        )
        document.status_reason = reason
        document.reviewed_by_user_id = actor.user_id
        document.reviewed_at = datetime.now(UTC)
        rejected = await self._read(session, document)
        await _audit(session, actor, "document.rejected", document.id, origin)
        return rejected

    async def rotate_keys(
        self, session: AsyncSession, *, settings: Settings, batch: int = 500
    ) -> int:
        """Re-wrap up to `batch` documents' data keys sealed with a retired master key, with the
        document's sealed text and sensitive field values; returns how many documents.

        Files are not touched: only the few bytes of each wrapped key change.
        """
        sealer = crypto.encryptor(settings)
        current = crypto.sealed_key_id(sealer.encrypt(b"probe", b"omnifin/key-probe"))
        repository = DocumentRepository.from_session(session)
        rows = await repository.wrapped_with_other_keys(current, batch)
        for document in rows:
            wrapped = rewrap_data_key(settings, document.id, document.wrapped_key)
            document.wrapped_key, document.key_id = wrapped.sealed, wrapped.key_id
            if document.text_encrypted is not None and needs_rewrap(
                settings, document.text_encrypted
            ):
                context = text_context(document.id)
                plain = sealer.decrypt(document.text_encrypted, context)
                document.text_encrypted = sealer.encrypt(plain, context)
            for row in await repository.fields(document.id):
                if row.value_encrypted is not None and needs_rewrap(settings, row.value_encrypted):
                    context = field_context(document.id, row.name)
                    plain = sealer.decrypt(row.value_encrypted, context)
                    row.value_encrypted = sealer.encrypt(plain, context)
        await session.flush()
        return len(rows)

    # Used by the extraction job

    async def move(
        self,
        session: AsyncSession,
        document: Document,
        to_status: DocumentStatus,
        *,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        """A move made by the platform itself (no actor)."""
        await self._move(
            DocumentRepository.from_session(session),
            document,
            None,
            to_status,
            reason=reason,
            details=details,
        )

    # Internals

    async def _application(
        self, session: AsyncSession, actor: Actor, application_id: uuid.UUID
    ) -> Application:
        application = await ApplicationRepository.from_session(session).get_scoped(
            actor, application_id, READ_SCOPES
        )
        if application is None:
            raise NotFound("No such application.")
        return application

    async def _for_review(
        self, session: AsyncSession, actor: Actor, document_id: uuid.UUID
    ) -> Document:
        actor.require(Scope.DOCUMENTS_REVIEW)
        document = await self.load(session, actor, document_id=document_id, for_update=True)
        if document.application_id is None:
            raise IllegalDocumentTransition("Attach the document to an application first.")
        return document

    async def _queue_extraction(self, session: AsyncSession, document: Document) -> None:
        await enqueue(
            session,
            EXTRACT_TASK,
            args={"document_id": str(document.id)},
            lock=f"document:{document.id}",
        )

    async def _move(
        self,
        repository: DocumentRepository,
        document: Document,
        actor: Actor | None,
        to_status: DocumentStatus,
        *,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
        force: bool = False,
    ) -> None:
        current = document.status
        if not force and to_status not in TRANSITIONS[current]:
            allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "none"
            raise IllegalDocumentTransition(
                f"A document that is {current.value} cannot become {to_status.value} "
                f"(allowed: {allowed})."
            )
        document.status = to_status
        await self._event(
            repository,
            document,
            actor,
            "status",
            from_status=current,
            to_status=to_status,
            reason=reason,
            details=details,
        )
        if to_status is DocumentStatus.REJECTED:
            await self._notify_rejected(repository.session, document, actor)

    async def _notify_rejected(
        self, session: AsyncSession, document: Document, actor: Actor | None
    ) -> None:
        """Tell the borrower (and their broker, and whoever uploaded it) that a document was
        refused, in the same transaction; not the reviewer who refused it."""
        application = (
            await ApplicationRepository.from_session(session).get(document.application_id)
            if document.application_id is not None
            else None
        )
        await notification_service.document_rejected(
            session,
            document_id=document.id,
            document_type=document.document_type.value,
            application_id=document.application_id,
            reference=application.reference if application else None,
            recipients=(
                document.uploaded_by_user_id,
                application.borrower_user_id if application else None,
                application.broker_user_id if application else None,
            ),
            caused_by=actor.user_id if actor else None,
        )

    async def _event(
        self,
        repository: DocumentRepository,
        document: Document,
        actor: Actor | None,
        kind: str,
        *,
        from_status: DocumentStatus | None = None,
        to_status: DocumentStatus | None = None,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        await repository.add_event(
            DocumentEvent(
                document_id=document.id,
                kind=kind,
                from_status=from_status.value if from_status else None,
                to_status=to_status.value if to_status else None,
                actor_user_id=actor.user_id if actor else None,
                actor_role=actor.role.value if actor else None,
                reason=reason,
                details=details or {},
            )
        )

    async def _read(self, session: AsyncSession, document: Document) -> DocumentRead:
        repository = DocumentRepository.from_session(session)
        await session.flush()
        await session.refresh(document)
        return DocumentRead(
            **DocumentSummary.model_validate(document).model_dump(),
            fields=[_field_read(row) for row in await repository.fields(document.id)],
            signals=[
                SignalRead.model_validate(row) for row in await repository.signals(document.id)
            ],
            events=[EventRead.model_validate(row) for row in await repository.events(document.id)],
        )


def _field_read(row: DocumentField) -> FieldRead:
    # A sensitive value's row holds only its masked form; the value itself stays sealed.
    shown = row.value if row.sensitive else decode_value(row.value_kind, row.value)
    span = (
        (row.span_start, row.span_end)
        if row.span_start is not None and row.span_end is not None
        else None
    )
    return FieldRead(
        name=row.name,
        value=shown,
        confidence=float(row.confidence),
        span=span,
        sensitive=row.sensitive,
    )


def _clean_name(filename: str) -> str:
    # The name is only shown back; path parts and control characters are dropped.
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:255] or "document"


document_service = DocumentService()
