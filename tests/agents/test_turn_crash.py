"""The crash-resume guarantee under `exit` durability (one checkpoint write per turn), with a
real process killed mid-turn: the tool has acted, the turn has not ended. The next start finishes
that turn; its model step runs again and calls the tool under a new call id, and the tool does
not act twice (calls are idempotent by turn, tool and arguments, not by the model's call id)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from lending.config import Settings
from lending.db import create_engine, create_sessionmaker, transaction
from lending.models.applications import Application
from lending.models.audit import AuditEvent
from lending.models.chat import ChatRun
from lending.models.identity import Role
from lending.models.tools import ToolCallRecord
from tests.agents.crash_server import ASK, HERE, STARTED
from tests.agents.sse import parse_sse, reply_text
from tests.conftest import REPO_ROOT, TEST_STATE_DIR
from tests.identity.factories import bearer, create_user, issue_token
from tests.lending.factories import create_catalog

DATABASE = "omnifin_turn_crash"
SSN = "123-45-6789"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _start(url: str, *, hold: bool) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIFIN_")}
    env.update(
        OMNIFIN_DATABASE_URL=url,
        OMNIFIN_ENVIRONMENT="test",
        OMNIFIN_STATE_DIR=str(TEST_STATE_DIR),
        OMNIFIN_AGENT_DURABILITY="exit",
        OMNIFIN_RATE_LIMITS='{"default": {}}',
        CRASH_HOLD="1" if hold else "0",
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.agents.crash_server", str(port)],
        env=env,
        cwd=REPO_ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server exited early"
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return server, base
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise AssertionError("the server did not come up")


async def _seed(url: str, settings: Settings) -> tuple[str, str]:
    engine = create_engine(settings, url)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            await create_catalog(session)
            borrower = await create_user(session, role=Role.BORROWER, full_name="Sam Lee")
            token = await issue_token(session, borrower, settings=settings)
            return str(borrower.id), token
    finally:
        await engine.dispose()


async def _counts(url: str, settings: Settings, borrower_id: str) -> tuple[int, int, int]:
    """Applications of the borrower, stored start_application calls, their audit events."""
    engine = create_engine(settings, url)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            applications = await session.scalar(
                select(func.count())
                .select_from(Application)
                .where(Application.borrower_user_id == borrower_id)
            )
            calls = await session.scalar(
                select(func.count())
                .select_from(ToolCallRecord)
                .where(ToolCallRecord.tool_name == "start_application")
            )
            audited = await session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "tool.start_application")
            )
            return int(applications or 0), int(calls or 0), int(audited or 0)
    finally:
        await engine.dispose()


async def _kept_inputs(url: str, settings: Settings, thread_id: str) -> list[Any]:
    """The graph inputs the thread's runs keep (a running run's message, until it ends)."""
    engine = create_engine(settings, url)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            rows = await session.scalars(
                select(ChatRun.resume_input).where(ChatRun.thread_id == uuid.UUID(thread_id))
            )
            return [row for row in rows if row is not None]
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    "message",
    [ASK, f"{ASK}, and my SSN is {SSN}"],
    ids=["plain", "with-personal-data"],
)
async def test_a_killed_turn_resumes_without_running_its_tool_twice(
    committed_url: str, settings: Settings, message: str
) -> None:
    url = committed_url
    borrower_id, token = await _seed(url, settings)

    server, base = _start(url, hold=True)
    try:
        with httpx.Client(base_url=base, timeout=30) as http:
            created = http.post("/api/v1/chat/threads", json={}, headers=bearer(token))
            assert created.status_code == 201, created.text
            thread_id = created.json()["id"]
            first_call = None
            with http.stream(
                "POST",
                f"/api/v1/chat/threads/{thread_id}/runs",
                json={"message": message},
                headers=bearer(token),
            ) as response:
                assert response.status_code == 200
                for line in response.iter_lines():
                    if line == "event: tool.finished":
                        # The tool has acted and committed; the model is writing its answer.
                        server.send_signal(signal.SIGKILL)
                        break
                    if line.startswith("data:") and first_call is None:
                        first_call = json.loads(line.removeprefix("data:")).get("call_id")
        server.wait(timeout=30)
        assert server.returncode == -signal.SIGKILL
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=30)
    assert first_call is not None
    assert await _counts(url, settings, borrower_id) == (1, 1, 1)
    # The cut-off run keeps the message as the graph received it (no checkpoint holds it yet:
    # "exit" writes one when the turn ends), with personal data tokenised, the value sealed.
    [kept] = await _kept_inputs(url, settings, thread_id)
    assert [item["text"] for item in kept] == [message.replace(SSN, "[SSN-1]")]
    assert SSN not in json.dumps(kept)
    assert SSN.replace("-", "") not in json.dumps(kept)
    assert list(kept[0]["vault"]) == (["[SSN-1]"] if SSN in message else [])

    server, base = _start(url, hold=False)
    try:
        with httpx.Client(base_url=base, timeout=30) as http:
            response = http.post(
                f"/api/v1/chat/threads/{thread_id}/runs",
                json={"message": "are you there?"},
                headers=bearer(token),
            )
            assert response.status_code == 200, response.text
            events = parse_sse(response.text)
    finally:
        server.terminate()
        server.wait(timeout=30)

    # The cut-off turn went on: its model step ran again and called the tool under a new id,
    # which returned the first call's stored result.
    finished = [data for kind, data in events if kind == "tool.finished"]
    assert [(data["tool"], data["ok"]) for data in finished] == [("start_application", True)]
    assert finished[0]["call_id"] != first_call
    text = reply_text(events)
    assert STARTED in text
    assert HERE in text
    assert text.index(STARTED) < text.index(HERE)
    # The tool acted once: one application, one stored call, one audit event.
    assert await _counts(url, settings, borrower_id) == (1, 1, 1)
    assert await _kept_inputs(url, settings, thread_id) == []  # cleared when the runs ended
