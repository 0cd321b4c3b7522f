"""Isolated database state per scenario: a template database (migrated, lender catalog, knowledge
base) built once, and a fresh clone of it for every scenario run (CREATE DATABASE ... TEMPLATE)."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import uuid

import psycopg
from psycopg import sql
from sqlalchemy import make_url

from lending import migrations
from lending.config import Settings
from lending.db import create_engine, create_sessionmaker, libpq_url, transaction

TEMPLATE = "omnifin_evals_template"
_counter = itertools.count(1)


def _admin_url(server_url: str) -> str:
    return make_url(libpq_url(server_url)).set(database="postgres").render_as_string(False)


def _url_of(server_url: str, name: str) -> str:
    return make_url(libpq_url(server_url)).set(database=name).render_as_string(False)


def template_stamp() -> str:
    """What the template holds: the migration head and the seed content it was built from.
    A template with another stamp is rebuilt."""
    from knowledge.seed import LENDERS_FILE, seed_files
    from lending.lenders.demo import DEMO_CATALOG_PATH

    digest = hashlib.sha256(str(migrations.head_revision()).encode())
    for path in [DEMO_CATALOG_PATH, LENDERS_FILE, *seed_files()]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:24]


class Databases:
    """Clones of one template on the server of `server_url` (the settings' server)."""

    def __init__(self, server_url: str, settings: Settings, template: str = TEMPLATE) -> None:
        self.server_url = server_url
        self.settings = settings
        self.template = template
        # CREATE DATABASE copies the template's files; one at a time keeps the server from
        # refusing a clone while another is being made from the same template.
        self._clone_lock = asyncio.Lock()
        # Clones are dropped in the background: a scenario does not wait for its own drop.
        self._drops: set[asyncio.Task[None]] = set()

    async def ensure_template(self) -> bool:
        """Build the template unless one with the current stamp exists; True when built."""
        stamp = template_stamp()
        if await asyncio.to_thread(self._stamp) == stamp:
            return False
        await asyncio.to_thread(self._execute, "DROP DATABASE IF EXISTS {} WITH (FORCE)")
        await asyncio.to_thread(self._execute, "CREATE DATABASE {}")
        url = _url_of(self.server_url, self.template)
        await asyncio.to_thread(migrations.upgrade, url)
        await self._seed(url)
        # The stamp goes on last: a build that stopped half-way is never taken for a template.
        await asyncio.to_thread(
            self._execute, "COMMENT ON DATABASE {} IS " + sql.quote(f"omnifin-evals {stamp}")
        )
        return True

    async def _seed(self, url: str) -> None:
        from knowledge.seed import seed_knowledge
        from lending.lenders.demo import load_catalog, load_into

        engine = create_engine(self.settings, url)
        try:
            async with transaction(create_sessionmaker(engine)) as session:
                await load_into(session, load_catalog())
                # The deterministic embedder: retrieval in the evals must not depend on a model
                # download, and guided/scripted suites must give the same answer every run.
                await seed_knowledge(session, self.settings)
        finally:
            await engine.dispose()

    def _stamp(self) -> str | None:
        with psycopg.connect(_admin_url(self.server_url), autocommit=True) as conn:
            row = conn.execute(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                (self.template,),
            ).fetchone()
        if row is None or not row[0] or not str(row[0]).startswith("omnifin-evals "):
            return None
        return str(row[0]).removeprefix("omnifin-evals ")

    def _execute(self, statement: str) -> None:
        with psycopg.connect(_admin_url(self.server_url), autocommit=True) as conn:
            conn.execute(sql.SQL(statement).format(sql.Identifier(self.template)))

    async def clone(self) -> str:
        """A new database copied from the template; returns its URL."""
        name = f"omnifin_eval_{os.getpid()}_{next(_counter)}_{uuid.uuid4().hex[:6]}"
        async with self._clone_lock:
            await asyncio.to_thread(self._clone, name)
        return _url_of(self.server_url, name)

    def _clone(self, name: str) -> None:
        with psycopg.connect(_admin_url(self.server_url), autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY WAL_LOG").format(
                    sql.Identifier(name), sql.Identifier(self.template)
                )
            )

    def drop_later(self, url: str) -> None:
        """Drop a clone in the background; `close` waits for every drop."""
        name = make_url(url).database
        # Only ever a clone of ours: never a database the harness did not make.
        if not name or not name.startswith("omnifin_eval_"):
            raise ValueError(f"not an eval clone: {name!r}")

        def drop() -> None:
            with psycopg.connect(_admin_url(self.server_url), autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )

        task = asyncio.create_task(asyncio.to_thread(drop))
        self._drops.add(task)
        task.add_done_callback(self._drops.discard)

    async def close(self) -> None:
        """Wait until every clone is dropped."""
        while self._drops:
            await asyncio.gather(*list(self._drops))
