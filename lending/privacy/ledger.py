"""The record of completed erasures kept outside the database, and their re-application after a
backup is restored.

A backup taken before an erasure still holds the person. So that restoring it does not bring
them back, every completed erasure is also written, once its transaction has committed, to an
append-only file outside the database and outside the backups (`erasure_ledger_path`, by default
`<state_dir>/privacy/erasures.jsonl`). A line names the request, the person and their
pseudonym by id only: no personal value. A restore re-applies, in the restored database before
it is swapped in, every erasure found in that file or in the database being replaced, whose
person the archive still holds un-erased (docs/DECISIONS.md, issue 22).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from lending.audit.schemas import Origin
from lending.audit.service import audit_service
from lending.config import Settings
from lending.documents.storage import BlobStore
from lending.models.identity import User
from lending.models.privacy import ErasureRequest, ErasureStatus
from lending.privacy.erasure import erase_person

_PENDING_KEY = "privacy.erasures_to_record"
ERASED_DOMAIN = "@erased.invalid"


@dataclass(frozen=True, slots=True)
class ErasureRecord:
    request_id: uuid.UUID
    subject_user_id: uuid.UUID
    pseudonym: str
    completed_at: datetime
    requested_by_user_id: uuid.UUID | None = None
    reviewed_by_user_id: uuid.UUID | None = None

    @classmethod
    def of(cls, request: ErasureRequest) -> ErasureRecord:
        assert request.pseudonym is not None
        assert request.completed_at is not None
        return cls(
            request_id=request.id,
            subject_user_id=request.subject_user_id,
            pseudonym=request.pseudonym,
            completed_at=request.completed_at,
            requested_by_user_id=request.requested_by_user_id,
            reviewed_by_user_id=request.reviewed_by_user_id,
        )

    def line(self) -> bytes:
        return orjson.dumps(
            {
                "request_id": self.request_id,
                "subject_user_id": self.subject_user_id,
                "pseudonym": self.pseudonym,
                "completed_at": self.completed_at,
                "requested_by_user_id": self.requested_by_user_id,
                "reviewed_by_user_id": self.reviewed_by_user_id,
            }
        )

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> ErasureRecord:
        def optional(key: str) -> uuid.UUID | None:
            return uuid.UUID(raw[key]) if raw.get(key) else None

        return cls(
            request_id=uuid.UUID(raw["request_id"]),
            subject_user_id=uuid.UUID(raw["subject_user_id"]),
            pseudonym=str(raw["pseudonym"]),
            completed_at=datetime.fromisoformat(raw["completed_at"]),
            requested_by_user_id=optional("requested_by_user_id"),
            reviewed_by_user_id=optional("reviewed_by_user_id"),
        )


def ledger_path(settings: Settings) -> Path:
    return settings.erasure_ledger_path or settings.state_dir / "privacy" / "erasures.jsonl"


def read_ledger(path: Path) -> list[ErasureRecord]:
    """The completed erasures on file; a line cut short by a crash (only ever the last) is
    skipped, any other damage is an error."""
    if not path.exists():
        return []
    lines = path.read_bytes().splitlines()
    records: list[ErasureRecord] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(ErasureRecord.parse(orjson.loads(line)))
        except (orjson.JSONDecodeError, KeyError, ValueError) as error:
            if number == len(lines):
                break
            raise ValueError(f"{path}: line {number} is not an erasure record") from error
    return records


def append_to_ledger(path: Path, records: Iterable[ErasureRecord]) -> int:
    """Add the records not yet on file, durably (fsync); return how many were added."""
    known = {record.request_id for record in read_ledger(path)}
    new = [record for record in records if record.request_id not in known]
    if not new:
        return 0
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with path.open("ab") as out:
        if out.tell() and not path.read_bytes().endswith(b"\n"):
            out.write(b"\n")  # after a line cut short by a crash
        out.write(b"".join(record.line() + b"\n" for record in new))
        out.flush()
        os.fsync(out.fileno())
    return len(new)


def record_after_commit(session: AsyncSession, settings: Settings, record: ErasureRecord) -> None:
    """Write `record` to the ledger once the session's transaction commits (never if it rolls
    back: then the request is still pending and nothing was erased)."""
    sync: Session = session.sync_session
    pending: list[tuple[Path, ErasureRecord]] = sync.info.setdefault(_PENDING_KEY, [])
    if not event.contains(sync, "after_commit", _write_pending):
        event.listen(sync, "after_commit", _write_pending)
        event.listen(sync, "after_rollback", _forget_pending)
    pending.append((ledger_path(settings), record))


def _write_pending(sync: Session) -> None:
    pending: list[tuple[Path, ErasureRecord]] = sync.info.pop(_PENDING_KEY, [])
    for path in {path for path, _ in pending}:
        append_to_ledger(path, [record for p, record in pending if p == path])


def _forget_pending(sync: Session) -> None:
    sync.info.pop(_PENDING_KEY, None)


async def reapply_erasures(
    session: AsyncSession, records: Iterable[ErasureRecord], files: BlobStore
) -> list[uuid.UUID]:
    """Erase again, under the same pseudonym, each person these records say was erased and the
    database still holds un-erased (a restored older backup); return the request ids re-applied.

    A person the database never held (the backup predates them) or already erased is left as
    it is. Each re-application is audited, with the restore as its operator."""
    applied: list[uuid.UUID] = []
    for record in sorted(records, key=lambda r: r.completed_at):
        user = await session.get(User, record.subject_user_id)
        if user is None or user.email.endswith(ERASED_DOMAIN):
            continue
        request = await session.get(ErasureRequest, record.request_id)
        if request is not None and request.status == ErasureStatus.COMPLETED.value:
            continue
        report = await erase_person(session, record.subject_user_id, record.pseudonym, files)
        if request is None:
            request = ErasureRequest(
                id=record.request_id,
                subject_user_id=record.subject_user_id,
                requested_by_user_id=await _existing(session, record.requested_by_user_id),
                reason="Re-applied after a restore: the erasure was completed on "
                f"{record.completed_at:%Y-%m-%d} (the backup restored was older).",
            )
            session.add(request)
        request.reviewed_by_user_id = request.reviewed_by_user_id or await _existing(
            session, record.reviewed_by_user_id
        )
        request.reviewed_at = request.reviewed_at or record.completed_at
        request.pseudonym = record.pseudonym
        request.report = report
        request.status = ErasureStatus.COMPLETED.value
        request.completed_at = record.completed_at
        await session.flush()
        await audit_service.record(
            session,
            None,
            action="privacy.erasure_reapplied",
            origin=Origin(operator="backup.restore"),
            subject_type="erasure_request",
            subject_id=record.request_id,
            details={
                "subject_user_id": str(record.subject_user_id),
                "completed_at": record.completed_at.astimezone(UTC).isoformat(),
                **report,
            },
        )
        applied.append(record.request_id)
    return applied


async def _existing(session: AsyncSession, user_id: uuid.UUID | None) -> uuid.UUID | None:
    if user_id is None:
        return None
    return user_id if await session.get(User, user_id) is not None else None
