"""Voice sessions: a LiveKit room per conversation thread, and who is in it.

`create` gives the caller a short-lived LiveKit access token for the room of a thread they own:
the token binds one identity (`user:<user id>`, chosen here, never by the client) to one room
(`omnifin-thread-<thread id>`), may publish only the microphone, and asks LiveKit to dispatch the
voice worker (`AGENT_NAME`) into the room. The room is created by LiveKit when the first
participant joins with it (or joined, when it exists).

The worker learns the person from the room alone (`actor_for_room`): the participant identity
LiveKit verified against our signature names the user, whose role and organization are loaded
here from the database, and the room names the thread, which must be that user's. The client's
word (metadata, attributes, names) is never read.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from livekit import api
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agents.threads import thread_service
from lending.config import Settings
from lending.errors import NotFound, PermissionDenied, ServiceUnavailable
from lending.identity.actor import Actor
from lending.identity.scopes import Scope
from lending.models.identity import Organization, OrganizationStatus, User

AGENT_NAME = "omnifin-voice"
ROOM_PREFIX = "omnifin-thread-"
IDENTITY_PREFIX = "user:"
NOT_CONFIGURED = "Voice is not configured on this platform."


@dataclass(frozen=True)
class VoiceGrant:
    url: str
    token: str
    room: str
    identity: str
    thread_id: uuid.UUID
    expires_at: datetime


def room_name(thread_id: uuid.UUID) -> str:
    return f"{ROOM_PREFIX}{thread_id}"


def identity_of(user_id: uuid.UUID) -> str:
    return f"{IDENTITY_PREFIX}{user_id}"


def thread_of_room(room: str) -> uuid.UUID:
    """The thread a room belongs to; NotFound for a room that is not one of ours."""
    if not room.startswith(ROOM_PREFIX):
        raise NotFound("This room is not an Omnifin conversation.")
    try:
        return uuid.UUID(room.removeprefix(ROOM_PREFIX))
    except ValueError:
        raise NotFound("This room is not an Omnifin conversation.") from None


def user_of_identity(identity: str) -> uuid.UUID:
    if not identity.startswith(IDENTITY_PREFIX):
        raise NotFound("This participant is not an Omnifin user.")
    try:
        return uuid.UUID(identity.removeprefix(IDENTITY_PREFIX))
    except ValueError:
        raise NotFound("This participant is not an Omnifin user.") from None


class VoiceSessions:
    async def create(
        self,
        session: AsyncSession,
        actor: Actor,
        settings: Settings,
        *,
        thread_id: uuid.UUID,
    ) -> VoiceGrant:
        """A token to talk in the room of one of the caller's threads (404 for anyone else's)."""
        actor.require(Scope.CHAT_USE)
        thread = await thread_service.get(session, actor, thread_id)
        if not settings.voice_configured:
            raise ServiceUnavailable(NOT_CONFIGURED)
        assert settings.livekit_url
        assert settings.livekit_api_key
        assert settings.livekit_api_secret
        room = room_name(thread.id)
        identity = identity_of(actor.user_id)
        ttl = timedelta(seconds=settings.voice_token_ttl_seconds)
        issued = datetime.now(UTC)
        token = (
            api.AccessToken(
                settings.livekit_api_key, settings.livekit_api_secret.get_secret_value()
            )
            .with_identity(identity)
            .with_ttl(ttl)
            .with_grants(
                api.VideoGrants(
                    room_join=True,
                    room=room,
                    can_publish=True,
                    can_subscribe=True,
                    can_publish_data=False,
                    can_publish_sources=["microphone"],
                    can_update_own_metadata=False,
                )
            )
            .with_room_config(
                api.RoomConfiguration(
                    name=room,
                    max_participants=2,  # the person and the assistant
                    empty_timeout=60,
                    agents=[api.RoomAgentDispatch(agent_name=AGENT_NAME)],
                )
            )
            .to_jwt()
        )
        return VoiceGrant(
            url=settings.livekit_url,
            token=token,
            room=room,
            identity=identity,
            thread_id=thread.id,
            expires_at=issued + ttl,
        )

    async def actor_for_room(
        self, session: AsyncSession, *, room: str, identity: str
    ) -> tuple[Actor, uuid.UUID]:
        """The person a room's participant is, loaded from the database, and the thread (theirs)
        the room belongs to. A deactivated user or organization, or a thread of someone else's,
        is refused."""
        thread_id = thread_of_room(room)
        user_id = user_of_identity(identity)
        row = (
            await session.execute(
                select(User, Organization)
                .join(Organization, Organization.id == User.organization_id)
                .where(User.id == user_id)
            )
        ).first()
        if row is None:
            raise NotFound("This participant is not an Omnifin user.")
        user, organization = row
        if not user.is_active or organization.status is not OrganizationStatus.ACTIVE:
            raise PermissionDenied("This account cannot use voice.")
        actor = Actor.for_user(user.id, user.role, user.organization_id)
        actor.require(Scope.CHAT_USE)
        await thread_service.get(session, actor, thread_id)  # NotFound unless the thread is theirs
        return actor, thread_id


voice_sessions = VoiceSessions()
