"""A scripted chat model for tests, evals and benchmarks: it replies from a list, in order,
streaming text token by token and tool calls as chunks, with zero latency. Never configured in
production (the model factory only builds real OpenAI-compatible clients)."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from pydantic import PrivateAttr


class ScriptedChatModel(BaseChatModel):
    """Replies with `script[0]`, then `script[1]`, ... and starts over at the end."""

    script: list[AIMessage]
    fail: bool = False
    delay_seconds: float = 0.0
    _turn: Iterator[AIMessage] = PrivateAttr()
    seen: list[list[BaseMessage]] = []
    bound_tools: list[str] = []

    def model_post_init(self, context: Any) -> None:
        self._turn = itertools.cycle(self.script)

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
        if self.fail:
            raise ConnectionError("scripted model outage")
        self.seen.append(list(messages))
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
                    "input_tokens": sum(len(str(m.content).split()) for m in messages),
                    "output_tokens": max(1, len(words)),
                    "total_tokens": 0,
                },
            )
        )
