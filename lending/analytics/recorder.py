"""The one recorder the services call: an analytics event in the caller's transaction.

`record` only adds a row to the session (no round trip of its own): it is flushed with the domain
change it describes, commits or rolls back with it, and never makes a request wait on anything
but that one insert. Where a change came from (chat, voice, api) and who drove it (the model or
guided mode) is read from `conversation()`, which the turn runner sets around a turn, so a tool
and a REST route call the same service and the event still says which it was.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lending.audit.schemas import Origin
from lending.models.analytics import AnalyticsEvent, EventName


@dataclass(frozen=True)
class Through:
    """How a change reached the services: the channel, and in a conversation the mode."""

    channel: str
    mode: str | None = None


_through: ContextVar[Through | None] = ContextVar("analytics_through", default=None)


@contextlib.contextmanager
def conversation(channel: str, mode: str | None = None) -> Iterator[None]:
    """Changes made inside the block came through a conversation on `channel` in `mode`."""
    token = _through.set(Through(channel=_CHANNELS.get(channel, channel), mode=mode))
    try:
        yield
    finally:
        # A turn's generator closed from another task (a client gone) ends in another context,
        # where the token cannot be reset; that context is being discarded anyway.
        with contextlib.suppress(ValueError):
            _through.reset(token)


def set_mode(mode: str) -> None:
    """The conversation's current mode (the tools node runs what the model or the flow asked)."""
    current = _through.get()
    if current is not None and current.mode != mode:
        _through.set(Through(channel=current.channel, mode=mode))


# The turn runner's channel names, as the funnel groups them.
_CHANNELS = {"chat": "chat", "text": "chat", "web": "chat", "voice": "voice", "api": "api"}


class AnalyticsRecorder:
    def record(
        self,
        session: AsyncSession,
        name: EventName,
        *,
        origin: Origin | None = None,
        organization_id: uuid.UUID | None = None,
        application_id: uuid.UUID | None = None,
        user_id: uuid.UUID | None = None,
        lender_id: uuid.UUID | None = None,
        broker_id: uuid.UUID | None = None,
        product: str | None = None,
        amount: Decimal | None = None,
        properties: dict[str, Any] | None = None,
    ) -> None:
        """Add the event to the session's transaction (written when the change is flushed)."""
        through = _through.get()
        channel = through.channel if through else (origin.channel if origin else None)
        if channel is None and origin is not None and origin.operator:
            channel = "system"
        session.add(
            AnalyticsEvent(
                name=name.value,
                organization_id=organization_id,
                application_id=application_id,
                user_id=user_id,
                lender_id=lender_id,
                broker_id=broker_id,
                product=product,
                channel=channel,
                mode=through.mode if through else None,
                amount=amount,
                properties=properties or {},
            )
        )


analytics = AnalyticsRecorder()
