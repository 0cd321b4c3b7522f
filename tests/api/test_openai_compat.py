"""The OpenAI-compatible endpoint, driven by the official `openai` package against a real server
process over HTTP (guided mode: no model configured)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

OMNIFIN = str(Path(sys.executable).parent / "omnifin")
PASSWORD = "correct-horse-battery-staple-42"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIFIN_")}
    env.update(
        OMNIFIN_DATABASE_URL=database_url,
        OMNIFIN_STATE_DIR=str(tmp_path_factory.mktemp("state")),
        OMNIFIN_ENVIRONMENT="test",
    )
    port = _free_port()
    process = subprocess.Popen(
        [OMNIFIN, "serve", "--port", str(port), "--no-worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def token(server: str, database_url: str) -> str:
    email = f"openai-{uuid.uuid4().hex[:8]}@example.com"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIFIN_")}
    env["OMNIFIN_DATABASE_URL"] = database_url
    created = subprocess.run(
        [
            OMNIFIN,
            "users",
            "create",
            "--email",
            email,
            "--password",
            PASSWORD,
            "--role",
            "borrower",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    issued = httpx.post(
        f"{server}/api/v1/auth/token", json={"email": email, "password": PASSWORD}, timeout=10
    )
    assert issued.status_code == 200, issued.text
    access: str = issued.json()["access_token"]
    return access


def test_models_list_the_two_assistants(server: str, token: str) -> None:
    client = openai.OpenAI(base_url=f"{server}/v1", api_key=token)
    assert {model.id for model in client.models.list()} == {"omnifin-borrower", "omnifin-broker"}


def test_a_conversation_without_and_with_streaming(server: str, token: str) -> None:
    client = openai.OpenAI(base_url=f"{server}/v1", api_key=token)
    conversation = uuid.uuid4().hex
    first = client.chat.completions.create(
        model="omnifin-borrower",
        messages=[{"role": "user", "content": "hello"}],
        extra_body={"conversation_id": conversation},
    )
    assert first.object == "chat.completion"
    assert "What kind of loan" in (first.choices[0].message.content or "")

    stream = client.chat.completions.create(
        model="omnifin-borrower",
        messages=[
            {"role": "user", "content": "hello"},
            {"role": "assistant", "content": first.choices[0].message.content},
            {"role": "user", "content": "a personal loan of $8,000 over 24 months"},
        ],
        extra_body={"conversation_id": conversation},
        stream=True,
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert "I've started your application OMF-" in text


def test_a_wrong_token_is_refused(server: str) -> None:
    client = openai.OpenAI(base_url=f"{server}/v1", api_key="omf_not-a-real-token", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        client.models.list()


def test_an_unknown_model_is_a_clear_error(server: str, token: str) -> None:
    client = openai.OpenAI(base_url=f"{server}/v1", api_key=token, max_retries=0)
    with pytest.raises(openai.UnprocessableEntityError) as raised:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    body = raised.value.response.json()
    assert body["error"] == "InvalidInput"
    assert "omnifin-borrower" in body["detail"]
