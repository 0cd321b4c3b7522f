"""Run-scoped dependencies of a graph (LangGraph's `context_schema`): never checkpointed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agents.models import ModelProvider
from lending.identity.actor import Actor
from tools.context import ToolContext
from tools.registry import ToolRegistry

if TYPE_CHECKING:
    from agents.guided.policy import GuidedPolicy


@dataclass
class AgentContext:
    """Who the assistant acts for and what it may use in this run.

    Attributes:
        tools: The tool context (actor, sessionmaker, thread); identity comes from here only.
        registry: The tools; only those the actor may use are offered to the model.
        model: The language model chain, or None when the assistant runs in guided mode.
        policy: The deterministic policy that replies when no model can.
        system_prompt: The rendered system prompt of this run.
        usage: Tokens the model used in this run (filled as it streams).
        emit: Where the nodes send their stream events (tokens, tool activity, mode changes);
            the runner's queue during a turn, else LangGraph's custom stream.
        language_setting: The language the person's app is set to (en or zh), when the app
            said; guided mode follows it when it is new or changed (agents/guided/texts.py).
    """

    tools: ToolContext
    registry: ToolRegistry
    model: ModelProvider | None
    policy: GuidedPolicy
    system_prompt: str
    usage: dict[str, int] = field(default_factory=lambda: {"input": 0, "output": 0})
    emit: Callable[[dict[str, Any]], None] | None = None
    language_setting: str | None = None

    @property
    def actor(self) -> Actor:
        return self.tools.actor
