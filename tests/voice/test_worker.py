"""The worker's parts from the settings, built offline: local VAD and end-of-turn weights ship in
wheels; no preemptive generation (a turn runs tools); no settings, no voice (issue 18)."""

from __future__ import annotations

from pydantic import SecretStr

from lending.config import Settings
from voice.worker import not_configured, speech_components


def test_nothing_is_configured_by_default_and_the_worker_says_what_is_missing(
    settings: Settings,
) -> None:
    missing = not_configured(settings)
    assert len(missing) == 3
    assert "OMNIFIN_ELEVENLABS_API_KEY" in missing


def test_speech_parts_are_built_from_the_settings_without_the_network(settings: Settings) -> None:
    configured = settings.model_copy(
        update={
            "livekit_url": "ws://127.0.0.1:7880",
            "livekit_api_key": "key",
            "livekit_api_secret": SecretStr("a-livekit-secret-of-at-least-32-characters"),
            "elevenlabs_api_key": SecretStr("el-key"),
            "elevenlabs_voice_id": "voice-123",
            "voice_stt_base_url": "http://127.0.0.1:9/v1",
        }
    )
    assert not_configured(configured) == []
    parts = speech_components(configured)
    assert parts["tts"].provider == "ElevenLabs"
    assert parts["tts"]._opts.voice_id == "voice-123"
    assert parts["tts"]._opts.model == "eleven_flash_v2_5"
    assert parts["vad"].model == "silero"
    detector = parts["turn_handling"]["turn_detection"]
    assert detector.model == "turn-detector-v1-mini"  # the local model, no cloud gateway
    assert parts["turn_handling"]["preemptive_generation"] == {"enabled": False}
