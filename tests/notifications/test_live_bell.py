"""The live bell over real HTTP: `omnifin serve` as a process on a database of its own, a stream read
as a browser reads it, and notifications committed by another process's connection (as the job
worker or a lender webhook would write them)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from devtools.databases import drop_database, recreate_database
from lending import migrations
from lending.config import Settings
from lending.db import SessionMaker, create_engine, create_sessionmaker, transaction
from lending.models.identity import User
from lending.notifications.service import notification_service
from tests.identity.factories import bearer, issue_token
from tests.lending.factories import create_application, create_borrower

OMNIFIN = str(Path(sys.executable).parent / "omnifin")
DATABASE = "omnifin_live_bell"
WAIT = 20.0  # an upper bound for a step, never a measured time


@dataclass(frozen=True)
class Server:
    url: str
    database_url: str


@pytest.fixture(scope="module")
def server(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    database_url = recreate_database(server_url, DATABASE)
    migrations.upgrade(database_url)
    with httpx.Client() as probe_client:
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIFIN_")}
        env.update(
            OMNIFIN_DATABASE_URL=database_url,
            OMNIFIN_STATE_DIR=str(tmp_path_factory.mktemp("live-bell-state")),
            # Short streams, so that the test sees one end and reconnect by itself.
            OMNIFIN_NOTIFICATION_STREAM_SECONDS="4",
        )
        log_path = tmp_path_factory.mktemp("live-bell-log") / "server.log"
        with log_path.open("w") as log:
            process = subprocess.Popen(
                [OMNIFIN, "serve", "--no-worker", "--port", str(port)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + 90
            while True:
                assert process.poll() is None, log_path.read_text()[-3000:]
                try:
                    if probe_client.get(f"{url}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the server did not become ready"
                time.sleep(0.2)
            yield Server(url=url, database_url=database_url)
        finally:
            process.terminate()
            process.wait(timeout=30)
            drop_database(server_url, DATABASE)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
async def writer(server: Server, settings: Settings) -> AsyncIterator[SessionMaker]:
    """Committing sessions on the server's database (another process's connection)."""
    engine: AsyncEngine = create_engine(settings, server.database_url)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


@dataclass(frozen=True)
class Person:
    user: User
    token: str
    application_id: uuid.UUID


async def _person(writer: SessionMaker, settings: Settings) -> Person:
    async with transaction(writer) as session:
        user = await create_borrower(session, settings)
        application = await create_application(session, user)
        token = await issue_token(session, user, settings=settings)
    return Person(user, token, application.id)


async def _status_changed(session: AsyncSession, person: Person, to_status: str) -> None:
    """What ApplicationService.move writes (its transitions are tested elsewhere); here any
    status, as often as a test needs."""
    await notification_service.application_status_changed(
        session,
        application_id=person.application_id,
        reference="OMF-LIVE",
        borrower_id=person.user.id,
        broker_id=None,
        from_status="submitted",
        to_status=to_status,
        caused_by=None,
    )


async def _notify(writer: SessionMaker, person: Person, to_status: str) -> None:
    async with transaction(writer) as session:
        await _status_changed(session, person, to_status)


class Bell:
    """One stream read frame by frame, as the web app reads it."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()
        self.last_id: str | None = None
        self.comments = 0

    async def next(self) -> tuple[str, dict[str, object]]:
        async def read() -> tuple[str, dict[str, object]]:
            event, data = "message", ""
            async for line in self._lines:
                if line.startswith(":"):
                    self.comments += 1
                elif line.startswith("event: "):
                    event = line.removeprefix("event: ")
                elif line.startswith("id: "):
                    self.last_id = line.removeprefix("id: ")
                elif line.startswith("data: "):
                    data = line.removeprefix("data: ")
                elif line == "" and data:
                    return event, json.loads(data)
            raise EOFError("the stream ended")

        return await asyncio.wait_for(read(), WAIT)


async def _open(
    http: httpx.AsyncClient, server: Server, token: str, last_event_id: str | None = None
) -> httpx.Response:
    headers = bearer(token)
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    request = http.build_request(
        "GET", f"{server.url}/api/v1/notifications/stream", headers=headers
    )
    response = await http.send(request, stream=True)
    assert response.status_code == 200, await response.aread()
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-store"
    return response


async def test_a_committed_notification_reaches_the_open_bell_and_no_one_else(
    server: Server, writer: SessionMaker, settings: Settings
) -> None:
    person = await _person(writer, settings)
    stranger = await _person(writer, settings)
    token, stranger_token = person.token, stranger.token
    await _notify(writer, person, "submitted")
    async with httpx.AsyncClient(timeout=WAIT) as http:
        bell = Bell(await _open(http, server, token))
        stranger_bell = Bell(await _open(http, server, stranger_token))
        assert await bell.next() == ("unread", {"unread_count": 1})
        assert await stranger_bell.next() == ("unread", {"unread_count": 0})
        first_cursor = bell.last_id

        # Rolled back: never announced. Then the stranger's, then the person's.
        async with writer() as session:
            await _status_changed(session, person, "approved")
            await session.flush()
            await session.rollback()
        await _notify(writer, stranger, "declined")
        await _notify(writer, person, "approved")

        event, data = await bell.next()
        assert event == "notification"
        assert data["message"] == "Application OMF-LIVE is now approved."
        assert data["read_at"] is None
        assert await bell.next() == ("unread", {"unread_count": 2})
        assert bell.last_id == data["id"] != first_cursor

        stranger_event, stranger_data = await stranger_bell.next()
        assert stranger_event == "notification"
        assert stranger_data["message"] == "Application OMF-LIVE is now declined."

        # Marking all read through the API brings the count down on the open stream.
        marked = await http.post(
            f"{server.url}/api/v1/notifications/read-all", headers=bearer(token)
        )
        assert marked.json() == {"marked": 2}
        assert await bell.next() == ("unread", {"unread_count": 0})
        await bell.response.aclose()
        await stranger_bell.response.aclose()


async def test_reconnecting_with_last_event_id_delivers_what_was_missed_in_order(
    server: Server, writer: SessionMaker, settings: Settings
) -> None:
    person = await _person(writer, settings)
    token = person.token
    await _notify(writer, person, "submitted")
    async with httpx.AsyncClient(timeout=WAIT) as http:
        bell = Bell(await _open(http, server, token))
        assert await bell.next() == ("unread", {"unread_count": 1})
        cursor = bell.last_id
        await bell.response.aclose()

        for status in ("under_review", "approved", "funded"):
            await _notify(writer, person, status)

        again = Bell(await _open(http, server, token, last_event_id=cursor))
        messages = [(await again.next())[1]["message"] for _ in range(3)]
        assert messages == [
            f"Application OMF-LIVE is now {words}."
            for words in ("under review", "approved", "funded")
        ]
        assert await again.next() == ("unread", {"unread_count": 4})
        # The server ends the stream after its set time (4 s here), after keep-alives or not.
        with pytest.raises(EOFError):
            await again.next()
        await again.response.aclose()

        # A cursor that is not the person's (here a random one) sends only the count.
        fresh = Bell(await _open(http, server, token, last_event_id=str(uuid.uuid4())))
        assert await fresh.next() == ("unread", {"unread_count": 4})
        await fresh.response.aclose()


async def test_the_stream_needs_a_signed_in_person(server: Server) -> None:
    async with httpx.AsyncClient(timeout=WAIT) as http:
        anonymous = await http.get(f"{server.url}/api/v1/notifications/stream")
        assert anonymous.status_code == 401
        forged = await http.get(
            f"{server.url}/api/v1/notifications/stream", headers=bearer("not-a-token")
        )
        assert forged.status_code == 401
