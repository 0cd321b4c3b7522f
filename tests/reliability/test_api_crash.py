"""`kill -9` of a real `omnifin serve` mid-turn (a tool in flight) and mid-upload (the body still
streaming); a new process then finishes what can be finished, and nothing half-done is visible.

- Mid-turn: the tool's transaction never committed. The new process's next turn marks the cut-off
  run `failed`, resumes the graph from its checkpoint and runs the tool exactly once; the
  thread's lease (in the real Redis) lapses on its own, so the thread takes messages again.
- Mid-upload: no document row; the unfinished `.part` file is swept (by the hourly job's code);
  the same file uploaded again is a new document, not a "duplicate" of a half-stored one.

The tool is held mid-flight by a table lock the test takes (its INSERT waits on it), and the
upload by a body the test has not finished sending: progress is observed, never slept on.
"""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest

from agents.prompts.service import seed_default_prompts
from devtools.databases import recreate_database
from lending import migrations
from lending.config import Settings
from lending.db import create_engine, create_sessionmaker, libpq_url, transaction
from lending.documents.storage import blob_store
from lending.documents.sweep import sweep
from tests.agents.sse import parse_sse
from tests.conftest import REDIS_URL
from tests.documents.processes import (
    DEADLINE_SECONDS,
    Processes,
    borrower_with_application,
    environment,
    one,
    poll,
    processes,
)
from tests.identity.factories import bearer, issue_token
from tests.lending.factories import create_borrower, create_catalog

LEASE_SECONDS = "2"  # the thread's lease: what a killed process leaves in Redis lapses this soon


@pytest.fixture(scope="module")
def url(server_url: str) -> str:
    url = recreate_database(server_url, "omnifin_api_crash")
    migrations.upgrade(url)
    return url


@pytest.fixture
def crash_settings(url: str, tmp_path: Path) -> Settings:
    return Settings(
        environment="test",
        state_dir=tmp_path / "state",
        database_url=url,  # type: ignore[arg-type]
        documents_dir=tmp_path / "documents",
    )


@pytest.fixture
def running() -> Iterator[Processes]:
    yield from processes()


def _env(settings: Settings) -> dict[str, str]:
    return environment(
        settings,
        redis_url=REDIS_URL,
        chat_turn_lease_seconds=LEASE_SECONDS,
        rate_limits='{"default": {}}',
        # The resume from the checkpoint written before the tools step is what is tested here:
        # that checkpoint exists with async durability (with the default, exit, a killed turn
        # resumes from the person's message: tests/agents/test_turn_crash.py).
        agent_durability="async",
    )


def _serving(running: Processes, env: dict[str, str]) -> tuple[str, subprocess.Popen[bytes]]:
    url = running.serve(env)
    return url, running.started[-1]


def _kill(process: subprocess.Popen[bytes]) -> None:
    process.kill()  # SIGKILL: no shutdown, no cleanup, no drain
    process.wait(timeout=30)


async def _turn(
    http: httpx.AsyncClient, token: str, thread_id: str, message: str
) -> httpx.Response:
    return await http.post(
        f"/api/v1/chat/threads/{thread_id}/runs",
        json={"message": message},
        headers=bearer(token),
        timeout=DEADLINE_SECONDS,
    )


async def _borrower_token(settings: Settings, url: str) -> tuple[uuid.UUID, str]:
    engine = create_engine(settings, url)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            await create_catalog(session)
            await seed_default_prompts(session)
            borrower = await create_borrower(session, settings)
            token = await issue_token(session, borrower, settings=settings)
    finally:
        await engine.dispose()
    return borrower.id, token


def _waiting_on(url: str, table: str) -> bool:
    return bool(
        one(
            url,
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query ILIKE %s",
            f"%{table}%",
        )
    )


def _tools_step_stored(url: str, thread_id: str) -> bool:
    """The thread's latest checkpoint has the tools node to run next (LangGraph's branch
    channel to it is newer than what the node has seen)."""
    return bool(
        one(
            url,
            "SELECT (checkpoint->'channel_versions'->>'branch:to:tools') IS DISTINCT FROM "
            "(checkpoint->'versions_seen'->'tools'->>'branch:to:tools') "
            "AND checkpoint->'channel_versions' ? 'branch:to:tools' "
            "FROM checkpoints WHERE thread_id = %s ORDER BY checkpoint_id DESC LIMIT 1",
            thread_id,
        )
    )


async def test_a_turn_killed_mid_tool_is_resumed_once_by_the_next_process(
    url: str, crash_settings: Settings, running: Processes
) -> None:
    borrower_id, token = await _borrower_token(crash_settings, url)
    env = _env(crash_settings)
    applications = "SELECT count(*) FROM loan_application WHERE borrower_user_id = %s"
    base, server = _serving(running, env)
    async with httpx.AsyncClient(base_url=base) as http:
        created = await http.post("/api/v1/chat/threads", json={}, headers=bearer(token))
        assert created.status_code == 201, created.text
        thread_id = created.json()["id"]
        first = await _turn(http, token, thread_id, "hi")
        assert parse_sse(first.text)[-1][0] == "run.completed"
        with psycopg.connect(libpq_url(url)) as lock:
            # start_application's INSERT waits here: the tool is in flight, uncommitted.
            lock.execute("LOCK TABLE loan_application IN EXCLUSIVE MODE")
            cut = asyncio.create_task(
                _turn(http, token, thread_id, "a personal loan of $15,000 over 36 months")
            )
            await asyncio.to_thread(poll, lambda: _waiting_on(url, "loan_application"), "the tool")
            # The checkpoint before the tools step is written alongside it (async durability):
            # the kill comes once it is stored, so what is resumed is known.
            await asyncio.to_thread(
                poll, lambda: _tools_step_stored(url, thread_id), "the checkpoint"
            )
            _kill(server)
            lock.rollback()
        with pytest.raises(httpx.HTTPError):
            await cut  # the stream was cut: no run.completed reached the client
    assert one(url, applications, borrower_id) == 0
    cut_run = one(
        url,
        "SELECT id FROM chat_run WHERE thread_id = %s AND status = 'running'",
        uuid.UUID(thread_id),
    )
    assert cut_run is not None

    base, _ = _serving(running, env)
    async with httpx.AsyncClient(base_url=base) as http:

        async def accepted() -> httpx.Response:
            # The dead process's lease on the thread lapses by itself (seconds, not minutes).
            while True:
                answer = await _turn(http, token, thread_id, "are you still there?")
                if answer.status_code != 409:
                    return answer
                await asyncio.sleep(0.2)

        async with asyncio.timeout(DEADLINE_SECONDS):  # a loaded machine is slow, not stuck
            resumed = await accepted()
        assert resumed.status_code == 200, resumed.text
        events = parse_sse(resumed.text)
        again = parse_sse((await _turn(http, token, thread_id, "thanks")).text)

    assert events[-1][0] == "run.completed"
    finished = [data for kind, data in events if kind == "tool.finished"]
    assert [(data["tool"], data["ok"]) for data in finished] == [("start_application", True)]
    assert again[-1][0] == "run.completed"  # the thread goes on
    assert one(url, applications, borrower_id) == 1  # the tool ran once
    assert one(url, "SELECT status || ':' || error FROM chat_run WHERE id = %s", cut_run) == (
        "failed:ProcessStopped"
    )
    assert (
        one(
            url,
            "SELECT count(*) FROM chat_run WHERE thread_id = %s AND status = 'running'",
            uuid.UUID(thread_id),
        )
        == 0
    )


async def _pdf_form(boundary: str, application_id: str, chunks: int) -> AsyncIterator[bytes]:
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="application_id"\r\n\r\n'
        f'{application_id}\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        'filename="statement.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
    ).encode()
    yield b"%PDF-1.7\n"
    for n in range(chunks):
        yield bytes([n % 251]) * 65_536
    yield f"\r\n--{boundary}--\r\n".encode()


def _partial_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.part"))


async def test_an_upload_killed_mid_body_leaves_nothing_and_can_be_sent_again(
    url: str, crash_settings: Settings, running: Processes
) -> None:
    uploader = await borrower_with_application(crash_settings, url)
    env = _env(crash_settings)
    documents = crash_settings.documents_dir
    assert documents is not None
    rows = "SELECT count(*) FROM document WHERE application_id = %s"
    base, server = _serving(running, env)
    more = asyncio.Event()

    async def stalled_body(boundary: str) -> AsyncIterator[bytes]:
        parts = _pdf_form(boundary, str(uploader.application_id), chunks=32)
        for _ in range(6):  # the form fields, the file's start, some of its bytes
            yield await anext(parts)
        await more.wait()  # the rest comes only once the server is dead
        async for part in parts:
            yield part

    boundary = uuid.uuid4().hex
    async with httpx.AsyncClient(base_url=base) as http:
        upload = asyncio.create_task(
            http.post(
                "/api/v1/documents",
                content=stalled_body(boundary),
                headers={
                    **uploader.headers,
                    "Content-Type": f"multipart/form-data; boundary={boundary}",
                },
                timeout=60,
            )
        )
        await asyncio.to_thread(poll, lambda: _partial_files(documents), "the stored bytes")
        _kill(server)
        more.set()  # the client goes on sending, into a connection nobody reads
        with pytest.raises(httpx.HTTPError):
            await upload
    assert one(url, rows, uploader.application_id) == 0
    assert len(_partial_files(documents)) == 1  # what the dead process was writing

    base, _ = _serving(running, env)
    boundary = uuid.uuid4().hex
    async with httpx.AsyncClient(base_url=base) as http:
        retried = await http.post(
            "/api/v1/documents",
            content=_pdf_form(boundary, str(uploader.application_id), chunks=32),
            headers={
                **uploader.headers,
                "Content-Type": f"multipart/form-data; boundary={boundary}",
            },
            timeout=60,
        )
    assert retried.status_code == 201, retried.text
    assert retried.json()["duplicate"] is False
    assert one(url, rows, uploader.application_id) == 1

    # The hourly sweep, as if run a grace period later (the job's own code, not a copy).
    engine = create_engine(crash_settings, url)
    try:
        report = await sweep(
            create_sessionmaker(engine),
            blob_store(crash_settings),
            grace=timedelta(seconds=crash_settings.documents_sweep_grace_seconds),
            now=datetime.now(UTC)
            + timedelta(seconds=crash_settings.documents_sweep_grace_seconds + 1),
        )
    finally:
        await engine.dispose()
    assert report.partial_uploads == 1
    assert report.orphans == 0
    assert _partial_files(documents) == []
    stored = [path for path in documents.rglob("*") if path.is_file()]
    assert len(stored) == 1  # the retried upload's file, which its row references
