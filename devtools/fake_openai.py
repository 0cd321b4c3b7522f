"""A fake OpenAI-compatible chat server on loopback, for tests of code that calls a model through
the real `openai` / `langchain_openai` client (a paid API cannot be called here).

It answers `POST /v1/chat/completions` (not streamed) with what `answer(body)` returns for the
request's JSON body, and keeps every request (body and headers) so a test can check what the
real client sent. It speaks real HTTP on a socket of its own.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

Answer = Callable[[dict[str, Any]], str]


@dataclass
class SentRequest:
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def messages(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = self.body["messages"]
        return messages


@dataclass
class FakeOpenAI:
    base_url: str
    requests: list[SentRequest] = field(default_factory=list)


def _completion(body: dict[str, Any], content: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-fake-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


@asynccontextmanager
async def fake_openai(answer: Answer) -> AsyncIterator[FakeOpenAI]:
    """Serve until the block ends; `base_url` ends in /v1 as the clients expect."""
    app = FastAPI()
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen()
    port = listening.getsockname()[1]
    fake = FakeOpenAI(base_url=f"http://127.0.0.1:{port}/v1")

    @app.post("/v1/chat/completions")
    async def completions(request: Request) -> JSONResponse:
        body = await request.json()
        fake.requests.append(SentRequest(body, dict(request.headers)))
        return JSONResponse(_completion(body, answer(body)))

    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    # The socket already listens: a client's connection waits in its backlog until the server
    # accepts it, so nothing has to wait for the server to have started.
    serving = asyncio.create_task(server.serve(sockets=[listening]))
    try:
        yield fake
    finally:
        server.should_exit = True
        await serving
        listening.close()
