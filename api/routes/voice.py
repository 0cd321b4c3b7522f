"""Voice: a short-lived LiveKit token to talk with the assistant in a conversation's room.

The room's voice worker learns who is talking from the token's identity (set here from the
caller's own login) and loads the person from the database; nothing the client says about itself
is trusted (agents.voice_sessions).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from agents.voice_sessions import voice_sessions
from api.auth import CurrentActor
from api.deps import SessionDep, StateDep
from api.errors import error_responses
from api.ratelimit import rate_limit
from lending.errors import (
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServiceUnavailable,
)

router = APIRouter(prefix="/api/v1/voice", tags=["voice"], dependencies=[rate_limit("chat")])


class VoiceSessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    thread_id: uuid.UUID = Field(description="The conversation to talk in (one of yours).")


class VoiceSessionRead(BaseModel):
    url: str = Field(description="The LiveKit server to connect to.")
    token: str = Field(description="LiveKit access token: this room, this identity, short-lived.")
    room: str
    identity: str
    thread_id: uuid.UUID
    expires_at: datetime = Field(description="The token cannot be used to join after this.")


@router.post(
    "/sessions",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(
        NotAuthenticated, PermissionDenied, RateLimited, NotFound, ServiceUnavailable
    ),
)
async def create_voice_session(
    body: VoiceSessionCreate, actor: CurrentActor, session: SessionDep, state: StateDep
) -> VoiceSessionRead:
    """Create or join the voice room of one of your conversations. 503 when voice is not
    configured; 404 for a conversation that is not yours."""
    grant = await voice_sessions.create(session, actor, state.settings, thread_id=body.thread_id)
    return VoiceSessionRead(
        url=grant.url,
        token=grant.token,
        room=grant.room,
        identity=grant.identity,
        thread_id=grant.thread_id,
        expires_at=grant.expires_at,
    )
