"""The agent's side of approvals: the approver a turn's tools run with, and the words and events
that put a pending approval to the person. The objects themselves live in `tools.approvals`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from agents.pii import redact
from lending.db import SessionMaker, transaction
from lending.identity.actor import Actor
from lending.models.tools import ToolApproval
from tools.approvals import ApprovalPending, Confirmation, Decision, approval_service
from tools.base import ToolError
from tools.context import ApprovalRequest


def approval_card(approval: ToolApproval) -> dict[str, Any]:
    """A pending approval as channels show it: the question in the person's words and the facts
    behind it. The tool name is there for programs; people are shown the question."""
    return {
        "approval_id": str(approval.id),
        "tool": approval.tool_name,
        "summary": approval.question,
        "payload": {**approval.details, "expires_at": approval.expires_at.isoformat()},
        "language": approval.language,
        "created_at": approval.created_at.isoformat(),
    }


@dataclass(frozen=True)
class TurnApprover:
    """Decides each irreversible call of one turn from its approval object.

    A call whose question is unanswered raises `ApprovalPending` carrying the question, so the
    tools node can gather every question of the turn before it pauses.
    """

    sessionmaker: SessionMaker
    actor: Actor
    thread_id: uuid.UUID
    channel: str
    ttl: timedelta

    async def __call__(self, request: ApprovalRequest) -> Decision:
        if request.idempotency_key is None:
            raise ToolError(
                "ApprovalRequired", f"{request.tool} needs a call id to be approved.", status=409
            )
        async with transaction(self.sessionmaker) as session:
            decision, approval = await approval_service.decide(
                session,
                self.actor,
                thread_id=self.thread_id,
                tool_name=request.tool,
                call_key=request.idempotency_key,
                arguments_sha256=request.arguments_sha256,
                arguments=redact(request.arguments),
                # Stored and shown redacted like any transcript (a new e-mail address is masked).
                confirmation=Confirmation(
                    en=redact(request.confirmation.en),
                    zh=redact(request.confirmation.zh),
                    details=redact(request.confirmation.details),
                ),
                language=request.language,
                channel=self.channel,
                ttl=self.ttl,
            )
            card = approval_card(approval)
        if decision is Decision.PENDING:
            raise ApprovalPending(request.tool, request.idempotency_key, approval=card)
        return decision
