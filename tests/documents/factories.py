"""Plain async factories for documents: a stored (encrypted) upload, registered as a service call."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.documents.service import document_service
from lending.documents.types import DocumentType
from lending.models.documents import Document, DocumentStatus
from lending.models.identity import User
from tests.documents.files import pdf_bytes
from tests.identity.factories import actor_of


async def create_document(
    session: AsyncSession,
    settings: Settings,
    uploader: User,
    application_id: uuid.UUID | None,
    *,
    content: bytes | None = None,
    document_type: DocumentType | None = DocumentType.PAY_STUB,
    status: DocumentStatus | None = None,
) -> uuid.UUID:
    """A document uploaded by `uploader` (to the application, or unattached); `status` forces
    the workflow to a state (as if extraction had run) for tests of what comes after."""
    receiver = document_service.receiver(settings)
    await receiver.feed(content if content is not None else pdf_bytes(uuid.uuid4().hex))
    received = await receiver.finish()
    read = await document_service.register(
        session,
        actor_of(uploader),
        received=received,
        filename="document.pdf",
        application_id=application_id,
        declared_type=document_type,
        settings=settings,
    )
    if status is not None:
        document = await session.get(Document, read.id)
        assert document is not None
        document.status = status
        await session.flush()
    return read.id
