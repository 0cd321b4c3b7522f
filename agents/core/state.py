"""The checkpointed state of a conversation."""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages


class AgentState(TypedDict, total=False):
    """What survives between turns (in the Postgres checkpoint).

    Attributes:
        messages: The conversation, with PII already replaced by vault tokens.
        mode: Who wrote the last reply: the language model or the guided policy.
        guided: The guided policy's memory (the application in progress, the slot it asked for).
        vault: PII tokens → values encrypted with the platform key; restored only in tools.
    """

    messages: Annotated[list[AnyMessage], add_messages]
    mode: Literal["llm", "guided"]
    guided: dict[str, Any]
    vault: dict[str, str]
