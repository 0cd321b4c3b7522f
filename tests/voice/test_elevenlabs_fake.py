"""The ElevenLabs TTS plugin, configured as the worker configures it, against a local fake of
ElevenLabs' WebSocket API: what it sends (key, voice, model, format, text, context close) and how
an error from the service surfaces (issue 18)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from livekit.agents import APIConnectOptions, APIError
from livekit.plugins import elevenlabs
from pydantic import SecretStr

from lending.config import Settings
from voice.worker import TTS_ENCODING, speech_components

RATE = 24_000
CHUNK = b"\x01\x00" * (RATE // 10)  # 100 ms of PCM per text message


@dataclass
class FakeElevenLabs:
    url: str = ""
    fail_with: str | None = None
    connections: list[dict[str, Any]] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        self.connections.append(
            {
                "path": request.path,
                "query": dict(request.query),
                "key": request.headers.get("xi-api-key"),
            }
        )
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            data = json.loads(message.data)
            self.received.append(data)
            context = data.get("context_id")
            if self.fail_with is not None and data.get("text", "").strip():
                await ws.send_json({"error": self.fail_with, "context_id": context})
            elif data.get("close_context"):
                await ws.send_json({"isFinal": True, "context_id": context})
            elif data.get("text", "").strip():
                audio = base64.b64encode(CHUNK).decode()
                await ws.send_json({"audio": audio, "context_id": context})
        return ws


@pytest.fixture
async def fake_elevenlabs() -> AsyncIterator[FakeElevenLabs]:
    fake = FakeElevenLabs()
    app = web.Application()
    app.router.add_get("/v1/text-to-speech/{voice}/multi-stream-input", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    fake.url = f"http://127.0.0.1:{port}/v1"
    try:
        yield fake
    finally:
        await runner.cleanup()


def _tts(settings: Settings, fake: FakeElevenLabs, http: aiohttp.ClientSession) -> Any:
    configured = settings.model_copy(
        update={
            "livekit_url": "ws://127.0.0.1:7880",
            "livekit_api_key": "key",
            "livekit_api_secret": SecretStr("a-livekit-secret-of-at-least-32-characters"),
            "elevenlabs_api_key": SecretStr("el-secret"),
            "elevenlabs_voice_id": "voice-123",
            "elevenlabs_base_url": fake.url,
            "voice_stt_base_url": "http://127.0.0.1:9/v1",
        }
    )
    tts = speech_components(configured)["tts"]
    assert isinstance(tts, elevenlabs.TTS)
    tts._ensure_session = lambda: http  # type: ignore[method-assign]  # no job context here
    return tts


async def test_what_the_worker_sends_to_elevenlabs_and_the_audio_it_gets_back(
    settings: Settings, fake_elevenlabs: FakeElevenLabs
) -> None:
    async with aiohttp.ClientSession() as http:
        tts = _tts(settings, fake_elevenlabs, http)
        stream = tts.stream(conn_options=APIConnectOptions(max_retry=0, timeout=5))
        stream.push_text("Your payment is 412 dollars a month. ")
        stream.flush()
        stream.end_input()
        frames = [event.frame async for event in stream]
        await stream.aclose()
        await tts.aclose()

    [connection] = fake_elevenlabs.connections
    assert connection["path"] == "/v1/text-to-speech/voice-123/multi-stream-input"
    assert connection["key"] == "el-secret"
    assert connection["query"]["model_id"] == "eleven_flash_v2_5"
    assert connection["query"]["output_format"] == TTS_ENCODING
    texts = [str(message["text"]) for message in fake_elevenlabs.received if "text" in message]
    assert texts[0] == " "  # the context's opening packet
    assert "Your payment is 412 dollars a month." in "".join(texts)
    assert fake_elevenlabs.received[-1].get("close_context") is True
    contexts = {message.get("context_id") for message in fake_elevenlabs.received}
    assert len(contexts) == 1
    # The PCM the service sent is what comes out, at its rate.
    assert frames
    assert {frame.sample_rate for frame in frames} == {RATE}
    pushed = sum(1 for m in fake_elevenlabs.received if m.get("text", "").strip())
    total = sum(frame.samples_per_channel for frame in frames)
    assert total == pushed * len(CHUNK) // 2


async def test_an_error_from_elevenlabs_fails_the_synthesis_plainly(
    settings: Settings, fake_elevenlabs: FakeElevenLabs
) -> None:
    fake_elevenlabs.fail_with = "quota_exceeded"
    async with aiohttp.ClientSession() as http:
        tts = _tts(settings, fake_elevenlabs, http)
        stream = tts.stream(conn_options=APIConnectOptions(max_retry=0, timeout=5))
        stream.push_text("Hello there. ")
        stream.flush()
        stream.end_input()
        frames: list[Any] = []

        async def collect() -> None:
            async for event in stream:
                frames.append(event.frame)

        # The plugin logs the service's error and raises its own, without the details.
        with pytest.raises(APIError, match="Could not synthesize"):
            await collect()
        await stream.aclose()
        await tts.aclose()
    assert frames == []
    # Asked once: with no retries configured, nothing is sent again.
    assert len(fake_elevenlabs.connections) == 1
    sent = [m["text"] for m in fake_elevenlabs.received if m.get("text", "").strip()]
    assert sent == ["Hello there. "]
