"""`omnifin serve` runs on uvloop and httptools: both are installed and uvicorn resolves them."""

from __future__ import annotations

from typing import Any

import uvicorn

from cli.main import SERVE_HTTP, SERVE_LOOP


async def _app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover - never served
    raise AssertionError("not served")


def test_serve_resolves_to_uvloop_and_httptools() -> None:
    config = uvicorn.Config(_app, loop=SERVE_LOOP, http=SERVE_HTTP, log_config=None)
    config.load()
    factory = config.get_loop_factory()
    assert factory is not None
    loop = factory()
    try:
        assert type(loop).__module__.startswith("uvloop")
    finally:
        loop.close()
    assert config.http_protocol_class.__module__ == "uvicorn.protocols.http.httptools_impl"
