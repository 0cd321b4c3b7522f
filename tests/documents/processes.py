"""Real `omnifin serve` and `omnifin worker` processes on a committed database of the test's own,
with a borrower, an application and a bearer token to upload with."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg

from lending.config import Settings
from lending.db import create_engine, create_sessionmaker, libpq_url, transaction
from tests.identity.factories import issue_token
from tests.lending.factories import create_application, create_borrower

OMNIFIN = str(Path(sys.executable).parent / "omnifin")
DEADLINE_SECONDS = 180.0
# Settings of workers in tests that kill one: a dead worker's jobs are taken up within seconds.
FAST_RECOVERY = {
    "worker_heartbeat_seconds": "0.5",
    "worker_stalled_seconds": "3",
    "worker_recovery_interval_seconds": "0.5",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def environment(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIFIN_")}
    assert settings.database_url is not None
    env.update(
        OMNIFIN_ENVIRONMENT="test",
        OMNIFIN_DATABASE_URL=settings.database_url.get_secret_value(),
        OMNIFIN_STATE_DIR=str(settings.state_dir),
        OMNIFIN_DOCUMENTS_DIR=str(settings.documents_dir),
        OMNIFIN_LOG_LEVEL="WARNING",
        **{f"OMNIFIN_{name.upper()}": value for name, value in extra.items()},
    )
    return env


class Processes:
    """Processes a test started; all are stopped (SIGTERM, then SIGKILL) at its end."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [OMNIFIN, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.started.append(process)
        return process

    def serve(self, env: dict[str, str]) -> str:
        port = free_port()
        process = self.start("serve", "--no-worker", "--port", str(port), env=env)
        url = f"http://127.0.0.1:{port}"
        poll(lambda: process.poll() is not None or _answers(f"{url}/healthz"), "the server")
        assert process.poll() is None, "the server exited"
        return url

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def poll(check: Callable[[], Any], what: str, seconds: float = DEADLINE_SECONDS) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def one(url: str, query: str, *params: Any) -> Any:
    with psycopg.connect(libpq_url(url), autocommit=True) as connection:
        row = connection.execute(query, params).fetchone()
    return row[0] if row else None


@dataclass
class Uploader:
    token: str
    application_id: uuid.UUID

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def borrower_with_application(settings: Settings, url: str) -> Uploader:
    engine = create_engine(settings, url)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            borrower = await create_borrower(session, settings)
            application = await create_application(session, borrower)
            token = await issue_token(session, borrower, settings=settings)
    finally:
        await engine.dispose()
    return Uploader(token=token, application_id=application.id)


def processes() -> Iterator[Processes]:
    running = Processes()
    try:
        yield running
    finally:
        running.stop_all()
