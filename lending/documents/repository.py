"""Queries of the documents domain, scoped by the actor: a document attached to an application is
reached as the application is (own, firm, all); one not yet attached by its uploader (own), their
firm (firm) or the platform (all)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Self

from sqlalchemy import ColumnElement, Select, and_, delete, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from lending.applications.repository import application_reach
from lending.identity.actor import Actor
from lending.identity.scopes import Scope
from lending.models.applications import Application
from lending.models.documents import (
    Document,
    DocumentEvent,
    DocumentField,
    DocumentSignal,
    DocumentStatus,
)
from lending.pagination import Page, fetch_page

READ_SCOPES = (Scope.DOCUMENTS_READ_ALL, Scope.DOCUMENTS_READ_FIRM, Scope.DOCUMENTS_READ_OWN)
WRITE_SCOPES = (Scope.DOCUMENTS_WRITE_ALL, Scope.DOCUMENTS_WRITE_FIRM, Scope.DOCUMENTS_WRITE_OWN)


# What a reviewer may verify or reject (extraction finished, or it asked for a person).
REVIEWABLE_STATUSES = (DocumentStatus.EXTRACTED, DocumentStatus.NEEDS_REVIEW)


def unattached_reach(actor: Actor, scopes: tuple[Scope, Scope, Scope]) -> ColumnElement[bool]:
    all_scope, firm_scope, own_scope = scopes
    if actor.has(all_scope):
        return true()
    conditions: list[ColumnElement[bool]] = []
    if actor.has(firm_scope):
        conditions.append(Document.organization_id == actor.organization_id)
    if actor.has(own_scope):
        conditions.append(Document.uploaded_by_user_id == actor.user_id)
    return or_(*conditions) if conditions else false()


class DocumentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: AsyncSession) -> Self:
        return cls(session)

    def scoped(self, actor: Actor, scopes: tuple[Scope, Scope, Scope]) -> Select[Document]:
        attached = and_(
            Document.application_id.is_not(None),
            Document.application_id.in_(
                select(Application.id).where(application_reach(actor, scopes))
            ),
        )
        loose = and_(Document.application_id.is_(None), unattached_reach(actor, scopes))
        return select(Document).where(or_(attached, loose))

    async def get_scoped(
        self,
        actor: Actor,
        document_id: uuid.UUID,
        scopes: tuple[Scope, Scope, Scope] = READ_SCOPES,
        *,
        for_update: bool = False,
    ) -> Document | None:
        statement = self.scoped(actor, scopes).where(Document.id == document_id)
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def get(self, document_id: uuid.UUID, *, for_update: bool = False) -> Document | None:
        statement = select(Document).where(Document.id == document_id)
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def for_application(self, application_id: uuid.UUID) -> Sequence[Document]:
        statement = (
            select(Document)
            .where(Document.application_id == application_id)
            .order_by(Document.created_at, Document.id)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def review_queue(self, actor: Actor, *, cursor: str | None, limit: int) -> Page[Document]:
        """Attached documents waiting for a reviewer's decision, oldest first."""
        statement = self.scoped(actor, READ_SCOPES).where(
            Document.application_id.is_not(None),
            Document.status.in_(REVIEWABLE_STATUSES),
        )
        return await fetch_page(
            self.session,
            statement,
            [Document.created_at, Document.id],
            cursor=cursor,
            limit=limit,
            descending=False,
        )

    async def unattached(self, actor: Actor) -> Sequence[Document]:
        statement = (
            select(Document)
            .where(Document.application_id.is_(None), Document.uploaded_by_user_id == actor.user_id)
            .order_by(Document.created_at.desc(), Document.id)
            .limit(100)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def by_hash(self, application_id: uuid.UUID, sha256: str) -> Document | None:
        statement = select(Document).where(
            Document.application_id == application_id, Document.sha256 == sha256
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def add(self, document: Document) -> Document:
        self.session.add(document)
        await self.session.flush()
        return document

    async def add_event(self, event: DocumentEvent) -> None:
        self.session.add(event)
        await self.session.flush()

    async def fields(self, document_id: uuid.UUID) -> Sequence[DocumentField]:
        statement = (
            select(DocumentField)
            .where(DocumentField.document_id == document_id)
            .order_by(DocumentField.name)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def signals(self, document_id: uuid.UUID) -> Sequence[DocumentSignal]:
        statement = (
            select(DocumentSignal)
            .where(DocumentSignal.document_id == document_id)
            .order_by(DocumentSignal.id)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def events(self, document_id: uuid.UUID) -> Sequence[DocumentEvent]:
        statement = (
            select(DocumentEvent)
            .where(DocumentEvent.document_id == document_id)
            .order_by(DocumentEvent.id)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def replace_results(
        self,
        document_id: uuid.UUID,
        fields: Sequence[DocumentField],
        signals: Sequence[DocumentSignal],
    ) -> None:
        """What one extraction found replaces what an earlier one did."""
        await self.session.execute(
            delete(DocumentField).where(DocumentField.document_id == document_id)
        )
        await self.session.execute(
            delete(DocumentSignal).where(DocumentSignal.document_id == document_id)
        )
        self.session.add_all([*fields, *signals])
        await self.session.flush()

    async def wrapped_with_other_keys(self, key_id: str, limit: int) -> Sequence[Document]:
        statement = (
            select(Document)
            .where(Document.key_id != key_id)
            .order_by(Document.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.execute(statement)).scalars().all()
