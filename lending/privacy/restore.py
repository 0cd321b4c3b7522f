"""Restoring a backup without bringing erased people back.

Wraps lending.backups.archive.restore_backup: the completed erasures are read from the ledger
file and from the database about to be replaced (whichever still exists; those missing from the
file are added to it first), and re-applied to the restored database and its documents before
they are swapped in. A failure there changes nothing, like any other restore failure.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg

from lending.backups.archive import BackupError, RestoreResult, restore_backup
from lending.config import Settings
from lending.db import create_engine, create_sessionmaker, libpq_url, transaction
from lending.documents.storage import BlobStore, LocalBlobStore, blob_store
from lending.privacy.ledger import (
    ErasureRecord,
    append_to_ledger,
    ledger_path,
    read_ledger,
    reapply_erasures,
)


def restore_keeping_erasures(settings: Settings, database_url: str, archive: Path) -> RestoreResult:
    """Restore `archive`; every erasure completed since it was made is carried out again."""
    path = ledger_path(settings)
    try:
        append_to_ledger(path, _erasures_in(database_url))
        records = read_ledger(path)
    except ValueError as error:
        raise BackupError(f"The record of completed erasures is damaged ({error}).") from None

    def reapply(staging_url: str, files: LocalBlobStore) -> int:
        return len(asyncio.run(_reapply(settings, staging_url, files, records)))

    return restore_backup(settings, database_url, archive, reapply=reapply)


def _erasures_in(url: str) -> list[ErasureRecord]:
    """The completed erasures of the database at `url`; none if it is gone or never migrated.

    Read over a connection of its own, closed before the restore's swap (which waits a moment
    for closed sessions to leave) checks that nobody is connected."""
    columns = (
        "id, subject_user_id, pseudonym, completed_at, requested_by_user_id, reviewed_by_user_id"
    )
    try:
        with psycopg.connect(libpq_url(url)) as conn:
            rows = conn.execute(
                f"SELECT {columns} FROM erasure_request WHERE status = 'completed' "  # noqa: S608
                "ORDER BY completed_at"
            ).fetchall()
    except (psycopg.OperationalError, psycopg.errors.UndefinedTable):
        return []
    return [
        ErasureRecord(
            request_id=row[0],
            subject_user_id=row[1],
            pseudonym=row[2],
            completed_at=row[3],
            requested_by_user_id=row[4],
            reviewed_by_user_id=row[5],
        )
        for row in rows
    ]


async def _reapply(
    settings: Settings, url: str, files: BlobStore, records: list[ErasureRecord]
) -> list[object]:
    engine = create_engine(settings, url)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            return list(await reapply_erasures(session, records, files))
    finally:
        await engine.dispose()


def reapply_from_ledger(settings: Settings, database_url: str) -> int:
    """Carry out again, on the database as it is now, every erasure the ledger file records and
    the database does not (after a point-in-time recovery of a production server, which this
    code does not run itself); return how many. Documents go from the configured store."""
    records = read_ledger(ledger_path(settings))
    return len(asyncio.run(_reapply(settings, database_url, blob_store(settings), records)))
