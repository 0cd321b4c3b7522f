"""Tool contexts for the tests: the actor, the test's sessionmaker, the test settings."""

from __future__ import annotations

from lending.config import Settings
from lending.db import SessionMaker
from lending.models.identity import User
from tests.identity.factories import actor_of
from tools.context import Approver, ToolContext


def context_for(
    user: User,
    sessionmaker: SessionMaker,
    settings: Settings,
    *,
    approver: Approver | None = None,
    thread_id: str | None = "thread-1",
) -> ToolContext:
    return ToolContext(
        actor=actor_of(user),
        sessionmaker=sessionmaker,
        settings=settings,
        channel="chat",
        thread_id=thread_id,
        approver=approver,
    )
