"""A chat model that answers structured-output requests with a fixed tool call, behind
LangChain's `BaseChatModel` interface (the same path `with_structured_output` takes with a real
function-calling model), recording what it was sent."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool


class StructuredAnswerModel(BaseChatModel):
    """Answers every request by calling the one offered tool with `answer` as arguments."""

    answer: dict[str, Any]
    fail: bool = False
    seen: list[list[BaseMessage]] = []
    offered: list[str] = []

    @property
    def _llm_type(self) -> str:
        return "structured-answer-fake"

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        self.offered = [getattr(tool, "__name__", str(tool)) for tool in tools]
        return self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.seen.append(list(messages))
        if self.fail:
            raise ConnectionError("model outage")
        call = {"name": self.offered[0], "args": self.answer, "id": "call_1", "type": "tool_call"}
        return ChatResult(
            generations=[ChatGeneration(message=AIMessage(content="", tool_calls=[call]))]
        )
