"""`omnifin backup create` and `omnifin backup restore`: the embedded default's database and
document store in one checked archive (lending.backups)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import database_url, fail, setup

app = typer.Typer(help="Backups of the database and the document store.", no_args_is_help=True)


@app.command("create")
def create(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Folder for the archive (default: OMNIFIN_BACKUP_DIR or <state>/backups)."
        ),
    ] = None,
) -> None:
    """Write a consistent database dump and the (still encrypted) document files into one archive
    with a checksum manifest. The archive names the master key ids it needs, never the keys:
    keep OMNIFIN_ENCRYPTION_KEY somewhere else."""
    from lending.backups.archive import BackupError, create_backup

    settings = setup(json_logs=False)
    url = database_url(settings)
    target = out or settings.backup_dir or settings.state_dir / "backups"
    try:
        result = create_backup(settings, url, target)
    except BackupError as exc:
        fail(str(exc))
    typer.echo(
        f"Backup written: {result.path} ({result.size_bytes} bytes; migration "
        f"{result.revision}; {result.documents} documents; needs master key ids "
        f"{', '.join(result.key_ids) or 'none'})."
    )


@app.command("restore")
def restore(
    archive: Annotated[Path, typer.Argument(help="An archive written by `omnifin backup create`.")],
) -> None:
    """Replace the database and the document store with an archive's, after checking every
    checksum and that the master keys it needs are configured. Stop the server and workers
    first. Restores into a new database, migrates it when the archive is older than this code,
    then swaps it in; on any failure nothing changes. The previous database and document folder
    are kept under a dated name. Erasures completed after the archive was made (the ledger file
    and the database being replaced record them) are carried out again before the swap."""
    from lending.backups.archive import BackupError
    from lending.privacy.restore import restore_keeping_erasures

    settings = setup(json_logs=False)
    url = database_url(settings)
    # The embedded server holds no session of ours after the preflight check.
    try:
        result = restore_keeping_erasures(settings, url, archive)
    except BackupError as exc:
        fail(f"Restore refused: {exc}")
    kept = []
    if result.previous_database:
        kept.append(f"database {result.previous_database}")
    if result.previous_documents_dir:
        kept.append(f"folder {result.previous_documents_dir}")
    typer.echo(
        f"Restored {archive.name}: migration {result.revision_in_archive} -> "
        f"{result.revision_now}, {result.documents} documents."
        + (
            f" {result.erasures_reapplied} erasure(s) completed after the archive was made were "
            "carried out again."
            if result.erasures_reapplied
            else ""
        )
        + (
            f" The previous state is kept as {' and '.join(kept)}; remove it when satisfied."
            if kept
            else ""
        )
    )


@app.command("reapply-erasures")
def reapply_erasures() -> None:
    """Carry out again every erasure recorded in the ledger file (OMNIFIN_ERASURE_LEDGER_PATH)
    that the database does not show: after a production point-in-time recovery, which restores
    the database to before an erasure. `backup restore` does this by itself."""
    from lending.privacy.restore import reapply_from_ledger

    settings = setup(json_logs=False)
    count = reapply_from_ledger(settings, database_url(settings))
    typer.echo(
        f"{count} erasure(s) carried out again." if count else "Every recorded erasure holds."
    )
