"""What a tool call runs with: who acts, where the database is, and how approvals are asked."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from lending.audit.schemas import Origin
from lending.config import Settings
from lending.db import SessionMaker
from lending.identity.actor import Actor
from tools.approvals import Confirmation, Decision


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """What a person is asked to approve before an irreversible tool runs (the payload of the
    runner's `interrupt.requested` event)."""

    tool: str
    confirmation: Confirmation
    arguments: dict[str, Any]
    arguments_sha256: str
    idempotency_key: str | None
    language: str = "en"

    @property
    def summary(self) -> str:
        """The question as the person reads it, in their language."""
        return self.confirmation.text(self.language)


# Where the call stands: approved (run it), rejected (never run it) or pending (the question is
# asked; the call waits). It is called outside the registry's error mapping, so an approver may
# also pause a run by raising (LangGraph's `interrupt()`).
Approver = Callable[[ApprovalRequest], Awaitable[Decision]]


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
        language: The person's language (en or zh): approval questions are put in it.
    """

    actor: Actor
    sessionmaker: SessionMaker
    settings: Settings
    channel: str = "chat"
    thread_id: str | None = None
    origin: Origin | None = None
    approver: Approver | None = field(default=None, compare=False)
    language: str = "en"
