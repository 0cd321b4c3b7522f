"""The registry's tools as LangChain tools, bound to one ToolContext (one actor, one thread).

Only the tools the actor may use are adapted, so the model is never offered the others. A tool
call's id (stable across a LangGraph interrupt and resume, since the model's message is
checkpointed) becomes the idempotency key, scoped by the thread.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForToolRun
from langchain_core.tools import BaseTool, ToolException
from pydantic import ConfigDict

from tools.base import Tool, ToolError
from tools.context import ToolContext
from tools.registry import ToolRegistry
from tools.registry import registry as default_registry


class OmnifinTool(BaseTool):
    """One registry tool for one context. Errors the model should see come back as the tool
    message (status "error") with the ToolError's JSON; the artifact is the output model."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    spec: Tool[Any, Any]
    registry: ToolRegistry
    context: ToolContext
    response_format: Literal["content", "content_and_artifact"] = "content_and_artifact"
    handle_tool_error: bool = True

    def _to_args_and_kwargs(
        self, tool_input: str | dict[str, Any], tool_call_id: str | None
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        # BaseTool hands `_arun` only the model's arguments; the call id is needed too (it is
        # the idempotency key), so both are passed on explicitly.
        _, arguments = super()._to_args_and_kwargs(tool_input, tool_call_id)
        return (), {"arguments": arguments, "tool_call_id": tool_call_id}

    def _run(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("Omnifin tools are asynchronous: use ainvoke")

    async def _arun(
        self,
        arguments: dict[str, Any],
        tool_call_id: str | None,
        run_manager: AsyncCallbackManagerForToolRun | None = None,
    ) -> tuple[str, Any]:
        key = None
        if tool_call_id is not None:
            key = (
                f"{self.context.thread_id}:{tool_call_id}"
                if self.context.thread_id
                else tool_call_id
            )
        try:
            output = await self.registry.execute(
                self.spec.name, arguments, self.context, idempotency_key=key
            )
        except ToolError as error:
            raise ToolException(error.to_text()) from error
        return output.model_dump_json(), output


def langchain_tools(context: ToolContext, registry: ToolRegistry | None = None) -> list[BaseTool]:
    """The tools `context.actor` may use, as LangChain tools bound to `context`."""
    registry = registry or default_registry
    return [
        OmnifinTool(
            name=spec.name,
            description=spec.description,
            args_schema=spec.parameters_schema(),
            spec=spec,
            registry=registry,
            context=context,
        )
        for spec in registry.for_actor(context.actor)
    ]
