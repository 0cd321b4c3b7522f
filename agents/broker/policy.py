"""Guided mode for brokers: the delegations that a fixed parser can read reliably.

It answers "what is missing on OMF-2026-000123", "status of OMF-…" and "list my clients'
applications" through the same tools the model would call, under the broker's own scopes (so
only their own clients' files are reachable). Anything else gets a plain list of what guided mode
can do rather than a guess.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agents.core.context import AgentContext
from agents.core.state import AgentState
from agents.guided.policy import GuidedReply, call_tool, say
from tools.base import ToolError

_REFERENCE = re.compile(r"\bOMF-\d{4}-\d{6}\b", re.I)
_LIST = re.compile(r"\b(list|pipeline|clients?|applications|files)\b", re.I)
HELP = (
    'I\'m in guided mode, so I understand a few requests: "what is missing on OMF-2026-000123", '
    '"status of OMF-2026-000123" and "list my clients\' applications". For anything else, '
    "use the pipeline in the web app."
)


class BrokerPolicy:
    async def respond(self, state: AgentState, context: AgentContext) -> GuidedReply:
        memory: dict[str, Any] = dict(state.get("guided") or {})
        messages = state.get("messages", [])
        last = messages[-1] if messages else None
        if isinstance(last, ToolMessage):
            return GuidedReply(self._after_tool(last), memory)
        text = str(last.content) if isinstance(last, HumanMessage) else ""
        reference = _REFERENCE.search(text)
        if reference:
            application_id = await self._find(reference.group(0).upper(), context)
            if application_id is None:
                return GuidedReply(
                    say(f"I can't find {reference.group(0).upper()} among your clients' files."),
                    memory,
                )
            return GuidedReply(
                call_tool("get_application", {"application_id": application_id}), memory
            )
        if _LIST.search(text):
            return GuidedReply(call_tool("list_applications", {"limit": 20}), memory)
        return GuidedReply(say(HELP), memory)

    async def _find(self, reference: str, context: AgentContext) -> str | None:
        offset = 0
        while True:
            try:
                page = await context.registry.execute(
                    "list_applications", {"limit": 100, "offset": offset}, context.tools
                )
            except ToolError:
                return None
            items = page.model_dump(mode="json")["items"]
            for item in items:
                if item["reference"] == reference:
                    return str(item["id"])
            if len(items) < 100:
                return None
            offset += 100

    def _after_tool(self, result: ToolMessage) -> AIMessage:
        data = result.artifact if isinstance(result.artifact, dict) else {}
        if result.status == "error":
            return say(f"That didn't work: {result.content}")
        if result.name == "get_application":
            missing = [m["label"] for m in data.get("missing_fields") or []]
            status = str(data.get("status", "")).replace("_", " ")
            text = f"{data.get('reference')} is {status}."
            text += (
                " Missing: " + ", ".join(missing) + "."
                if missing
                else " Nothing is missing for submission."
            )
            return say(text)
        items = data.get("items", [])
        if not items:
            return say("You have no client applications yet.")
        lines = [
            f"{item['reference']}: {str(item['status']).replace('_', ' ')}, "
            f"{item['product_type'].replace('_', ' ')}"
            + (f", ${Decimal(str(item['amount'])):,.2f}" if item.get("amount") else "")
            for item in items
        ]
        return say("Your clients' applications:\n" + "\n".join(lines))
