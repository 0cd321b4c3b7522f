"""An OpenAI-compatible face of the assistant: `GET /v1/models`, `POST /v1/chat/completions`.

Any OpenAI client, and voice platforms that accept a "custom LLM", can talk to the assistant.
The bearer token identifies the actor (the `user` field never does); `model` picks the borrower or
broker assistant. Clients send the whole conversation each time: only its last user message is
new, and the conversation continues in the thread named by `conversation_id` (a body field or the
`X-Conversation-Id` header) or, failing that, by `user`; with neither, each request starts a
conversation of its own.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Header
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from agents.events import Event, MessageCompleted, RunCompleted, RunError, Token
from agents.runner import TurnRequest
from agents.threads import threads
from api.auth import CurrentActor, OriginDep
from api.deps import StateDep
from api.errors import error_responses
from api.ratelimit import rate_limit
from api.routes.chat import MAX_MESSAGE_CHARS, start_turn
from api.sse import EventStreamResponse
from lending.db import transaction
from lending.errors import (
    Conflict,
    InvalidInput,
    NotAuthenticated,
    PermissionDenied,
    RateLimited,
    ServiceUnavailable,
)
from lending.identity.scopes import Scope
from lending.models.chat import ChatGraph

router = APIRouter(prefix="/v1", tags=["openai-compatible"], dependencies=[rate_limit("chat")])

MODELS = {"omnifin-borrower": ChatGraph.BORROWER, "omnifin-broker": ChatGraph.BROKER}
_ERRORS = (
    NotAuthenticated,
    PermissionDenied,
    RateLimited,
    InvalidInput,
    Conflict,
    ServiceUnavailable,
)


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "user", "assistant", "tool", "developer", "function"]
    content: str | list[dict[str, Any]] | None = None


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(
        extra="allow"
    )  # temperature, max_tokens, ... are accepted and ignored

    model: str
    messages: Annotated[list[ChatMessageIn], Field(min_length=1)]
    stream: bool = False
    user: Annotated[str, Field(max_length=128)] | None = None
    conversation_id: Annotated[str, Field(max_length=128)] | None = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "omnifin"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


@router.get("/models", responses=error_responses(NotAuthenticated, PermissionDenied, RateLimited))
async def list_models(actor: CurrentActor) -> ModelList:
    """The assistants this caller may talk to."""
    return ModelList(data=[ModelCard(id=name) for name in MODELS])


def _text(message: ChatMessageIn) -> str:
    if isinstance(message.content, str):
        return message.content
    parts = message.content or []
    return " ".join(str(part.get("text", "")) for part in parts if part.get("type") == "text")


@router.post(
    "/chat/completions",
    responses={
        200: {
            "description": "A chat.completion, or with stream=true Server-Sent Events of "
            "chat.completion.chunk objects ending with `data: [DONE]`.",
            "content": {"application/json": {}, "text/event-stream": {}},
        },
        **error_responses(*_ERRORS),
    },
    response_model=None,
)
async def chat_completions(
    body: ChatCompletionRequest,
    actor: CurrentActor,
    state: StateDep,
    origin: OriginDep,
    x_conversation_id: Annotated[str | None, Header(max_length=128)] = None,
) -> dict[str, Any] | StreamingResponse:
    """Talk to the assistant with the OpenAI Chat Completions protocol."""
    actor.require(Scope.CHAT_USE)
    graph = MODELS.get(body.model)
    if graph is None:
        raise InvalidInput(f"Unknown model {body.model!r}; choose one of {', '.join(MODELS)}.")
    user_messages = [m for m in body.messages if m.role == "user"]
    if not user_messages or not _text(user_messages[-1]).strip():
        raise InvalidInput("The last user message is empty.")
    text = _text(user_messages[-1]).strip()
    if len(text) > MAX_MESSAGE_CHARS:
        raise InvalidInput(f"Messages are limited to {MAX_MESSAGE_CHARS:,} characters.")
    key = body.conversation_id or x_conversation_id or body.user
    assert state.sessionmaker is not None
    async with transaction(state.sessionmaker) as session:
        thread = await threads.by_external_id(session, actor, key) if key else None
        if thread is None:
            thread = await threads.create(
                session, actor, graph=graph, channel="api", external_id=key
            )
        elif thread.graph != graph.value:
            raise Conflict(f"This conversation is with {thread.graph}; keep the same model.")
    events = await start_turn(
        state,
        TurnRequest(thread_id=thread.id, actor=actor, message=text, channel="api", origin=origin),
    )
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    if not body.stream:
        parts: list[str] = []
        usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        async for event in events:
            if isinstance(event, MessageCompleted):
                parts.append(event.text)
            elif isinstance(event, RunCompleted):
                usage = _usage(event)
            elif isinstance(event, RunError):
                raise ServiceUnavailable(event.detail)
        return {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": body.model,
            "conversation_id": str(key or thread.id),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "\n\n".join(parts)},
                    "finish_reason": "stop",
                }
            ],
            "usage": usage,
        }

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        payload = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": body.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return b"data: " + orjson.dumps(payload) + b"\n\n"

    def frame(event: Event) -> bytes:
        if isinstance(event, Token):
            return chunk({"content": event.text})
        if isinstance(event, RunError):
            return chunk({"content": f"\n[{event.detail}]"})
        if isinstance(event, RunCompleted):
            return chunk({}, "stop", usage=_usage(event))
        return b""

    async def frames() -> AsyncIterator[bytes]:
        yield chunk({"role": "assistant", "content": ""})
        # What is ready goes out in one write (see chat._stream_turn).
        async for batch in events.batches():
            if data := b"".join([frame(event) for event in batch]):
                yield data
        yield b"data: [DONE]\n\n"

    return EventStreamResponse(
        frames(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )


def _usage(event: RunCompleted) -> dict[str, int]:
    return {
        "prompt_tokens": event.tokens.input_tokens,
        "completion_tokens": event.tokens.output_tokens,
        "total_tokens": event.tokens.input_tokens + event.tokens.output_tokens,
    }
