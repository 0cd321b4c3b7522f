"""Migrations apply to an empty database, revert completely, and apply again."""

from __future__ import annotations

import psycopg

from devtools.databases import recreate_database
from lending import migrations


def _objects(url: str) -> dict[str, set[str]]:
    with psycopg.connect(url) as conn:
        tables = {
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            ).fetchall()
        }
        extensions = {row[0] for row in conn.execute("SELECT extname FROM pg_extension")}
        types = {
            row[0]
            for row in conn.execute(
                "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
                "WHERE n.nspname = 'public' AND (t.typtype = 'e' OR (t.typtype = 'c' AND "
                "(SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))"
            )
        }
        functions = {
            row[0]
            for row in conn.execute(
                "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE n.nspname = 'public' AND p.proname NOT LIKE 'vector%'"
                " AND p.prokind = 'f' AND NOT EXISTS (SELECT 1 FROM pg_depend d "
                "  WHERE d.objid = p.oid AND d.deptype = 'e')"
            )
        }
    return {"tables": tables, "extensions": extensions, "types": types, "functions": functions}


def test_up_down_up_on_an_empty_database(server_url: str) -> None:
    url = recreate_database(server_url, "omnifin_migrations_test")
    empty = _objects(url)

    migrations.upgrade(url)
    assert migrations.current_revision(url) == migrations.head_revision()
    applied = _objects(url)
    assert "vector" in applied["extensions"]
    assert "procrastinate_jobs" in applied["tables"]

    migrations.downgrade(url, "base")
    assert migrations.current_revision(url) is None
    reverted = _objects(url)
    assert reverted["extensions"] == empty["extensions"]
    assert reverted["types"] == empty["types"]
    assert reverted["functions"] == empty["functions"]
    assert reverted["tables"] - {"alembic_version"} == empty["tables"]

    migrations.upgrade(url)
    assert _objects(url) == applied
