"""`omnifin` as a newcomer runs it: embedded PostgreSQL in a state folder, migrations, a real
server process answering over HTTP, a clean stop that also stops the database, data kept."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

OMNIFIN = str(Path(sys.executable).parent / "omnifin")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _env(state_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIFIN_")}
    env["OMNIFIN_STATE_DIR"] = str(state_dir)
    return env


def _omnifin(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [OMNIFIN, *args], env=env, capture_output=True, text=True, timeout=240, check=False
    )


def _wait_until_up(url: str, process: subprocess.Popen[str], seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"server exited early:\n{process.stderr.read() if process.stderr else ''}"
            )
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("server did not come up")


def test_embedded_database_serve_and_clean_stop(tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = _env(state)

    refused = _omnifin("serve", "--port", str(_free_port()), env=env)
    assert refused.returncode != 0
    assert "run `omnifin db upgrade` first" in refused.stderr

    upgraded = _omnifin("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert (state / "pgdata" / "PG_VERSION").exists()
    assert not (state / "pgdata" / "postmaster.pid").exists()  # stopped when the command ended

    port = _free_port()
    server = subprocess.Popen(
        [OMNIFIN, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_until_up(f"http://127.0.0.1:{port}/healthz", server)
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        assert ready.status_code == 200
        assert ready.json()["checks"]["database"] == "ok"
        assert (state / "pgdata" / "postmaster.pid").exists()
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=30)
    assert server.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert not (state / "pgdata" / "postmaster.pid").exists()

    # The data folder is reused: the next command finds the migrations already applied.
    current = _omnifin("db", "current", env=env)
    lines = current.stdout.splitlines()
    assert lines[0].removeprefix("current: ") == lines[1].removeprefix("head: ")
