"""/api/v1/me says whether voice is configured, so the web app shows its voice button only then."""

from __future__ import annotations

import httpx
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from api.app import create_app
from lending.config import Settings
from lending.db import SessionMaker
from lending.kv import MemoryStore
from tests.identity.factories import bearer, create_organization, create_user, issue_token


async def _voice_enabled(
    settings: Settings, sessionmaker: SessionMaker, store: MemoryStore, token: str
) -> bool:
    app = create_app(settings, sessionmaker=sessionmaker, store=store)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        answer = await http.get("/api/v1/me", headers=bearer(token))
    assert answer.status_code == 200, answer.text
    enabled = answer.json()["voice_enabled"]
    assert isinstance(enabled, bool)
    return enabled


async def test_voice_is_offered_only_when_room_speech_and_transcription_are_configured(
    session: AsyncSession,
    settings: Settings,
    sessionmaker: SessionMaker,
    memory_store: MemoryStore,
) -> None:
    user = await create_user(session, organization=await create_organization(session))
    token = await issue_token(session, user, settings=settings)
    assert not await _voice_enabled(settings, sessionmaker, memory_store, token)
    partly = settings.model_copy(update={"livekit_url": "wss://voice.example.com"})
    assert not await _voice_enabled(partly, sessionmaker, memory_store, token)
    room_only = settings.model_copy(
        update={
            "livekit_url": "wss://voice.example.com",
            "livekit_api_key": "key",
            "livekit_api_secret": SecretStr("secret"),
        }
    )
    # A room without speech and transcription is no voice (issue 18).
    assert not await _voice_enabled(room_only, sessionmaker, memory_store, token)
    configured = room_only.model_copy(
        update={
            "elevenlabs_api_key": SecretStr("el-key"),
            "voice_stt_base_url": "http://127.0.0.1:9000/v1",
        }
    )
    assert await _voice_enabled(configured, sessionmaker, memory_store, token)
