"""Sweeping document storage of what no document will ever use.

A process that dies mid-upload leaves a `.part` file (local) or an unfinished multipart upload
(S3); one that dies (or whose commit fails) after the file is stored leaves an encrypted file
that no document row references. `sweep` removes both, but only those older than the grace
period (`OMNIFIN_DOCUMENTS_SWEEP_GRACE_SECONDS`): an upload in flight writes its bytes, and has
its complete file, before its row commits, so anything younger is left alone.

Age is the time of the last write (a `.part` file's mtime, the latest part of a multipart
upload, an object's last-modified). Rows are looked up after the listing, in a transaction of
their own, so a file some document references is never removed.
Run hourly by the `documents.sweep_storage` job and by `omnifin documents sweep [--dry-run]`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from lending.db import SessionMaker
from lending.documents.storage import BlobStore, StoredObject
from lending.logs import get_logger
from lending.models.documents import Document

log = get_logger(__name__)

_BATCH = 500


@dataclass(slots=True)
class SweepReport:
    """What a sweep removed (or, dry, would remove), and what it left for being too young."""

    backend: str
    dry_run: bool
    cutoff: datetime
    partial_uploads: int = 0
    partial_bytes: int = 0
    orphans: int = 0
    orphan_bytes: int = 0
    young_partial_uploads: int = 0
    young_unreferenced: int = 0

    def summary(self) -> str:
        verb = "Would remove" if self.dry_run else "Removed"
        return (
            f"{verb} {self.partial_uploads} unfinished uploads ({self.partial_bytes} bytes) and "
            f"{self.orphans} stored files no document references ({self.orphan_bytes} bytes) "
            f"from {self.backend} storage, older than {self.cutoff.isoformat(timespec='seconds')}; "
            f"left {self.young_partial_uploads} unfinished uploads and "
            f"{self.young_unreferenced} unreferenced files younger than that (uploads in flight)."
        )


async def sweep(
    sessionmaker: SessionMaker,
    store: BlobStore,
    *,
    grace: timedelta,
    dry_run: bool = False,
    now: datetime | None = None,
) -> SweepReport:
    """Remove unfinished uploads and unreferenced files last written before `now - grace`."""
    cutoff = (now or datetime.now(UTC)) - grace
    report = SweepReport(backend=store.name, dry_run=dry_run, cutoff=cutoff)

    for partial in await store.partial_uploads():
        if partial.last_activity >= cutoff:
            report.young_partial_uploads += 1
            continue
        if not dry_run:
            await store.remove_partial(partial)
        report.partial_uploads += 1
        report.partial_bytes += partial.size

    # Young files are counted only if unreferenced: the same lookup, for the report's sake.
    batch: list[StoredObject] = []
    async for stored in store.objects():
        batch.append(stored)
        if len(batch) >= _BATCH:
            await _sweep_objects(sessionmaker, store, batch, report)
            batch = []
    if batch:
        await _sweep_objects(sessionmaker, store, batch, report)

    log.info(
        "documents.sweep",
        backend=report.backend,
        dry_run=dry_run,
        cutoff=cutoff.isoformat(),
        partial_uploads=report.partial_uploads,
        partial_bytes=report.partial_bytes,
        orphans=report.orphans,
        orphan_bytes=report.orphan_bytes,
        young_partial_uploads=report.young_partial_uploads,
        young_unreferenced=report.young_unreferenced,
    )
    return report


async def _sweep_objects(
    sessionmaker: SessionMaker, store: BlobStore, batch: list[StoredObject], report: SweepReport
) -> None:
    # Listed first, looked up after: a row committed before the lookup is seen, and one
    # committed after it belongs to an upload younger than the grace period. A file's key is
    # its document's id in hex (the receiver names it so), so the primary key finds the rows;
    # what counts is the storage key those rows name.
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(Document.storage_key).where(
                Document.id.in_([uuid.UUID(hex=stored.key) for stored in batch])
            )
        )
        referenced = set(rows.all())
    for stored in batch:
        if stored.key in referenced:
            continue
        if stored.modified >= report.cutoff:
            report.young_unreferenced += 1
            continue
        if not report.dry_run:
            await store.delete(stored.key)
        report.orphans += 1
        report.orphan_bytes += stored.size
