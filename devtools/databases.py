"""Throwaway PostgreSQL databases for the test suite and the benchmarks."""

from __future__ import annotations

import psycopg
from psycopg import sql
from sqlalchemy import make_url

from lending.db import libpq_url


def recreate_database(server_url: str, name: str) -> str:
    """Drop and create database `name` on the server; return its URL."""
    admin = make_url(libpq_url(server_url)).set(database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return admin.set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, name: str) -> None:
    """Drop database `name` on the server if it exists."""
    admin = make_url(libpq_url(server_url)).set(database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
