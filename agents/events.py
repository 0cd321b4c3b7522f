"""The typed events of a turn (DESIGN §5). The runner yields them; SSE, the OpenAI-compatible
endpoint, voice and evals all consume the same stream.

Arguments and results in tool events are redacted before they are built: an event is safe to send
to the browser and to store in a transcript.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

Mode = Literal["llm", "guided"]


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)


class RunStarted(_Event):
    type: Literal["run.started"] = "run.started"
    run_id: str
    thread_id: str
    graph: str
    mode: Mode


class Token(_Event):
    type: Literal["token"] = "token"
    text: str


class MessageCompleted(_Event):
    type: Literal["message.completed"] = "message.completed"
    message_id: str
    text: str


class ToolStarted(_Event):
    type: Literal["tool.started"] = "tool.started"
    call_id: str
    tool: str
    args: dict[str, Any]


class ToolFinished(_Event):
    type: Literal["tool.finished"] = "tool.finished"
    call_id: str
    tool: str
    ok: bool
    result: Any = None
    error: str | None = None


class InterruptRequested(_Event):
    """An irreversible action waits for an explicit yes or no: `summary` is the question in the
    person's words and language, `payload` the facts behind it (names, amounts, expiry)."""

    type: Literal["interrupt.requested"] = "interrupt.requested"
    approval_id: str
    tool: str
    summary: str
    payload: dict[str, Any]


class ApprovalResolved(_Event):
    """An approval was answered: `outcome` is approved, rejected, or expired (answered too late:
    nothing ran, and the action is checked again before a new question is asked)."""

    type: Literal["approval.resolved"] = "approval.resolved"
    approval_id: str
    approved: bool
    channel: Literal["text", "button", "voice", "api"]
    outcome: Literal["approved", "rejected", "expired"] = "approved"


class ModeChanged(_Event):
    type: Literal["mode.changed"] = "mode.changed"
    mode: Mode
    reason: str


class Usage(BaseModel):
    model_config = ConfigDict(frozen=True)

    input_tokens: int = 0
    output_tokens: int = 0


class RunCompleted(_Event):
    type: Literal["run.completed"] = "run.completed"
    latency_ms: float
    tokens: Usage
    cost: Decimal = Field(description="Model cost of the turn in USD; 0 in guided mode.")
    status: Literal["completed", "interrupted"] = "completed"


class RunError(_Event):
    type: Literal["error"] = "error"
    error: str
    detail: str


Event = Annotated[
    RunStarted
    | Token
    | MessageCompleted
    | ToolStarted
    | ToolFinished
    | InterruptRequested
    | ApprovalResolved
    | ModeChanged
    | RunCompleted
    | RunError,
    Field(discriminator="type"),
]

event_adapter: TypeAdapter[Event] = TypeAdapter(Event)


def to_sse(event: Event) -> bytes:
    """One Server-Sent Events frame: `event:` is the event type, `data:` its JSON."""
    return (
        b"event: " + event.type.encode() + b"\ndata: " + event.model_dump_json().encode() + b"\n\n"
    )
