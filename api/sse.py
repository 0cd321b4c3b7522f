"""The response for Server-Sent Events."""

from __future__ import annotations

from starlette.requests import ClientDisconnect
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send


class EventStreamResponse(StreamingResponse):
    """A streamed response that only writes, without a second task listening for a disconnect.

    Starlette's StreamingResponse runs a task group per response (a writer and a disconnect
    listener) under servers speaking ASGI 2.3, as uvicorn does. A chat turn runs in a task of its
    own and ends by itself, so a client that leaves needs no listener: the server drops what
    would have been written to it, and the turn goes on into the thread's records.
    """

    media_type = "text/event-stream"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.stream_response(send)
        except OSError:
            raise ClientDisconnect() from None
        if self.background is not None:
            await self.background()
