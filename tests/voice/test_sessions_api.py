"""POST /api/v1/voice/sessions: a LiveKit token for the room of one of the caller's threads, and
the worker's reading of who is in a room (issue 18)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import jwt
import pytest
from livekit import api
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from agents.threads import thread_service
from agents.voice_sessions import AGENT_NAME, voice_sessions
from api.app import create_app
from lending.config import Settings
from lending.db import SessionMaker
from lending.errors import NotFound, PermissionDenied
from lending.kv import MemoryStore
from tests.identity.factories import (
    actor_of,
    bearer,
    create_organization,
    create_user,
    issue_token,
)

SECRET = "a-livekit-secret-of-at-least-32-characters"


@pytest.fixture
def voice_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "livekit_url": "wss://voice.example.test",
            "livekit_api_key": "APIvoicekey",
            "livekit_api_secret": SecretStr(SECRET),
            "elevenlabs_api_key": SecretStr("el-key"),
            "voice_stt_base_url": "http://127.0.0.1:9/v1",
            "voice_token_ttl_seconds": 300,
        }
    )


async def _client(
    settings: Settings, sessionmaker: SessionMaker, store: MemoryStore
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, sessionmaker=sessionmaker, store=store)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        yield http


@pytest.fixture
async def voice_client(
    voice_settings: Settings, sessionmaker: SessionMaker, memory_store: MemoryStore
) -> AsyncIterator[httpx.AsyncClient]:
    async for http in _client(voice_settings, sessionmaker, memory_store):
        yield http


async def _thread(http: httpx.AsyncClient, token: str) -> str:
    answer = await http.post("/api/v1/chat/threads", json={}, headers=bearer(token))
    assert answer.status_code == 201, answer.text
    thread_id: str = answer.json()["id"]
    return thread_id


async def test_token_binds_the_callers_identity_to_the_threads_room(
    session: AsyncSession, voice_settings: Settings, voice_client: httpx.AsyncClient
) -> None:
    user = await create_user(session, organization=await create_organization(session))
    token = await issue_token(session, user, settings=voice_settings)
    thread_id = await _thread(voice_client, token)
    before = datetime.now(UTC)

    answer = await voice_client.post(
        "/api/v1/voice/sessions", json={"thread_id": thread_id}, headers=bearer(token)
    )

    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["url"] == "wss://voice.example.test"
    assert body["room"] == f"omnifin-thread-{thread_id}"
    assert body["identity"] == f"user:{user.id}"
    # Signed with our LiveKit secret: LiveKit verifies it, and so does its own verifier.
    claims = api.TokenVerifier("APIvoicekey", SECRET).verify(body["token"])
    assert claims.identity == f"user:{user.id}"
    assert claims.video is not None
    assert claims.video.room == body["room"]
    assert claims.video.room_join is True
    assert claims.video.can_publish_sources == ["microphone"]
    assert not claims.video.can_publish_data
    assert not claims.video.room_admin
    assert not claims.video.room_create
    raw = jwt.decode(body["token"], SECRET, algorithms=["HS256"], issuer="APIvoicekey")
    assert raw["roomConfig"]["agents"] == [{"agentName": AGENT_NAME}]
    assert raw["roomConfig"]["name"] == body["room"]
    # Short-lived: expires after the configured lifetime, as the response says.
    lifetime = raw["exp"] - before.timestamp()
    assert 300 - 5 <= lifetime <= 300 + 5
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert abs(expires_at.timestamp() - raw["exp"]) <= 2
    # Any other secret fails the signature.
    with pytest.raises(jwt.InvalidSignatureError):
        api.TokenVerifier("APIvoicekey", "another-secret-of-at-least-32-characters").verify(
            body["token"]
        )


async def test_the_token_expires_after_its_lifetime(
    session: AsyncSession, voice_settings: Settings
) -> None:
    user = await create_user(session, organization=await create_organization(session))
    thread = await thread_service.create(
        session, actor_of(user), graph=None, channel="voice", title=None
    )
    grant = await voice_sessions.create(
        session, actor_of(user), voice_settings, thread_id=thread.id
    )
    claims = jwt.decode(grant.token, SECRET, algorithms=["HS256"], issuer="APIvoicekey")
    assert claims["exp"] - claims["nbf"] == 300
    # Checked as if 299 seconds had passed: still valid; as if 301 had: expired.
    options: jwt.types.Options = {"require": ["exp"], "verify_nbf": False}
    jwt.decode(
        grant.token,
        SECRET,
        algorithms=["HS256"],
        issuer="APIvoicekey",
        options=options,
        leeway=-299,
    )
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(
            grant.token,
            SECRET,
            algorithms=["HS256"],
            issuer="APIvoicekey",
            options=options,
            leeway=-301,
        )


async def test_another_users_thread_is_not_found_and_no_token_is_given(
    session: AsyncSession, voice_settings: Settings, voice_client: httpx.AsyncClient
) -> None:
    organization = await create_organization(session)
    owner = await create_user(session, organization=organization)
    other = await create_user(session, organization=organization)
    owner_token = await issue_token(session, owner, settings=voice_settings)
    other_token = await issue_token(session, other, settings=voice_settings)
    thread_id = await _thread(voice_client, owner_token)

    answer = await voice_client.post(
        "/api/v1/voice/sessions", json={"thread_id": thread_id}, headers=bearer(other_token)
    )
    assert answer.status_code == 404, answer.text
    assert "token" not in answer.json()
    unknown = await voice_client.post(
        "/api/v1/voice/sessions", json={"thread_id": str(uuid.uuid4())}, headers=bearer(owner_token)
    )
    assert unknown.status_code == 404
    anonymous = await voice_client.post("/api/v1/voice/sessions", json={"thread_id": thread_id})
    assert anonymous.status_code == 401
    bad = await voice_client.post(
        "/api/v1/voice/sessions", json={"thread_id": "nope"}, headers=bearer(owner_token)
    )
    assert bad.status_code == 422


async def test_voice_not_configured_is_said_plainly(
    session: AsyncSession, settings: Settings, sessionmaker: SessionMaker, memory_store: MemoryStore
) -> None:
    user = await create_user(session, organization=await create_organization(session))
    token = await issue_token(session, user, settings=settings)
    async for http in _client(settings, sessionmaker, memory_store):
        thread_id = await _thread(http, token)
        answer = await http.post(
            "/api/v1/voice/sessions", json={"thread_id": thread_id}, headers=bearer(token)
        )
        assert answer.status_code == 503
        assert "not configured" in answer.text


async def test_the_worker_reads_the_person_from_the_room_and_the_database(
    session: AsyncSession, voice_settings: Settings
) -> None:
    organization = await create_organization(session)
    owner = await create_user(session, organization=organization)
    other = await create_user(session, organization=organization)
    thread = await thread_service.create(
        session, actor_of(owner), graph=None, channel="voice", title=None
    )
    room = f"omnifin-thread-{thread.id}"

    actor, thread_id = await voice_sessions.actor_for_room(
        session, room=room, identity=f"user:{owner.id}"
    )
    assert (actor.user_id, actor.role, actor.organization_id) == (
        owner.id,
        owner.role,
        owner.organization_id,
    )
    assert thread_id == thread.id
    # Someone else in the room of a thread that is not theirs: refused.
    with pytest.raises(NotFound):
        await voice_sessions.actor_for_room(session, room=room, identity=f"user:{other.id}")
    for identity in ("alice", f"user:{uuid.uuid4()}", "user:not-a-uuid"):
        with pytest.raises(NotFound):
            await voice_sessions.actor_for_room(session, room=room, identity=identity)
    with pytest.raises(NotFound):
        await voice_sessions.actor_for_room(
            session, room="some-other-room", identity=f"user:{owner.id}"
        )
    # A deactivated account no longer talks.
    owner.is_active = False
    await session.flush()
    with pytest.raises(PermissionDenied):
        await voice_sessions.actor_for_room(session, room=room, identity=f"user:{owner.id}")
