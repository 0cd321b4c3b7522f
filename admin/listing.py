"""Search, filters and keyset pages, the same on every back-office list."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, TypeVar

from fastapi import Depends, Query, Request

from lending.errors import InvalidInput

E = TypeVar("E", bound=StrEnum)

PAGE_SIZE = 50


@dataclass(frozen=True)
class ListQuery:
    """A list's search text, page cursor and page size, from the address (so a page of
    results can be bookmarked and shared)."""

    q: str | None
    cursor: str | None
    limit: int

    def next_url(self, request: Request, next_cursor: str | None) -> str | None:
        """The next page's address: the same filters with the new cursor."""
        if next_cursor is None:
            return None
        url = request.url.include_query_params(cursor=next_cursor)
        return f"{url.path}?{url.query}"

    def first_url(self, request: Request) -> str | None:
        """Back to the first page (shown once past it)."""
        if self.cursor is None:
            return None
        url = request.url.remove_query_params("cursor")
        return f"{url.path}?{url.query}" if url.query else url.path


async def list_query(
    q: Annotated[str | None, Query(max_length=100)] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = PAGE_SIZE,
) -> ListQuery:
    return ListQuery(q=(q or "").strip() or None, cursor=cursor or None, limit=limit)


ListQueryDep = Annotated[ListQuery, Depends(list_query)]


def enum_filter(kind: type[E], value: str | None, name: str) -> E | None:
    """A filter chosen from a select: empty means all; anything else must be one of `kind`."""
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        raise InvalidInput(f"Unknown {name}: {value}.") from None
