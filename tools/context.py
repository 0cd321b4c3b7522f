"""What a tool call runs with: who acts, where the database is, and how approvals are asked."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from lending.audit.schemas import Origin
from lending.config import Settings
from lending.db import SessionMaker
from lending.identity.actor import Actor


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """What a person is asked to approve before an irreversible tool runs (the payload of the
    runner's `interrupt.requested` event)."""

    tool: str
    summary: str
    arguments: dict[str, Any]
    idempotency_key: str | None


# Returns whether the person approved. An agent runner may implement it with LangGraph's
# `interrupt()`, whose exception must propagate: the registry calls it outside its error mapping.
Approver = Callable[[ApprovalRequest], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class ToolContext:
    """Run-scoped dependencies of the tools; the actor comes from here, never from arguments.

    Attributes:
        actor: Who the assistant acts for; every tool checks its scopes again at execution.
        sessionmaker: Each call opens its own short transaction from it, because a chat or
            voice stream outlives any request's session.
        settings: The platform settings (encryption keys, limits).
        channel: Where the call comes from: chat, voice, web, api or eval.
        thread_id: The conversation, so a model's tool-call id (unique only within one
            conversation) makes an idempotency key unique for the actor.
        origin: Request id and address for the audit log.
        approver: Asks a person to approve an irreversible call; without one such calls are
            refused unless the caller passes `approved=True`.
    """

    actor: Actor
    sessionmaker: SessionMaker
    settings: Settings
    channel: str = "chat"
    thread_id: str | None = None
    origin: Origin | None = None
    approver: Approver | None = field(default=None, compare=False)
