"""An OpenAI-compatible face of the assistant: `GET /v1/models`, `POST /v1/chat/completions`.

Any OpenAI client, and voice platforms that accept a "custom LLM", can talk to the assistant.
The bearer token identifies the actor (the `user` field never does); `model` picks the borrower or
broker assistant. Clients send the whole conversation each time: only its last user message is
new, and the conversation continues in the thread named by `conversation_id` (a body field or the
`X-Conversation-Id` header) or, failing that, by `user`; with neither, each request starts a
conversation of its own.

Approvals: a turn that needs one returns its question as the assistant's message and the
approval, machine-readable, in `pending_approval` (`approval_id`, `summary`, `payload`). Only an
explicit answer resolves it: the body field `approval` (`{"id": ..., "approved": true|false}`),
or an unambiguous yes or no as the very next user message. A question, a hedge or anything else
leaves it waiting and is answered by restating it.
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

from agents.events import (
    Event,
    InterruptRequested,
    MessageCompleted,
    RunCompleted,
    RunError,
    Token,
)
from agents.runner import Approval, TurnRequest
from agents.threads import thread_service
from api.auth import CurrentActor, OriginDep
from api.deps import StateDep, TurnsDep
from api.errors import error_responses
from api.ratelimit import rate_limit
from api.routes.chat import MAX_MESSAGE_CHARS
from api.sse import EventStreamResponse
from lending.db import transaction
from lending.errors import (
    Conflict,
    InvalidInput,
    NotAuthenticated,
    NotFound,
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
    NotFound,
    Conflict,
    ServiceUnavailable,
)


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "user", "assistant", "tool", "developer", "function"]
    content: str | list[dict[str, Any]] | None = None


class ApprovalAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, Field(max_length=64)] = Field(description="The pending approval's id.")
    approved: bool


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(
        extra="allow"
    )  # temperature, max_tokens, ... are accepted and ignored

    model: str
    messages: Annotated[list[ChatMessageIn], Field(min_length=1)]
    stream: bool = False
    user: Annotated[str, Field(max_length=128)] | None = None
    conversation_id: Annotated[str, Field(max_length=128)] | None = None
    approval: ApprovalAnswer | None = Field(
        default=None,
        description="Answer a pending approval by id (from `pending_approval`): the explicit "
        "form; the last user message is then not sent to the assistant.",
    )


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
    turns: TurnsDep,
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
        thread = await thread_service.by_external_id(session, actor, key) if key else None
        if thread is None:
            thread = await thread_service.create(
                session, actor, graph=graph, channel="api", external_id=key
            )
        elif thread.graph != graph.value:
            raise Conflict(f"This conversation is with {thread.graph}; keep the same model.")
    if body.approval is not None:
        request = TurnRequest(
            thread_id=thread.id,
            actor=actor,
            approval=Approval(body.approval.id, body.approval.approved, "api"),
            channel="api",
            origin=origin,
        )
    else:
        request = TurnRequest(
            thread_id=thread.id, actor=actor, message=text, channel="api", origin=origin
        )
    events = await turns.start(request)
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    if not body.stream:
        parts: list[str] = []
        waiting: list[InterruptRequested] = []
        usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        async for event in events:
            if isinstance(event, MessageCompleted):
                parts.append(event.text)
            elif isinstance(event, InterruptRequested):
                waiting.append(event)
            elif isinstance(event, RunCompleted):
                usage = _usage(event)
            elif isinstance(event, RunError):
                raise ServiceUnavailable(event.detail)
        if waiting and not any(waiting[0].summary in part for part in parts):
            parts.append(waiting[0].summary)
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
            "pending_approval": _approval(waiting[0]) if waiting else None,
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

    spoken: list[str] = []
    asked: list[InterruptRequested] = []

    def frame(event: Event) -> bytes:
        if isinstance(event, Token):
            spoken.append(event.text)
            return chunk({"content": event.text})
        if isinstance(event, InterruptRequested):
            asked.append(event)
            if len(asked) > 1 or event.summary in "".join(spoken):
                return b""
            # The question is the assistant's message, like any other words of the turn.
            return chunk({"content": ("\n\n" if spoken else "") + event.summary})
        if isinstance(event, RunError):
            return chunk({"content": f"\n[{event.detail}]"})
        if isinstance(event, RunCompleted):
            pending = _approval(asked[0]) if asked else None
            return chunk({}, "stop", usage=_usage(event), pending_approval=pending)
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


def _approval(event: InterruptRequested) -> dict[str, Any]:
    return {"approval_id": event.approval_id, "summary": event.summary, "payload": event.payload}


def _usage(event: RunCompleted) -> dict[str, int]:
    return {
        "prompt_tokens": event.tokens.input_tokens,
        "completion_tokens": event.tokens.output_tokens,
        "total_tokens": event.tokens.input_tokens + event.tokens.output_tokens,
    }
