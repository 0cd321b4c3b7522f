"""The borrower assistant's graph: the shared assistant ⇄ tools loop with the borrower's tools
(bound from the actor's scopes) and prompts, and the guided intake policy."""

from __future__ import annotations

from agents.core.builder import build_assistant_graph

graph = build_assistant_graph("borrower_assistant")
