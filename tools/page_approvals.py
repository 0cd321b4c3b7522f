"""Approvals asked by a web page rather than a conversation (the offer page's Accept button): the
same objects, questions and rules as the assistant's, answered by id, the call run once."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from pydantic import BaseModel

from lending.db import transaction
from lending.errors import Conflict, NotFound
from lending.models.tools import ApprovalStatus, ToolApproval
from tools.approvals import ApprovalPending, Decision, Resolution, approval_service
from tools.context import ApprovalRequest, ToolContext
from tools.registry import ToolRegistry, fingerprint


class PageApprovals:
    async def ask(
        self,
        registry: ToolRegistry,
        context: ToolContext,
        tool_name: str,
        arguments: Mapping[str, Any],
        *,
        ttl: timedelta,
    ) -> ToolApproval:
        """Rehearse the call (a refusal is the tool's) and ask the person: the new approval."""
        asked: list[ToolApproval] = []

        async def approver(request: ApprovalRequest) -> Decision:
            async with transaction(context.sessionmaker) as session:
                approval = await approval_service.ask(
                    session,
                    context.actor,
                    tool_name=request.tool,
                    arguments_sha256=request.arguments_sha256,
                    arguments=request.arguments,
                    confirmation=request.confirmation,
                    language=request.language,
                    channel=context.channel,
                    ttl=ttl,
                )
            asked.append(approval)
            raise ApprovalPending(request.tool, approval.call_key)

        try:
            await registry.execute(
                tool_name, arguments, dataclasses.replace(context, approver=approver)
            )
        except ApprovalPending:
            return asked[0]
        raise Conflict(f"{tool_name} needs no approval here.")

    async def answer(
        self,
        registry: ToolRegistry,
        context: ToolContext,
        approval_id: uuid.UUID,
        *,
        approved: bool,
        channel: str,
        expected: Mapping[str, str],
    ) -> tuple[Resolution, BaseModel | None]:
        """Answer an approval by id; an approval runs exactly the call it showed, once.

        Raises:
            NotFound: not the actor's approval, or not about `expected` (tool and arguments).
            Conflict: answered otherwise already, or expired (ask again). Approving an
                approved question again returns the first result.
        """
        async with transaction(context.sessionmaker) as session:
            found = await approval_service.get(session, context.actor, approval_id)
            if any(
                str(found.arguments.get(key) if key != "tool" else found.tool_name) != value
                for key, value in expected.items()
            ):
                raise NotFound("No such approval is waiting for you.")
            if approved and found.status in (ApprovalStatus.APPROVED, ApprovalStatus.EXECUTED):
                # A second click on an approved question: the same call, whose stored result
                # the registry returns (it runs once).
                resolution = Resolution(found, "approved")
            else:
                resolution = await approval_service.resolve(
                    session,
                    context.actor,
                    approval_id,
                    approved=approved,
                    channel=channel,
                    origin=context.origin,
                )
        approval = resolution.approval
        if resolution.outcome == "expired":
            raise Conflict("This approval has expired and nothing was done; ask again.")
        if resolution.outcome == "rejected":
            return resolution, None
        tool = registry.get(approval.tool_name)
        if fingerprint(tool, approval.arguments, context.settings) != approval.arguments_sha256:
            raise Conflict("This approval does not cover these arguments; nothing was done.")
        output = await registry.execute(
            approval.tool_name,
            approval.arguments,
            context,
            idempotency_key=approval.call_key,
            approved=True,
        )
        async with transaction(context.sessionmaker) as session:
            await approval_service.mark_executed(session, context.actor, call_key=approval.call_key)
        return resolution, output


page_approvals = PageApprovals()
