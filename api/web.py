"""Serving the built web app (frontend/dist): hashed assets, top-level files, and index.html for
every other page address the browser opens (the app routes on the client)."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import Receive, Scope, Send

WEB_DIST_DIR = Path(__file__).resolve().parent.parent / "frontend" / "dist"

# Paths that belong to the server: an unknown one is a 404 envelope, never the app's page.
_SERVER_PREFIXES = ("/api/", "/v1/", "/admin/", "/docs", "/redoc", "/openapi.json", "/metrics")
_SERVER_PATHS = frozenset({"/api", "/v1", "/admin", "/healthz", "/readyz"})

# Types Python's mimetypes may not know.
_MEDIA_TYPES = {".webmanifest": "application/manifest+json", ".js": "text/javascript"}

_NOT_BUILT_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Omnifin: the web app is not built</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;
color:#1e1b2e;line-height:1.5}h1{color:#5b21b6}code{background:#f5f3ff;padding:.1rem .3rem}</style>
</head>
<body>
<h1>The web app is not built</h1>
<p>The API is running (see <a href="/docs">/docs</a>), but <code>frontend/dist</code> does not
exist yet. Build the web app with Node 20 or newer:</p>
<pre><code>make frontend</code></pre>
<p>or <code>cd frontend &amp;&amp; npm ci &amp;&amp; npm run build</code>, then reload this page.
<code>make run</code> builds it for you when npm is installed.</p>
</body>
</html>
"""


class _HashedAssets(StaticFiles):
    """Vite names every asset after its content hash: a browser may keep it for good."""

    def file_response(
        self,
        full_path: PathLike,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def _is_server_path(path: str) -> bool:
    return path in _SERVER_PATHS or path.startswith(_SERVER_PREFIXES)


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def mount_web_app(app: FastAPI, dist_dir: Path = WEB_DIST_DIR) -> None:
    """Serve the web app built into `dist_dir` from `/`.

    The app's page answers only requests that no route matched (it is the router's default
    handler, not a catch-all route), so routers included after this call still work. Whether the
    app is built is looked up per request: a build made while the server runs is picked up.
    """
    app.mount(
        "/assets",
        _HashedAssets(directory=dist_dir / "assets", check_dir=False),
        name="web-assets",
    )
    not_found = app.router.default

    async def web_app(scope: Scope, receive: Receive, send: Send) -> None:
        response = _web_response(Request(scope), dist_dir) if scope["type"] == "http" else None
        if response is None:
            await not_found(scope, receive, send)
        else:
            await response(scope, receive, send)

    app.router.default = web_app


def _web_response(request: Request, dist_dir: Path) -> Response | None:
    """The answer for a path no route matched, or None for the usual 404."""
    path = request.url.path
    if request.method not in {"GET", "HEAD"} or _is_server_path(path):
        return None
    index = dist_dir / "index.html"
    name = path.strip("/")
    if name and "/" not in name and index.is_file():
        # Top-level files of the build (favicon.svg, robots.txt); only names directly in dist/.
        candidate = dist_dir / name
        if candidate.is_file() and candidate.resolve().parent == dist_dir.resolve():
            # Not content-hashed (the service worker, the manifest, icons): revalidate each time,
            # so a new build's service worker is found at once.
            return FileResponse(
                candidate,
                media_type=_MEDIA_TYPES.get(candidate.suffix),
                headers={"Cache-Control": "no-cache"},
            )
    if not _wants_html(request):
        return None
    if not index.is_file():
        return HTMLResponse(_NOT_BUILT_PAGE, headers={"Cache-Control": "no-store"})
    # The page names the current hashed assets: always revalidate it.
    return FileResponse(index, media_type="text/html", headers={"Cache-Control": "no-cache"})
