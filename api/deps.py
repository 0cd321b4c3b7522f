"""Annotated dependencies shared by routes: app state, the request's database session, the store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from agents.turns import TurnDispatcher
from api.state import AppState
from lending.db import discard_after_commit, run_after_commit
from lending.errors import ServiceUnavailable
from lending.kv import Store


async def get_state(request: Request) -> AppState:
    # async: FastAPI runs a plain `def` dependency in the thread pool, a hop on every request.
    state: AppState = request.app.state.omnifin
    return state


StateDep = Annotated[AppState, Depends(get_state)]


async def get_session(state: StateDep) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: services never commit; this commits once the route returned."""
    assert state.sessionmaker is not None, "lifespan not started"
    async with state.sessionmaker() as session:
        try:
            yield session
        except Exception:
            await session.rollback()
            discard_after_commit(session)
            raise
        else:
            await session.commit()
            await run_after_commit(session)


# scope="function": the commit runs before the response is sent, so a client never hears
# "done" about work that then fails to commit (FastAPI otherwise cleans up after sending).
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_store(state: StateDep) -> Store:
    assert state.store is not None, "lifespan not started"
    return state.store


StoreDep = Annotated[Store, Depends(get_store)]


async def get_turns(state: StateDep) -> TurnDispatcher:
    """Where turns start: the process's dispatcher (503 when the assistant is not running)."""
    if state.turns is None:
        raise ServiceUnavailable("The assistant is not running in this process.")
    return state.turns


TurnsDep = Annotated[TurnDispatcher, Depends(get_turns)]
