"""A scripted chat model for tests, evals and benchmarks: it replies from a list, in order, or from
the conversation itself, streaming text token by token and tool calls as chunks, with zero latency.
Never configured in production (the model factory only builds real OpenAI-compatible clients)."""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    ToolCall,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from pydantic import PrivateAttr

# Decides a reply from the conversation the model is given (system prompt first).
Decide = Callable[[Sequence[BaseMessage]], AIMessage]


def tool_then_answer(name: str, args: dict[str, Any], answer: str) -> Decide:
    """One tool call per turn, whatever else runs at the same time: a call when the last message
    is the person's, the answer when it is the tool's result (then anything else: the answer).

    Stateless, so one model serves any number of concurrent conversations the same way; each
    call gets a fresh id, as a provider's would."""

    def decide(messages: Sequence[BaseMessage]) -> AIMessage:
        if messages and isinstance(messages[-1], HumanMessage):
            call = ToolCall(name=name, args=dict(args), id=f"call_{uuid.uuid4().hex[:24]}")
            return AIMessage(content="", tool_calls=[call])
        return AIMessage(content=answer)

    return decide


class ScriptedChatModel(BaseChatModel):
    """Replies with `script[0]`, then `script[1]`, ... and starts over at the end; or, given
    `decide`, with what it decides from each conversation (the script is then not used).

    Tests that race a turn wait on `started(n)` (the n-th model call has begun) rather than
    sleeping, and may hold every reply until they set `hold`.
    """

    script: list[AIMessage] = []
    decide: Decide | None = None
    fail: bool = False
    delay_seconds: float = 0.0
    hold: asyncio.Event | None = None
    calls: int = 0
    _turn: Iterator[AIMessage] = PrivateAttr()
    _called: asyncio.Event = PrivateAttr(default_factory=asyncio.Event)
    seen: list[list[BaseMessage]] = []
    # Off for long runs (benchmarks): every conversation kept alive is work for the collector.
    keep_seen: bool = True
    bound_tools: list[str] = []

    def model_post_init(self, context: Any) -> None:
        if self.decide is None and not self.script:
            raise ValueError("a scripted model needs a script or a decide function")
        self._turn = itertools.cycle(self.script)

    async def started(self, count: int = 1) -> None:
        """Returns once `count` model calls have begun (counting from the model's creation)."""
        while self.calls < count:
            self._called.clear()
            await self._called.wait()

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        # The script decides the calls; the names offered are recorded for assertions.
        self.bound_tools = [t["function"]["name"] for t in tools if isinstance(t, dict)]
        return self

    def _next(self, messages: list[BaseMessage]) -> AIMessage:
        self.calls += 1
        self._called.set()
        if self.fail:
            raise ConnectionError("scripted model outage")
        if self.keep_seen:
            self.seen.append(list(messages))
        if self.decide is not None:
            return self.decide(messages)
        return next(self._turn)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._next(messages))])

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        reply = self._next(messages)
        if self.hold is not None:
            await self.hold.wait()
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        text = str(reply.content)
        words = text.split(" ") if text else []
        for index, word in enumerate(words):
            piece = word if index == 0 else " " + word
            yield ChatGenerationChunk(message=AIMessageChunk(content=piece))
        if reply.tool_calls:
            yield ChatGenerationChunk(
                message=AIMessageChunk(
                    content="",
                    tool_call_chunks=[
                        {
                            "name": call["name"],
                            "args": json.dumps(call["args"]),
                            "id": call["id"],
                            "index": position,
                            "type": "tool_call_chunk",
                        }
                        for position, call in enumerate(reply.tool_calls)
                    ],
                )
            )
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                usage_metadata={
                    # A token a word, counted without splitting the conversation into words:
                    # a provider counts on its side, so this fake should cost next to nothing.
                    "input_tokens": sum(str(m.content).count(" ") + 1 for m in messages),
                    "output_tokens": max(1, len(words)),
                    "total_tokens": 0,
                },
            )
        )
