"""The contract of a guided policy: given the conversation, the next reply or tool calls."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from langchain_core.messages import AIMessage, ToolMessage

if TYPE_CHECKING:
    from agents.core.context import AgentContext
    from agents.core.state import AgentState


@dataclass
class GuidedReply:
    """What the policy says next: text, tool calls (run by the same tools node as the model's),
    or both; and its memory for the next turn."""

    message: AIMessage
    memory: dict[str, Any] = field(default_factory=dict)


def say(text: str) -> AIMessage:
    """A reply in words."""
    return AIMessage(content=text, id=f"guided-{uuid.uuid4().hex}")


def call_tool(name: str, args: dict[str, Any], text: str = "") -> AIMessage:
    """A reply that calls one tool, exactly as a model's tool call looks."""
    return AIMessage(
        content=text,
        id=f"guided-{uuid.uuid4().hex}",
        tool_calls=[
            {"name": name, "args": args, "id": f"call-{uuid.uuid4().hex[:24]}", "type": "tool_call"}
        ],
    )


class GuidedPolicy(Protocol):
    async def respond(self, state: AgentState, context: AgentContext) -> GuidedReply: ...


def tool_error(message: ToolMessage) -> tuple[str, str]:
    """The kind and message of a failed tool call. The tools node keeps the error as the
    message's artifact; its content, which a model reads, is fenced data."""
    body = message.artifact if isinstance(message.artifact, dict) else {}
    return str(body.get("error") or ""), str(body.get("message") or "That did not work.")
