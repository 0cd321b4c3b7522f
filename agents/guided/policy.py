"""The contract of a guided policy: given the conversation, the next reply or tool calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from langchain_core.messages import AIMessage

if TYPE_CHECKING:
    from agents.core.context import AgentContext
    from agents.core.state import AgentState


@dataclass
class GuidedReply:
    """What the policy says next: text, tool calls (run by the same tools node as the model's),
    or both; and its memory for the next turn."""

    message: AIMessage
    memory: dict[str, Any] = field(default_factory=dict)


class GuidedPolicy(Protocol):
    async def respond(self, state: AgentState, context: AgentContext) -> GuidedReply: ...
