"""Builds an assistant graph: assistant → (tools → assistant)* → end."""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from agents.core.context import AgentContext
from agents.core.nodes import assistant, route_after_assistant, tools
from agents.core.state import AgentState


def build_assistant_graph(
    name: str,
) -> CompiledStateGraph[AgentState, AgentContext, AgentState, AgentState]:
    """The graph, compiled without a checkpointer (the runner attaches the Postgres one)."""
    builder = StateGraph(AgentState, context_schema=AgentContext)
    builder.add_node("assistant", assistant)
    builder.add_node("tools", tools)
    builder.add_edge(START, "assistant")
    builder.add_conditional_edges("assistant", route_after_assistant, {"tools": "tools", END: END})
    builder.add_edge("tools", "assistant")
    return builder.compile(name=name)
