"""Fakes behind LiveKit's own interfaces, for the voice tests and benchmark (no paid speech API
and no LiveKit server exist here): a zero-latency TTS, an audio sink that records what reaches
it and when, and an STT that returns a scripted transcript for each utterance it is given."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from livekit import rtc
from livekit.agents import stt, tts, utils
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, APIConnectOptions
from livekit.agents.voice import io

SAMPLE_RATE = 24_000


class FakeTTS(tts.TTS[Any]):
    """Synthesises up to 200 ms of silence for each text it is given, at once, and records the
    texts. `streaming=True` behaves like ElevenLabs' WebSocket TTS (text pushed as it comes,
    audio for each piece at once); False like an HTTP TTS behind LiveKit's sentence adapter."""

    def __init__(self, *, streaming: bool = False) -> None:
        super().__init__(
            capabilities=tts.TTSCapabilities(streaming=streaming),
            sample_rate=SAMPLE_RATE,
            num_channels=1,
        )
        self.texts: list[str] = []
        self.requested_at: list[float] = []

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> tts.ChunkedStream:
        self.texts.append(text)
        self.requested_at.append(time.perf_counter())
        return _FakeChunkedStream(tts=self, input_text=text, conn_options=conn_options)

    def stream(
        self, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> tts.SynthesizeStream:
        return _FakeSynthesizeStream(tts=self, conn_options=conn_options)


class _FakeSynthesizeStream(tts.SynthesizeStream):
    _tts: FakeTTS

    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        output_emitter.initialize(
            request_id=utils.shortuuid(),
            sample_rate=SAMPLE_RATE,
            num_channels=1,
            mime_type="audio/pcm",
            stream=True,
        )
        output_emitter.start_segment(segment_id=utils.shortuuid())
        async for data in self._input_ch:
            if isinstance(data, self._FlushSentinel) or not data.strip():
                continue
            self._tts.texts.append(data)
            self._tts.requested_at.append(time.perf_counter())
            samples = SAMPLE_RATE // 50 * max(1, min(len(data), 10))
            output_emitter.push(b"\x00\x00" * samples)
        output_emitter.end_segment()


class _FakeChunkedStream(tts.ChunkedStream):
    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        output_emitter.initialize(
            request_id=utils.shortuuid(),
            sample_rate=SAMPLE_RATE,
            num_channels=1,
            mime_type="audio/pcm",
        )
        samples = SAMPLE_RATE // 50 * max(1, min(len(self.input_text), 10))
        output_emitter.push(b"\x00\x00" * samples)
        output_emitter.flush()


@dataclass
class CapturedAudio:
    frames: int = 0
    first_frame_at: list[float] = field(default_factory=list)
    cleared: int = 0


class RecordingAudioOutput(io.AudioOutput):
    """An audio sink that plays instantly: records the time of each segment's first frame."""

    def __init__(self) -> None:
        super().__init__(
            label="recording",
            capabilities=io.AudioOutputCapabilities(pause=False),
            sample_rate=SAMPLE_RATE,
        )
        self.captured = CapturedAudio()
        self._in_segment = False
        self._pushed = 0.0

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        if not self._in_segment:
            self._in_segment = True
            self.captured.first_frame_at.append(time.perf_counter())
            self.on_playback_started(created_at=time.time())
        self.captured.frames += 1
        self._pushed += frame.duration

    def flush(self) -> None:
        super().flush()
        if self._in_segment:
            self._in_segment = False
            self.on_playback_finished(playback_position=self._pushed, interrupted=False)
            self._pushed = 0.0

    def clear_buffer(self) -> None:
        self.captured.cleared += 1
        if self._in_segment:
            self._in_segment = False
            self.on_playback_finished(playback_position=self._pushed, interrupted=True)
            self._pushed = 0.0


class ScriptedSTT(stt.STT[Any]):
    """Returns the next transcript of `script` for each utterance (VAD-segmented audio)."""

    def __init__(self, script: Sequence[str], language: str = "en") -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=False, interim_results=False))
        self.script = list(script)
        self.language = language
        self.heard: list[float] = []  # seconds of audio in each utterance recognised

    async def _recognize_impl(
        self,
        buffer: utils.AudioBuffer,
        *,
        language: object = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> stt.SpeechEvent:
        frame = rtc.combine_audio_frames(buffer)
        self.heard.append(frame.duration)
        text = self.script.pop(0) if self.script else ""
        return stt.SpeechEvent(
            type=stt.SpeechEventType.FINAL_TRANSCRIPT,
            alternatives=[stt.SpeechData(language=self.language, text=text)],  # type: ignore[arg-type]
        )
