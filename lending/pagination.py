"""Keyset pagination for lists that page through large tables (the back office's lists).

A cursor is the sort key of the last row shown, so the next page is an index range scan that
costs what the first page costs, however deep: OFFSET would read and drop every earlier row
(about 2 s for page 2,000 of 100,000 applications). Repositories apply `keyset` to a statement
already scoped by the actor; services return a `Page`.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson
from sqlalchemy import Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from lending.errors import InvalidInput

T = TypeVar("T")
R = TypeVar("R")

MAX_PAGE_SIZE = 200
_BAD_CURSOR = "The page cursor is not valid: start again from the first page."


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of rows and the cursor of the next page (None on the last)."""

    items: list[T]
    next_cursor: str | None


def encode_cursor(values: Sequence[Any]) -> str:
    raw = orjson.dumps([_plain(value) for value in values])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, columns: Sequence[InstrumentedAttribute[Any]]) -> list[Any]:
    """The sort-key values a cursor carries, typed like `columns`; InvalidInput when it was not
    made by `encode_cursor` for these columns."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, orjson.JSONDecodeError, ValueError):
        raise InvalidInput(_BAD_CURSOR) from None
    if not isinstance(values, list) or len(values) != len(columns):
        raise InvalidInput(_BAD_CURSOR)
    try:
        return [_typed(value, column) for value, column in zip(values, columns, strict=True)]
    except (TypeError, ValueError):
        raise InvalidInput(_BAD_CURSOR) from None


def keyset(
    statement: Select[Any],
    columns: Sequence[InstrumentedAttribute[Any]],
    *,
    cursor: str | None,
    limit: int,
    descending: bool = True,
) -> Select[Any]:
    """`statement` ordered by `columns` (the last one unique, e.g. the id), starting after
    `cursor`, with one row more than `limit` so the caller knows whether a next page exists."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput(f"A page holds 1 to {MAX_PAGE_SIZE} rows.")
    if cursor:
        values = decode_cursor(cursor, columns)
        key = tuple_(*columns)
        statement = statement.where(key < tuple_(*values) if descending else key > tuple_(*values))
    order = [column.desc() if descending else column.asc() for column in columns]
    return statement.order_by(None).order_by(*order).limit(limit + 1)


async def fetch_page(
    session: AsyncSession,
    statement: Select[Any],
    columns: Sequence[InstrumentedAttribute[Any]],
    *,
    cursor: str | None,
    limit: int,
    descending: bool = True,
    scalars: bool = True,
) -> Page[Any]:
    """Run `keyset(statement, ...)`: the page's rows (ORM objects, or row tuples with
    `scalars=False`) and the cursor after its last row."""
    paged = keyset(statement, columns, cursor=cursor, limit=limit, descending=descending)
    result = await session.execute(paged)
    rows: list[Any] = list(result.scalars().all() if scalars else result.all())
    if len(rows) <= limit:
        return Page(rows, None)
    rows = rows[:limit]
    last = rows[-1]
    return Page(rows, encode_cursor([_value_of(last, column) for column in columns]))


def map_page(page: Page[T], convert: Callable[[T], R]) -> Page[R]:
    return Page([convert(item) for item in page.items], page.next_cursor)


def _value_of(row: Any, column: InstrumentedAttribute[Any]) -> Any:
    if hasattr(row, "_mapping"):
        return row._mapping[column]
    return getattr(row, column.key)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, int | str) or value is None:
        return value
    return str(value)


def _typed(value: Any, column: InstrumentedAttribute[Any]) -> Any:
    python_type = column.type.python_type
    if value is None:
        raise ValueError("no null sort keys")
    if python_type is datetime:
        parsed = datetime.fromisoformat(str(value))
        if parsed.tzinfo is None:
            raise ValueError("naive timestamp")
        return parsed
    if python_type is uuid.UUID:
        return uuid.UUID(str(value))
    if python_type is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError("not an integer")
        return value
    if python_type is str:
        return str(value)
    raise TypeError(f"no cursor for {python_type}")
