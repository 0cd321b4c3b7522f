"""Creating and restoring a backup archive.

An archive is an uncompressed tar (the dump is compressed by pg_dump, the documents are
ciphertext) of:

- `database.dump`: `pg_dump --format=custom` taken on a snapshot exported by a REPEATABLE READ
  transaction; the list of documents to copy is read in that same snapshot, so every document
  row in the dump has its file in the archive.
- `documents/<storage key>`: the stored files exactly as on disk (still encrypted; their data
  keys are in the dump, wrapped by the master key).
- `MANIFEST.json`: format, time, migration revision, the ids of the master keys the sealed values
  need (never the keys), and the size and SHA-256 of every other member;
  `MANIFEST.json.sha256`: the manifest's own digest.

A restore checks the manifest, every checksum and the key ids before it touches anything, then
restores into a new database, runs the migrations when the archive is older than the code,
stages the documents beside the live folder, and swaps both in (the database by two renames in
one transaction). The previous database and folder are kept under a dated name.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psycopg
from psycopg import sql
from sqlalchemy import make_url

from lending import crypto
from lending.config import Settings
from lending.db import libpq_url
from lending.documents.storage import LocalBlobStore, blob_store

FORMAT = "omnifin-backup/1"
MANIFEST = "MANIFEST.json"
MANIFEST_SUM = "MANIFEST.json.sha256"
DUMP = "database.dump"
DOCUMENTS = "documents/"
_COPY_BYTES = 1_048_576


class BackupError(Exception):
    """A backup cannot be made or restored; the message says why in one sentence."""


@dataclass(slots=True)
class BackupResult:
    path: Path
    revision: str | None
    documents: int
    size_bytes: int
    key_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class RestoreResult:
    revision_in_archive: str | None
    revision_now: str | None
    documents: int
    previous_database: str | None
    previous_documents_dir: Path | None
    # Erasures completed after the archive was made, carried out again before the swap.
    erasures_reapplied: int = 0


def pg_program(name: str) -> str:
    """A PostgreSQL client program: the embedded server's own, else the one on PATH."""
    try:
        from pgserver._commands import POSTGRES_BIN_PATH

        bundled = Path(POSTGRES_BIN_PATH) / name
        if bundled.exists():
            return str(bundled)
    except ImportError:  # pragma: no cover - pgserver is a dependency
        pass
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} was not found (it comes with PostgreSQL's client programs).")
    return found


def _local_store(settings: Settings) -> LocalBlobStore:
    store = blob_store(settings)
    if not isinstance(store, LocalBlobStore):
        raise BackupError(
            "Documents are in object storage: back the bucket up with its own versioning and "
            "replication (see the README); `omnifin backup` covers the local store only."
        )
    return store


def _sha256_file(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while data := handle.read(_COPY_BYTES):
            digest.update(data)
            size += len(data)
    return digest.hexdigest(), size


def _key_ids(conn: psycopg.Connection[Any]) -> list[str]:
    """The ids of the master keys that sealed any value in the database: every binary column is
    scanned for the sealed-value header (lending.crypto), which names the key that sealed it."""
    columns = conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'public' AND data_type = 'bytea' ORDER BY 1, 2"
    ).fetchall()
    found: set[str] = set()
    for table, column in columns:
        query = sql.SQL(
            "SELECT DISTINCT encode(substring({c} from 4 for 8), 'hex') FROM {t} "
            # The sealed-value header: magic "OF", version 1, then the key id; shorter values
            # (a random salt) cannot be sealed values, whatever their first bytes.
            "WHERE substring({c} from 1 for 3) = '\\x4f4601'::bytea AND length({c}) >= 99"
        ).format(c=sql.Identifier(column), t=sql.Identifier(table))
        found.update(row[0] for row in conn.execute(query))
    return sorted(found)


def _revision(conn: psycopg.Connection[Any]) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except psycopg.errors.UndefinedTable:
        return None
    return row[0] if row else None


def create_backup(settings: Settings, database_url: str, out_dir: Path) -> BackupResult:
    """Write one archive of the database and the document store into `out_dir`."""
    store = _local_store(settings)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    final = out_dir / f"omnifin-backup-{stamp}.tar"
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".backup-") as work_name:
        work = Path(work_name)
        dump = work / DUMP
        with psycopg.connect(libpq_url(database_url)) as conn:
            # The snapshot lives as long as this transaction: pg_dump and the document list
            # below both see exactly the same committed state.
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            row = conn.execute("SELECT pg_export_snapshot()").fetchone()
            assert row is not None
            snapshot = row[0]
            revision = _revision(conn)
            key_ids = _key_ids(conn)
            documents = [
                key
                for (key,) in conn.execute(
                    "SELECT storage_key FROM document WHERE storage_backend = 'local' "
                    "ORDER BY storage_key"
                )
            ]
            _run(
                [
                    pg_program("pg_dump"),
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={snapshot}",
                    f"--file={dump}",
                    f"--dbname={libpq_url(database_url)}",
                ],
                "pg_dump failed",
            )
            conn.rollback()
        members: dict[str, dict[str, Any]] = {}
        sha, size = _sha256_file(dump)
        members[DUMP] = {"sha256": sha, "size": size}
        with tarfile.open(work / "archive.tar", "w", format=tarfile.PAX_FORMAT) as tar:
            tar.add(dump, arcname=DUMP)
            for key in documents:
                path = store.path(key)
                if not path.exists():
                    raise BackupError(
                        f"Document file {key} is referenced by the database but missing from "
                        f"{store.root}; nothing was written. Run the backup again (a document may "
                        "have been removed meanwhile) or restore the file."
                    )
                sha, size = _sha256_file(path)
                members[DOCUMENTS + key] = {"sha256": sha, "size": size}
                tar.add(path, arcname=DOCUMENTS + key)
            manifest = orjson.dumps(
                {
                    "format": FORMAT,
                    "created_at": datetime.now(UTC).isoformat(),
                    "revision": revision,
                    "key_ids": key_ids,
                    "documents": len(documents),
                    "members": members,
                },
                option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS,
            )
            _add_bytes(tar, MANIFEST, manifest)
            _add_bytes(tar, MANIFEST_SUM, hashlib.sha256(manifest).hexdigest().encode())
        os.replace(work / "archive.tar", final)
    return BackupResult(
        path=final,
        revision=revision,
        documents=len(documents),
        size_bytes=final.stat().st_size,
        key_ids=key_ids,
    )


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(datetime.now(UTC).timestamp())
    tar.addfile(info, io.BytesIO(data))


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise BackupError(f"{what}: {last}")


def check_archive(archive: Path, settings: Settings) -> dict[str, Any]:
    """The archive's manifest, once every member and checksum is right and every key id it
    needs is configured; otherwise BackupError naming the first problem. Reads every byte."""
    if not archive.is_file():
        raise BackupError(f"{archive} is not a file.")
    try:
        with tarfile.open(archive, "r:") as tar:
            names = tar.getnames()
            for name in (MANIFEST, MANIFEST_SUM):
                if name not in names:
                    raise BackupError(f"{archive.name} is not an Omnifin backup (no {name}).")
            manifest_bytes = _read_member(tar, MANIFEST)
            expected = _read_member(tar, MANIFEST_SUM).decode().strip()
            if hashlib.sha256(manifest_bytes).hexdigest() != expected:
                raise BackupError(
                    "The archive is damaged: its manifest does not match its checksum."
                )
            manifest = orjson.loads(manifest_bytes)
            if manifest.get("format") != FORMAT:
                raise BackupError(
                    f"Unknown backup format {manifest.get('format')!r} (this code reads {FORMAT})."
                )
            members: dict[str, dict[str, Any]] = manifest["members"]
            extra = set(names) - set(members) - {MANIFEST, MANIFEST_SUM}
            if extra:
                raise BackupError(
                    f"The archive holds files its manifest does not list: {sorted(extra)[:3]}."
                )
            for name, expected_member in members.items():
                if name != DUMP and not _is_document_member(name):
                    raise BackupError(f"The manifest lists an unexpected member {name!r}.")
                if name not in names:
                    raise BackupError(f"The archive is damaged: {name} is missing.")
                digest, size = _member_digest(tar, name)
                if (digest, size) != (expected_member["sha256"], expected_member["size"]):
                    raise BackupError(
                        f"The archive is damaged: {name} does not match its checksum."
                    )
    except tarfile.TarError as error:
        raise BackupError(f"The archive is damaged or not a tar file ({error}).") from None
    configured = {
        crypto.key_id(crypto.derive_master_key(secret)).hex() for secret in _secrets(settings)
    }
    missing = sorted(set(manifest["key_ids"]) - configured)
    if missing:
        raise BackupError(
            f"The archive needs master key ids {', '.join(missing)}, which are not configured "
            "(OMNIFIN_ENCRYPTION_KEY or OMNIFIN_ENCRYPTION_PREVIOUS_KEYS); nothing was restored."
        )
    return dict(manifest)


def _secrets(settings: Settings) -> list[str]:
    return [settings.secret("encryption_key").get_secret_value()] + [
        key.get_secret_value() for key in settings.encryption_previous_keys
    ]


def _is_document_member(name: str) -> bool:
    key = name.removeprefix(DOCUMENTS)
    return (
        name.startswith(DOCUMENTS) and len(key) == 32 and all(c in "0123456789abcdef" for c in key)
    )


def _read_member(tar: tarfile.TarFile, name: str) -> bytes:
    handle = tar.extractfile(name)
    if handle is None:
        raise BackupError(f"The archive is damaged: {name} is not a file.")
    return handle.read()


def _member_digest(tar: tarfile.TarFile, name: str) -> tuple[str, int]:
    handle = tar.extractfile(name)
    if handle is None:
        raise BackupError(f"The archive is damaged: {name} is not a file.")
    digest, size = hashlib.sha256(), 0
    while data := handle.read(_COPY_BYTES):
        digest.update(data)
        size += len(data)
    return digest.hexdigest(), size


def restore_backup(
    settings: Settings,
    database_url: str,
    archive: Path,
    *,
    reapply: Callable[[str, LocalBlobStore], int] | None = None,
) -> RestoreResult:
    """Replace the database and the document store with the archive's, or change nothing.

    `reapply(staging_url, staging_files)` runs on the restored, migrated database and its
    documents before they are swapped in (lending.privacy.restore passes the re-application of
    completed erasures); it returns how many it re-applied, and its failure changes nothing."""
    from lending import migrations

    store = _local_store(settings)
    manifest = check_archive(archive, settings)
    known = migrations.known_revisions()
    revision = manifest["revision"]
    if revision is not None and revision not in known:
        raise BackupError(
            f"The archive is at migration {revision}, which this code does not know (a newer "
            "version made it): restore it with that version."
        )
    target = make_url(libpq_url(database_url))
    name = target.database
    if not name:
        raise BackupError("The database URL names no database.")
    suffix = datetime.now(UTC).strftime("%Y%m%d%H%M%S") + uuid.uuid4().hex[:6]
    staging_db = f"{name}_restore_{suffix}"[:63]
    previous_db = f"{name}_before_{suffix}"[:63]
    admin = target.set(database="postgres").render_as_string(hide_password=False)
    staging_url = target.set(database=staging_db).render_as_string(hide_password=False)
    root = store.root
    staging_dir = root.with_name(f".{root.name}.restore-{suffix}")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(staging_db)))
    try:
        with tempfile.TemporaryDirectory(dir=root.parent, prefix=".restore-") as work_name:
            work = Path(work_name)
            with tarfile.open(archive, "r:") as tar:
                tar.extract(DUMP, work, filter="data")
                staging_dir.mkdir(mode=0o700)
                for member in manifest["members"]:
                    if _is_document_member(member):
                        key = member.removeprefix(DOCUMENTS)
                        target_path = staging_dir / key[:2] / key
                        target_path.parent.mkdir(exist_ok=True, mode=0o700)
                        source = tar.extractfile(member)
                        assert source is not None
                        with target_path.open("wb") as out:
                            shutil.copyfileobj(source, out, _COPY_BYTES)
            _run(
                [
                    pg_program("pg_restore"),
                    "--no-owner",
                    "--no-privileges",
                    "--exit-on-error",
                    "--single-transaction",
                    f"--dbname={staging_url}",
                    str(work / DUMP),
                ],
                "The database dump did not restore (nothing was changed)",
            )
        migrations.upgrade(staging_url)
        revision_now = migrations.current_revision(staging_url)
        reapplied = reapply(staging_url, LocalBlobStore(staging_dir)) if reapply else 0
        had_previous = _swap_databases(admin, name, staging_db, previous_db)
    except BaseException:
        _drop(admin, staging_db)
        shutil.rmtree(staging_dir, ignore_errors=True)
        raise
    previous_dir: Path | None = root.with_name(f"{root.name}.before-restore-{suffix}")
    try:
        if root.exists():
            os.replace(root, previous_dir)  # type: ignore[arg-type]
        else:
            previous_dir = None
        os.replace(staging_dir, root)
    except OSError as error:
        # Put the database back as it was: the restore is whole or not at all.
        _swap_back(admin, name, staging_db, previous_db, had_previous)
        if previous_dir is not None and previous_dir.exists() and not root.exists():
            os.replace(previous_dir, root)
        shutil.rmtree(staging_dir, ignore_errors=True)
        raise BackupError(
            f"The document folder could not be replaced ({error}); nothing changed."
        ) from None
    return RestoreResult(
        revision_in_archive=revision,
        revision_now=revision_now,
        documents=int(manifest["documents"]),
        previous_database=previous_db if had_previous else None,
        previous_documents_dir=previous_dir,
        erasures_reapplied=reapplied,
    )


def _swap_databases(admin: str, name: str, staging: str, previous: str) -> bool:
    """Rename the live database aside and the restored one into its place, in one transaction.

    Refuses while another session is connected to the live database (a running server)."""
    _let_closed_sessions_go(admin, name)
    with psycopg.connect(admin) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists is not None:
            busy = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> "
                "pg_backend_pid()",
                (name,),
            ).fetchone()
            if busy is not None and busy[0]:
                raise BackupError(
                    f"{busy[0]} session(s) are connected to database {name}: stop `omnifin "
                    "serve` and workers first; nothing was changed."
                )
            conn.execute(
                sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                    sql.Identifier(name), sql.Identifier(previous)
                )
            )
        conn.execute(
            sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                sql.Identifier(staging), sql.Identifier(name)
            )
        )
        conn.commit()
    return exists is not None


def _let_closed_sessions_go(admin: str, name: str, seconds: float = 3.0) -> None:
    """Wait a moment for sessions that have just disconnected (the backup's own, the erasure
    ledger's reader) to leave pg_stat_activity: a backend exits shortly after its client closes.
    A server still connected stays listed, and the swap then refuses."""
    deadline = time.monotonic() + seconds
    with psycopg.connect(admin, autocommit=True) as conn:
        while time.monotonic() < deadline:
            busy = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> "
                "pg_backend_pid()",
                (name,),
            ).fetchone()
            if busy is None or not busy[0]:
                return
            time.sleep(0.1)


def _swap_back(admin: str, name: str, staging: str, previous: str, had_previous: bool) -> None:
    with psycopg.connect(admin) as conn:
        conn.execute(
            sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                sql.Identifier(name), sql.Identifier(staging)
            )
        )
        if had_previous:
            conn.execute(
                sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                    sql.Identifier(previous), sql.Identifier(name)
                )
            )
        conn.commit()
    _drop(admin, staging)


def _drop(admin: str, database: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
        )


def prune(out_dir: Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` archives in `out_dir`; return what was removed."""
    archives = sorted(out_dir.glob("omnifin-backup-*.tar"))
    removed = archives[: max(0, len(archives) - keep)]
    for path in removed:
        path.unlink()
    return removed
