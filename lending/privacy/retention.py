"""Retention: what is kept only for a while, removed by a daily job once its period is over.

Kinds and their settings (days): abandoned drafts (`retention_draft_days`, by last change),
conversations (`retention_conversation_days`, by last message), documents of applications
declined or withdrawn (`retention_declined_documents_days`, by the status change; the decision
itself is kept), and assistant checkpoints (`retention_checkpoint_days`, by last message; the
conversation's messages stay). Each run reports what it removed, in the log and the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from lending.audit.schemas import Origin
from lending.audit.service import audit_service
from lending.config import Settings
from lending.documents.storage import blob_store
from lending.privacy.repository import PrivacyRepository

_DRAFT = "status = 'draft' AND submitted_at IS NULL AND decided_at IS NULL AND updated_at < :before"
_CLOSED = "status IN ('declined', 'withdrawn') AND status_changed_at < :before"


@dataclass(slots=True)
class RetentionReport:
    removed: dict[str, int] = field(default_factory=dict)
    files_destroyed: int = 0

    def summary(self) -> str:
        parts = [f"{count} {kind}" for kind, count in self.removed.items()]
        return (
            "Retention removed "
            + (", ".join(parts) or "nothing")
            + (
                f"; {self.files_destroyed} document files destroyed."
                if self.files_destroyed
                else "."
            )
        )


async def enforce_retention(
    session: AsyncSession, settings: Settings, *, now: datetime | None = None
) -> RetentionReport:
    """Remove what has outlived its period; files are destroyed after the rows are gone."""
    now = now or datetime.now(UTC)
    repository = PrivacyRepository.from_session(session)
    report = RetentionReport()

    def before(days: int) -> datetime:
        return now - timedelta(days=days)

    drafts_before = before(settings.retention_draft_days)
    closed_before = before(settings.retention_declined_documents_days)
    keys = await session.execute(
        text(
            "SELECT storage_key FROM document WHERE application_id IN ("
            f"SELECT id FROM loan_application WHERE ({_DRAFT.replace(':before', ':drafts')}) "
            f"OR ({_CLOSED.replace(':before', ':closed')}))"
        ),
        {"drafts": drafts_before, "closed": closed_before},
    )
    storage_keys = [row[0] for row in keys]
    report.removed["documents of declined or withdrawn applications"] = await repository.execute(
        "DELETE FROM document WHERE application_id IN "
        f"(SELECT id FROM loan_application WHERE {_CLOSED})",
        before=closed_before,
    )
    report.removed["abandoned drafts"] = await repository.execute(
        f"DELETE FROM loan_application WHERE {_DRAFT}", before=drafts_before
    )
    stale = await repository.stale_threads(before(settings.retention_conversation_days))
    report.removed["conversation checkpoints"] = await repository.delete_checkpoints(stale)
    report.removed["conversations"] = await repository.execute(
        "DELETE FROM chat_thread WHERE id::text = ANY(:ids)", ids=stale
    )
    idle = await repository.stale_threads(before(settings.retention_checkpoint_days))
    report.removed["conversation checkpoints"] += await repository.delete_checkpoints(idle)
    store = blob_store(settings)
    for key in storage_keys:
        await store.delete(key)
    report.files_destroyed = len(storage_keys)
    report.removed = {kind: count for kind, count in report.removed.items() if count}
    await audit_service.record(
        session,
        None,
        action="privacy.retention_enforced",
        origin=Origin(operator="job:privacy.retention"),
        details={"removed": report.removed, "files_destroyed": report.files_destroyed},
    )
    return report
