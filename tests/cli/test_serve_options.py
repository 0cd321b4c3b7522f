"""`omnifin serve` runs on uvloop and httptools: both are installed and uvicorn resolves them."""

from __future__ import annotations

from typing import Any

import uvicorn

from cli.main import SERVE_HTTP, SERVE_LOOP, proxy_options
from lending.config import Settings


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


async def _forwarded_client(options: dict[str, Any], peer: str) -> str:
    """The client address the app sees for a request from `peer` that claims 198.51.100.9."""
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["client"][0])

    config = uvicorn.Config(app, log_config=None, **options)
    config.load()
    scope = {
        "type": "http",
        "client": (peer, 5000),
        "headers": [(b"x-forwarded-for", b"198.51.100.9")],
        "scheme": "http",
    }
    await config.loaded_app(scope, None, None)
    return seen[0]


async def test_forwarded_addresses_count_only_when_trusted_and_from_the_listed_proxies() -> None:
    untrusted = Settings(trust_proxy_headers=False, forwarded_allow_ips="*")
    trusted = Settings(trust_proxy_headers=True, forwarded_allow_ips="10.0.0.5")

    assert await _forwarded_client(proxy_options(untrusted), "10.0.0.5") == "10.0.0.5"
    assert await _forwarded_client(proxy_options(trusted), "10.0.0.5") == "198.51.100.9"
    assert await _forwarded_client(proxy_options(trusted), "10.0.0.6") == "10.0.0.6"
