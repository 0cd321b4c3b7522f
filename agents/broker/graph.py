"""The broker assistant's graph: the shared assistant ⇄ tools loop with the broker's tools (their
scopes reach only their own clients) and prompts, and the guided delegation policy."""

from __future__ import annotations

from agents.core.builder import build_assistant_graph

graph = build_assistant_graph("broker_assistant")
