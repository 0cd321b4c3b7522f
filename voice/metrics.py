"""LiveKit's per-stage timings of a voice turn, read from the MetricsReport of its chat messages:
the person's message carries the end of turn and transcription delays, the reply the rest."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from livekit.agents import llm

# LiveKit's MetricsReport keys stored with the run (seconds): end of user speech to the end of
# turn decision, our runner's time to first token, the TTS's time to first byte, and end to end.
STAGES: Final = (
    "end_of_turn_delay",
    "transcription_delay",
    "llm_node_ttft",
    "tts_node_ttfb",
    "e2e_latency",
)


def stage_metrics(item: llm.ChatMessage) -> dict[str, float]:
    """The stages of a message's MetricsReport that are stored with the run (seconds): the
    user's message carries the end of turn and transcription delays, the reply the rest."""
    report: dict[str, Any] = dict(item.metrics)
    return {
        stage: round(float(report[stage]), 6)
        for stage in STAGES
        if isinstance(report.get(stage), int | float)
    }


def last_user_message(history: Sequence[llm.ChatItem]) -> llm.ChatMessage | None:
    return next(
        (
            item
            for item in reversed(history)
            if isinstance(item, llm.ChatMessage) and item.role == "user"
        ),
        None,
    )


def turn_metrics(history: Sequence[llm.ChatItem], reply: llm.ChatMessage) -> dict[str, float]:
    """A turn's stages: the user's side (end of turn, transcription) is on the last user message
    of the session's history, the rest on the reply."""
    asked = last_user_message(history)
    return {**(stage_metrics(asked) if asked is not None else {}), **stage_metrics(reply)}
