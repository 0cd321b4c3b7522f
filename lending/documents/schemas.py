"""What the documents domain reads and writes: documents with their fields and signals, review
requests, completeness per application."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from lending.documents.types import DocumentType
from lending.models.documents import DocumentStatus, SignalSeverity

RejectReason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)
]


class FieldRead(BaseModel):
    """One extracted value. A sensitive value (an ID's document number) is never shown in full:
    `value` is its last four characters behind asterisks."""

    name: str
    value: Any
    confidence: float
    span: tuple[int, int] | None
    sensitive: bool


class SignalRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    field: str | None
    expected: str | None
    actual: str | None
    severity: SignalSeverity
    description: str


class EventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str
    from_status: str | None
    to_status: str | None
    actor_user_id: uuid.UUID | None
    actor_role: str | None
    reason: str | None
    occurred_at: datetime


class DocumentSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    application_id: uuid.UUID | None
    filename: str
    media_type: str
    size_bytes: int
    sha256: str
    document_type: DocumentType
    declared_type: DocumentType | None
    suggested_type: DocumentType | None
    type_confidence: float | None
    status: DocumentStatus
    status_reason: str | None
    review_reasons: list[str]
    page_count: int | None
    uploaded_by_user_id: uuid.UUID | None
    reviewed_by_user_id: uuid.UUID | None
    reviewed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class DocumentRead(DocumentSummary):
    """A document with what extraction found. `duplicate` is true when this upload's bytes were
    already on the application: nothing new was stored and this is the existing document."""

    duplicate: bool = False
    fields: list[FieldRead] = Field(default_factory=list)
    signals: list[SignalRead] = Field(default_factory=list)
    events: list[EventRead] = Field(default_factory=list)


class DocumentList(BaseModel):
    items: list[DocumentSummary]


class RejectRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: RejectReason


class TypeCorrection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    document_type: DocumentType


class AttachRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    application_id: uuid.UUID
    document_type: DocumentType | None = None


class RequirementStatus(BaseModel):
    """One document requirement of the product and the documents that meet it."""

    name: str
    label: str
    any_of: list[DocumentType]
    # Documents of a matching type that are not rejected (received), and those verified.
    received: list[uuid.UUID]
    verified: list[uuid.UUID]
    satisfied: bool


class Completeness(BaseModel):
    """Which required documents an application still lacks.

    `missing` lists requirements without any document that is not rejected; `unverified` those
    with documents none of which is verified yet; `complete` is true when every requirement has
    a verified document.
    """

    application_id: uuid.UUID
    product_type: str
    requirements: list[RequirementStatus]
    missing: list[str]
    unverified: list[str]
    complete: bool


class ApplicationDocuments(BaseModel):
    completeness: Completeness
    documents: list[DocumentSummary]
