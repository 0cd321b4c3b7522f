"""A server process for the crash-resume test (tests/agents/test_turn_crash.py): the real app
with a scripted model, killed by the test mid-turn. Not for anything else.

`python -m tests.agents.crash_server PORT`, with OMNIFIN_DATABASE_URL naming the test's committed
database. The model starts an auto loan application when asked for one, answers once the tool
has run, and says it is there to anything else. With CRASH_HOLD=1 it never answers after the
tool (the test kills the process there: the tool has acted, the turn has not ended).
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import uvicorn
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolCall, ToolMessage
from langchain_core.outputs import ChatGenerationChunk

from agents.models import ModelBreaker, ModelPricing, ModelProvider
from agents.scripted import ScriptedChatModel
from api.app import create_app
from lending.config import get_settings
from lending.kv import MemoryStore

ASK = "a $20k car loan over 4 years"
STARTED = "Your auto loan application is started."
HERE = "Yes, I'm here."


def decide(messages: Sequence[BaseMessage]) -> AIMessage:
    last = messages[-1]
    if isinstance(last, HumanMessage) and str(last.content).startswith(ASK):
        # A fresh id every time, as a provider's: a re-run step calls under another id.
        call = ToolCall(
            name="start_application",
            args={"product_type": "auto", "amount": "20000.00", "term_months": 48},
            id=f"call_{uuid.uuid4().hex[:24]}",
        )
        return AIMessage(content="", tool_calls=[call])
    return AIMessage(content=STARTED if isinstance(last, ToolMessage) else HERE)


class CrashingModel(ScriptedChatModel):
    """Hangs, with CRASH_HOLD=1, where it would answer after the tool."""

    async def _astream(
        self, messages: list[BaseMessage], *args: Any, **kwargs: Any
    ) -> AsyncIterator[ChatGenerationChunk]:
        if os.environ.get("CRASH_HOLD") == "1" and isinstance(messages[-1], ToolMessage):
            await asyncio.Event().wait()
        async for chunk in super()._astream(messages, *args, **kwargs):
            yield chunk


def main() -> None:
    provider = ModelProvider(
        models=[CrashingModel(decide=decide, keep_seen=False)],
        pricing=ModelPricing(),
        breaker=ModelBreaker(failures=5),
    )
    app = create_app(get_settings(), store=MemoryStore(), chat_model=provider)
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_config=None, access_log=False)


if __name__ == "__main__":
    main()
