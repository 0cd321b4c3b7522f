"""The recorded event streams the web app's chat tests replay (frontend/src/chat/fixtures) are
exactly what the server's own SSE framing produces for valid events: if agents/events.py changes,
this fails until the recordings (and the TypeScript types in chat/events.ts) follow."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest

from agents.events import Event, event_adapter, to_sse

FIXTURES = Path(__file__).resolve().parents[2] / "frontend" / "src" / "chat" / "fixtures"


@pytest.mark.parametrize("recording", sorted(FIXTURES.glob("*.sse")), ids=lambda p: p.stem)
def test_recording_is_what_the_server_sends(recording: Path) -> None:
    raw = recording.read_bytes()
    frames = [frame for frame in raw.split(b"\n\n") if frame]
    assert frames, recording
    rebuilt = b""
    for frame in frames:
        event_line, data_line = frame.split(b"\n")
        event = event_adapter.validate_json(data_line.removeprefix(b"data: "))
        assert event_line == b"event: " + event.type.encode()
        rebuilt += to_sse(event)
    assert rebuilt == raw


def test_every_event_type_is_recorded() -> None:
    union = get_args(Event)[0]  # Event is Annotated[A | B | ..., discriminator]
    declared = {member.model_fields["type"].default for member in get_args(union)}
    seen = {
        line.removeprefix("event: ")
        for recording in FIXTURES.glob("*.sse")
        for line in recording.read_text().splitlines()
        if line.startswith("event: ")
    }
    assert seen == declared
