"""The SQL a block of code sends, for tests that compare two paths' work (e.g. that a request
does the same for an address with an account as for one without): the sequence of statements is
what response time follows, and unlike a clock it does not vary between runs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

# The test's transaction turns commits into numbered savepoints; the number is not work.
_SAVEPOINT = re.compile(r"sa_savepoint_\d+")


@contextmanager
def statements_sent(engine: AsyncEngine) -> Iterator[list[str]]:
    """The statements' texts (parameters aside) sent on `engine` while the block runs."""
    seen: list[str] = []

    def record(*args: Any) -> None:  # (connection, cursor, statement, parameters, ...)
        seen.append(_SAVEPOINT.sub("sa_savepoint_n", str(args[2])))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
