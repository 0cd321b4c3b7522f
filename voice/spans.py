"""A voice turn's OpenTelemetry spans: `voice.turn`, from the end of the person's speech to the
end of the reply's playout, with the phases as children: `voice.end_of_turn` and `voice.stt`
(the turn decision and the transcript), `voice.llm` (our turn runner: the runner's `chat.turn`
and everything under it continue inside it) and `voice.tts` (from the first text sent to speech
to the end of playout).

LiveKit runs speech-to-text and speech inside its pipeline; their timings reach us only in the
MetricsReport of the chat messages once the reply has played, so those spans are written then,
with the wall-clock times LiveKit measured. Spans carry timings, ids and counts, never what was
said. Off unless tracing is configured (lending.tracing): every call here is then a no-op.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from livekit.agents import AgentSession, llm
from livekit.agents.voice.events import ConversationItemAddedEvent
from opentelemetry.trace import Span

from lending import tracing
from voice.metrics import last_user_message, turn_metrics

if TYPE_CHECKING:
    from voice.adapter import RunnerLLM


def _seconds(report: Mapping[str, Any], key: str) -> float | None:
    value = report.get(key)
    return float(value) if isinstance(value, int | float) else None


def begin_turn(thread_id: uuid.UUID, user_report: Mapping[str, Any]) -> Span | None:
    """The turn's span, started when the person stopped speaking (if LiveKit says when; else
    now, when the turn reaches the runner)."""
    return tracing.open_span(
        "voice.turn",
        {"omnifin.thread_id": str(thread_id), "omnifin.channel": "voice"},
        start_time=_seconds(user_report, "stopped_speaking_at"),
    )


def end_turn(
    span: Span | None,
    *,
    stages: Mapping[str, float],
    user_report: Mapping[str, Any],
    reply_report: Mapping[str, Any],
    first_text_at: float | None,
    run_id: str | None,
    interrupted: bool,
) -> None:
    """Write the phases LiveKit measured as children and end the turn's span at the end of
    playout (or now). `stages` are the stored stage metrics (seconds); `first_text_at` is when
    the first sentence went to speech (epoch seconds)."""
    if span is None or not span.is_recording():
        return
    stopped = _seconds(user_report, "stopped_speaking_at")
    if stopped is not None:
        for name, stage in (
            ("voice.end_of_turn", "end_of_turn_delay"),
            ("voice.stt", "transcription_delay"),
        ):
            delay = stages.get(stage)
            if delay is not None:
                _phase(span, name, stopped, stopped + delay, {stage: delay})
    played_until = _seconds(reply_report, "stopped_speaking_at")
    ttfb = stages.get("tts_node_ttfb")
    if first_text_at is not None and (ttfb is not None or played_until is not None):
        end = played_until if played_until is not None else first_text_at + (ttfb or 0.0)
        _phase(span, "voice.tts", first_text_at, end, {"tts_node_ttfb": ttfb})
    attributes: dict[str, Any] = {
        f"omnifin.voice.{stage}_ms": round(value * 1000, 3) for stage, value in stages.items()
    }
    attributes["omnifin.voice.interrupted"] = interrupted
    if run_id is not None:
        attributes["omnifin.run_id"] = run_id
    span.set_attributes(attributes)
    tracing.end_span(span, end_time=played_until)


def follow(agent_llm: RunnerLLM, session: AgentSession[Any]) -> None:
    """End each turn's span when its reply has played (or been cut), with LiveKit's timings."""
    agent_llm.playout_ends_spans = True

    def played(event: ConversationItemAddedEvent) -> None:
        item = event.item
        turn = agent_llm.last_turn
        if not isinstance(item, llm.ChatMessage) or item.role != "assistant" or turn is None:
            return
        history = session.history.items
        asked = last_user_message(history)
        end_turn(
            turn.span,
            stages=turn_metrics(history, item),
            user_report={**turn.user_report, **(dict(asked.metrics) if asked else {})},
            reply_report=dict(item.metrics),
            first_text_at=turn.first_text_wall,
            run_id=turn.run_id,
            interrupted=item.interrupted,
        )

    session.on("conversation_item_added", played)


def _phase(
    parent: Span, name: str, start: float, end: float, stages: Mapping[str, float | None]
) -> None:
    phase = tracing.open_span(
        name,
        {f"omnifin.voice.{k}_ms": round(v * 1000, 3) for k, v in stages.items() if v is not None},
        parent=parent,
        start_time=start,
    )
    tracing.end_span(phase, end_time=max(start, end))
