"""Assembles the assistant for a process: graphs, tools, model, guided policies, prompts and the
Postgres checkpointer, behind one TurnRunner."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from agents.borrower.graph import graph as borrower_graph
from agents.borrower.policy import BorrowerIntakePolicy
from agents.broker.graph import graph as broker_graph
from agents.broker.policy import BrokerPolicy
from agents.checkpoint import open_checkpointer
from agents.models import ModelProvider, build_model_provider
from agents.prompt_source import registry_system_prompt
from agents.runner import PromptSource, TurnRunner
from lending.config import Settings
from lending.db import SessionMaker
from tools.registry import ToolRegistry
from tools.registry import registry as default_registry


@contextlib.asynccontextmanager
async def open_assistant(
    settings: Settings,
    *,
    database_url: str,
    sessionmaker: SessionMaker,
    model: ModelProvider | None = None,
    registry: ToolRegistry | None = None,
    prompts: PromptSource | None = None,
) -> AsyncIterator[TurnRunner]:
    """The turn runner for this process, with its checkpointer open for the block.

    Args:
        model: a model chain to use instead of the configured one (tests pass scripted models).
    """
    async with open_checkpointer(database_url) as checkpointer:
        yield TurnRunner(
            settings=settings,
            sessionmaker=sessionmaker,
            graphs={"borrower": borrower_graph, "broker": broker_graph},
            registry=registry or default_registry,
            model=model if model is not None else build_model_provider(settings),
            policies={"borrower": BorrowerIntakePolicy(), "broker": BrokerPolicy()},
            prompts=prompts or registry_system_prompt,
            checkpointer=checkpointer,
            durability=settings.agent_durability,
        )
