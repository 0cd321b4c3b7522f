"""How the API serves the built web app (api/web.py): the app's page for browser addresses, hashed
assets cached for good, the error envelope for everything that is the server's, and a page that
says how to build the app when it is not built."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.errors import install_error_handlers
from api.web import WEB_DIST_DIR, mount_web_app
from lending.config import Settings

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
INDEX = '<!doctype html><html><head><script type="module" src="/assets/app-1a2b.js"></script></head></html>'


def _dist(tmp_path: Path) -> Path:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(INDEX)
    (dist / "assets" / "app-1a2b.js").write_text("console.log('app')")
    (dist / "favicon.svg").write_text("<svg/>")
    return dist


def _app(dist: Path) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    mount_web_app(app, dist)
    # Included after the web app, like a router someone adds later to create_app.
    later = APIRouter()

    @later.get("/api/v1/later")
    async def later_route() -> dict[str, bool]:
        return {"ok": True}

    app.include_router(later)
    return app


# Synchronous clients (TestClient runs the app on a loop of its own): these tests share a package
# with the browser tests, whose Playwright loop is running in this thread.


@pytest.fixture
def built(tmp_path: Path) -> TestClient:
    return TestClient(_app(_dist(tmp_path)))


@pytest.fixture
def not_built(tmp_path: Path) -> TestClient:
    return TestClient(_app(tmp_path / "missing"))


@pytest.mark.parametrize("path", ["/", "/login", "/firm", "/register?invitation=abc"])
def test_browser_addresses_get_the_app(built: TestClient, path: str) -> None:
    answer = built.get(path, headers=HTML)
    assert answer.status_code == 200
    assert answer.text == INDEX
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["cache-control"] == "no-cache"


def test_hashed_assets_are_cached_for_good(built: TestClient) -> None:
    answer = built.get("/assets/app-1a2b.js")
    assert answer.status_code == 200
    assert answer.text == "console.log('app')"
    assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert (built.get("/assets/gone-0000.js")).status_code == 404


def test_top_level_files_of_the_build(built: TestClient) -> None:
    answer = built.get("/favicon.svg")
    assert answer.status_code == 200
    assert answer.text == "<svg/>"
    assert (built.get("/../pyproject.toml")).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/api/v1/nothing", HTML),  # the server's paths never get the app's page
        ("GET", "/v1/nothing", HTML),
        ("GET", "/somewhere", {"Accept": "application/json"}),  # not a browser navigation
        ("POST", "/login", HTML),
    ],
)
def test_everything_else_is_the_404_envelope(
    built: TestClient, method: str, path: str, headers: dict[str, str]
) -> None:
    answer = built.request(method, path, headers=headers)
    assert answer.status_code == 404
    assert answer.json()["error"] == "NotFound"


def test_routes_included_after_the_web_app_still_answer(built: TestClient) -> None:
    answer = built.get("/api/v1/later", headers=HTML)
    assert answer.json() == {"ok": True}


def test_unbuilt_app_says_how_to_build_it(not_built: TestClient) -> None:
    answer = not_built.get("/", headers=HTML)
    assert answer.status_code == 200
    assert "The web app is not built" in answer.text
    assert "npm ci" in answer.text
    assert "make frontend" in answer.text
    assert "<script" not in answer.text
    missing = not_built.get("/api/v1/nothing", headers=HTML)
    assert missing.json()["error"] == "NotFound"


def test_the_real_app_is_served_under_its_csp(tmp_path: Path) -> None:
    """create_app serves frontend/dist (or the not-built page) with the strict CSP."""
    http = TestClient(create_app(Settings(environment="test", state_dir=tmp_path)))
    answer = http.get("/", headers=HTML)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self';" in csp
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]


def test_the_build_needs_no_inline_script(web_dist: Path) -> None:
    """The CSP forbids inline scripts: every script of the built page is a file of the build."""
    index = (web_dist / "index.html").read_text()
    assert WEB_DIST_DIR == web_dist
    scripts = index.count("<script")
    assert scripts >= 1
    assert index.count('<script type="module" crossorigin src="/assets/') == scripts
