"""The Postgres checkpointer: LangGraph's saver on its own small connection pool.

Its tables are created by our migrations (revision 0006), not by `setup()` at start-up. The pool
does not check a connection on checkout (a round trip per checkout, PERFORMANCE.md); a broken
connection is replaced when it fails.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from lending.db import libpq_url


@contextlib.asynccontextmanager
async def open_checkpointer(
    database_url: str, *, min_size: int = 2, max_size: int = 10
) -> AsyncIterator[AsyncPostgresSaver]:
    pool: AsyncConnectionPool = AsyncConnectionPool(
        libpq_url(database_url),
        min_size=min_size,
        max_size=max_size,
        kwargs={"autocommit": True, "row_factory": dict_row},
        open=False,
    )
    await pool.open(wait=True)
    try:
        yield AsyncPostgresSaver(pool)  # type: ignore[arg-type]
    finally:
        await pool.close()
