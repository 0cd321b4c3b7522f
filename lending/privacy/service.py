"""A person's rights: a copy of everything held about them, and erasure after review.

Export walks the registry (lending.privacy.registry): every table with an export rule gives the
person's rows as JSON, and their documents go in as the original files, decrypted. Erasure is
asked by one person and approved by another (maker-checker, also a database constraint); it
deletes what nothing requires, anonymises what the ledger or the law keeps (under a random
pseudonym), crypto-shreds documents, and erases the IP addresses of the person's audit events
(the hash chain covers only their salted digests, so it still verifies). Both are audited.
"""

from __future__ import annotations

import secrets
import tempfile
import uuid
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from lending.applications.profile import borrower_profile_service
from lending.audit.schemas import Origin
from lending.audit.service import audit_service
from lending.config import Settings
from lending.documents.storage import blob_store, open_sealed, unwrap_data_key
from lending.errors import Conflict, NotFound, PermissionDenied
from lending.identity.actor import Actor
from lending.identity.scopes import Scope
from lending.identity.sessions import token_service
from lending.kv import Store
from lending.models.documents import Document
from lending.models.identity import User
from lending.models.privacy import ErasureRequest, ErasureStatus
from lending.privacy.erasure import erase_person, preview_erasure
from lending.privacy.ledger import ErasureRecord, record_after_commit
from lending.privacy.registry import RULES
from lending.privacy.repository import PrivacyRepository
from lending.privacy.schemas import DataExport, ErasureRequestCreate, ErasureReview

_README = """A copy of the personal data Omnifin holds about you, made {made}.

data/<table>.json   your rows of each table that holds personal data (see manifest.json)
documents/          the files you or your broker uploaded, as they were uploaded
manifest.json       what is in this archive, and what is not and why

Not included: passwords and security codes (only their one-way hashes are held), the full
SSN (only its last four digits are shown here; the full number is held encrypted and sent only to
lenders you chose), and the content of e-mails sent to you (held sealed; data/mail_message.json
lists them).
"""


def _subject_for(actor: Actor, user_id: uuid.UUID | None) -> uuid.UUID:
    """The person concerned: oneself (privacy:own) or anyone (privacy:manage)."""
    if user_id is None or user_id == actor.user_id:
        actor.require(Scope.PRIVACY_OWN)
        return actor.user_id
    actor.require(Scope.PRIVACY_MANAGE)
    return user_id


def _json(value: Any) -> bytes:
    return orjson.dumps(value, default=str, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)


def _safe_name(filename: str) -> str:
    kept = "".join(c if c.isalnum() or c in "._-" else "_" for c in filename)
    return kept.strip("._")[:100] or "file"


class PrivacyService:
    # Export

    async def export(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        settings: Settings,
        user_id: uuid.UUID | None = None,
        origin: Origin | None = None,
    ) -> DataExport:
        subject = _subject_for(actor, user_id)
        if await session.get(User, subject) is None:
            raise NotFound("No such person.")
        repository = PrivacyRepository.from_session(session)
        made = datetime.now(UTC)
        handle = tempfile.NamedTemporaryFile(prefix="omnifin-export-", suffix=".zip", delete=False)
        handle.close()
        export = DataExport(
            path=Path(handle.name), filename=f"omnifin-data-{made:%Y%m%d}-{subject.hex[:8]}.zip"
        )
        try:
            with zipfile.ZipFile(export.path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for rule in RULES.values():
                    if not rule.export:
                        continue
                    rows = [
                        {
                            key: value
                            for key, value in row.items()
                            if key not in rule.omit and not isinstance(value, bytes | memoryview)
                        }
                        for row in await repository.rows_of(rule, subject)
                    ]
                    if rule.table == "borrower_profile" and rows:
                        birth = await borrower_profile_service.reveal_date_of_birth(
                            session, user_id=subject, settings=settings
                        )
                        rows[0]["date_of_birth"] = birth
                    export.rows[rule.table] = len(rows)
                    archive.writestr(f"data/{rule.table}.json", _json(rows))
                for document_id, _ in await repository.documents_of(subject):
                    document = await session.get(Document, document_id)
                    assert document is not None
                    name = f"documents/{document.id}-{_safe_name(document.filename)}"
                    await self._write_document(archive, name, document, settings)
                    export.documents += 1
                archive.writestr(
                    "manifest.json",
                    _json(
                        {
                            "person": str(subject),
                            "made_at": made,
                            "rows": export.rows,
                            "documents": export.documents,
                            "tables": {
                                rule.table: rule.reason for rule in RULES.values() if rule.export
                            },
                        }
                    ),
                )
                archive.writestr("README.txt", _README.format(made=made.isoformat()))
        except BaseException:
            export.path.unlink(missing_ok=True)
            raise
        await audit_service.record(
            session,
            actor,
            action="privacy.exported",
            origin=origin,
            subject_type="user",
            subject_id=subject,
            details={
                "by_staff": subject != actor.user_id,
                "rows": export.rows,
                "documents": export.documents,
            },
        )
        return export

    async def summary(
        self, session: AsyncSession, actor: Actor, *, user_id: uuid.UUID | None = None
    ) -> dict[str, int]:
        """How many rows of each kind an export would hold (the same permission checks)."""
        subject = _subject_for(actor, user_id)
        if await session.get(User, subject) is None:
            raise NotFound("No such person.")
        repository = PrivacyRepository.from_session(session)
        counts = {
            rule.table: await repository.count_of(rule, subject)
            for rule in RULES.values()
            if rule.export
        }
        return {table: count for table, count in counts.items() if count}

    async def _write_document(
        self, archive: zipfile.ZipFile, name: str, document: Document, settings: Settings
    ) -> None:
        data_key = unwrap_data_key(settings, document.id, document.wrapped_key)
        stream = open_sealed(
            blob_store(settings).read(document.storage_key),
            data_key,
            document.id,
            size_bytes=document.size_bytes,
            chunk_bytes=document.chunk_bytes,
        )
        with archive.open(name, "w") as out:
            async for chunk in stream:
                out.write(chunk)

    # Erasure

    async def request_erasure(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        data: ErasureRequestCreate,
        origin: Origin | None = None,
    ) -> ErasureRequest:
        subject = _subject_for(actor, data.user_id)
        if await session.get(User, subject) is None:
            raise NotFound("No such person.")
        repository = PrivacyRepository.from_session(session)
        if await repository.pending_for(subject) is not None:
            raise Conflict("An erasure request for this person is already waiting for review.")
        request = await repository.add(
            ErasureRequest(
                subject_user_id=subject,
                requested_by_user_id=actor.user_id,
                reason=data.reason,
                status=ErasureStatus.PENDING.value,
            )
        )
        await audit_service.record(
            session,
            actor,
            action="privacy.erasure_requested",
            origin=origin,
            subject_type="erasure_request",
            subject_id=request.id,
            details={"subject_user_id": str(subject)},
        )
        return request

    async def list_requests(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        status: ErasureStatus | None = None,
        limit: int = 100,
    ) -> list[ErasureRequest]:
        """Staff see every request; anyone else their own."""
        repository = PrivacyRepository.from_session(session)
        if actor.has(Scope.PRIVACY_MANAGE):
            subject = None
        else:
            actor.require(Scope.PRIVACY_OWN)
            subject = actor.user_id
        rows = await repository.list_requests(
            status=status.value if status else None, subject_user_id=subject, limit=limit
        )
        return list(rows)

    async def get_request(
        self, session: AsyncSession, actor: Actor, *, request_id: uuid.UUID
    ) -> ErasureRequest:
        """One request: staff see any, anyone else only their own."""
        request = await PrivacyRepository.from_session(session).get_request(request_id)
        if request is None or not (
            actor.has(Scope.PRIVACY_MANAGE) or request.subject_user_id == actor.user_id
        ):
            raise NotFound("No such erasure request.")
        return request

    async def preview(
        self, session: AsyncSession, actor: Actor, *, request_id: uuid.UUID
    ) -> dict[str, Any]:
        """What approving a pending request would remove, anonymise and keep, and why (staff);
        for a decided request, its report."""
        actor.require(Scope.PRIVACY_MANAGE)
        request = await self.get_request(session, actor, request_id=request_id)
        if request.status != ErasureStatus.PENDING.value:
            return dict(request.report)
        return await preview_erasure(session, request.subject_user_id)

    async def review(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        request_id: uuid.UUID,
        data: ErasureReview,
        settings: Settings,
        store: Store,
        origin: Origin | None = None,
    ) -> ErasureRequest:
        """Approve (and carry out) or reject a pending request: never the requester's own.

        `store` is where signed-in sessions are cached: the person's end now, not at expiry."""
        actor.require(Scope.PRIVACY_MANAGE)
        repository = PrivacyRepository.from_session(session)
        request = await repository.get_request(request_id, lock=True)
        if request is None:
            raise NotFound("No such erasure request.")
        if request.status != ErasureStatus.PENDING.value:
            raise Conflict(f"This request is already {request.status}.")
        if actor.user_id in (request.requested_by_user_id, request.subject_user_id):
            raise PermissionDenied(
                "An erasure is approved by someone other than who asked for it (maker-checker)."
            )
        request.reviewed_by_user_id, request.reviewed_at = actor.user_id, datetime.now(UTC)
        request.review_note = data.note
        if not data.approve:
            request.status = ErasureStatus.REJECTED.value
            await session.flush()
            await audit_service.record(
                session,
                actor,
                action="privacy.erasure_rejected",
                origin=origin,
                subject_type="erasure_request",
                subject_id=request.id,
            )
            return request
        await token_service.revoke_user(session, store=store, user_id=request.subject_user_id)
        request.pseudonym = "erased-" + secrets.token_hex(6)
        request.report = await erase_person(
            session, request.subject_user_id, request.pseudonym, blob_store(settings)
        )
        request.status, request.completed_at = ErasureStatus.COMPLETED.value, datetime.now(UTC)
        await session.flush()
        # Kept outside the database too, so that restoring an older backup erases them again.
        record_after_commit(session, settings, ErasureRecord.of(request))
        await audit_service.record(
            session,
            actor,
            action="privacy.erased",
            origin=origin,
            subject_type="erasure_request",
            subject_id=request.id,
            details={"subject_user_id": str(request.subject_user_id), **request.report},
        )
        return request


privacy_service = PrivacyService()
