"""End-to-end fixtures: the web app built once, the real server as a subprocess on a fresh migrated
and seeded database, and Debian's chromium driven by Playwright. Every page a test visits can be
screenshotted and axe-checked; any console error fails the test."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pyotp
import pytest
from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Locator,
    Page,
    Request,
    ViewportSize,
    expect,
    sync_playwright,
)
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from devtools.databases import recreate_database

REPO_ROOT = Path(__file__).resolve().parents[2]
FRONTEND = REPO_ROOT / "frontend"
DIST = FRONTEND / "dist"
ARTIFACTS = REPO_ROOT / "test-artifacts" / "e2e"
OMNIFIN = str(Path(sys.executable).parent / "omnifin")
E2E_DATABASE = "omnifin_e2e"
CHROMIUM = "/usr/bin/chromium"
# No browser download exists here: Playwright drives the system chromium.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # A microphone without a device or a permission prompt (the voice button's test).
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]
DEMO_PASSWORD = "demo-passphrase-2026"
BELL_STREAM = "/api/v1/notifications/stream"
DESKTOP = ViewportSize(width=1280, height=900)
PHONE = ViewportSize(width=375, height=812)
# Sources whose change makes frontend/dist stale.
_WEB_SOURCES = ("src", "public", "index.html", "package-lock.json", "vite.config.ts")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _newest_source_mtime() -> float:
    newest = 0.0
    for name in _WEB_SOURCES:
        path = FRONTEND / name
        files = path.rglob("*") if path.is_dir() else [path]
        newest = max([newest, *(f.stat().st_mtime for f in files if f.is_file())])
    return newest


def _npm(*args: str) -> None:
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm (Node 20+) is needed to build the web app for the end-to-end tests")
    done = subprocess.run(
        [npm, *args], cwd=FRONTEND, capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode != 0:
        pytest.fail(f"npm {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


@pytest.fixture(scope="session")
def web_dist() -> Path:
    """frontend/dist, built when it is missing or older than its sources (`make frontend` does
    the same for `make run`)."""
    index = DIST / "index.html"
    if not index.is_file() or index.stat().st_mtime < _newest_source_mtime():
        if not (FRONTEND / "node_modules").is_dir():
            _npm("ci", "--no-audit", "--no-fund")
        _npm("run", "build")
    return DIST


_USED_STEPS: dict[str, int] = {}


def previous_step_code(secret: str) -> str:
    """A one-time code of the previous 30-second step, for the demo administrator's API sign-ins
    (the current step stays free for the administrator's own sign-in test). The server accepts
    one step either side and never the same step twice, so the code is never taken within 3 s of
    a step boundary (a slow answer would find the step moved on: a flaky 401) nor for a step
    already used in this session."""
    while True:
        now = time.time()
        left = 30 - now % 30
        step = int(now // 30) - 1
        if left >= 3 and step > _USED_STEPS.get(secret, -1):
            _USED_STEPS[secret] = step
            return pyotp.TOTP(secret).at(step * 30)
        time.sleep(left + 0.2)


def reload_until(page: Page, visible: Locator, seconds: float = 60) -> None:
    """Reload the page until the locator shows (work done by the job worker). Each load gets a
    few seconds to fetch its data (the live bell's stream keeps the network busy for good, so
    "networkidle" never comes)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            visible.wait_for(state="visible", timeout=3000)
            return
        except PlaywrightTimeoutError:
            assert time.monotonic() < deadline, f"still not shown after {seconds} s: {visible}"
        page.reload()


@dataclass(frozen=True)
class LiveServer:
    url: str
    admin_totp_secret: str
    state_dir: Path  # its development secrets (a test signs what only the server could)
    database_url: str  # the server's own database (tests/e2e/database.py)


@pytest.fixture(scope="package")
def live_server(
    server_url: str, web_dist: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """`omnifin serve` as `make run` runs it, on its own database with the demo data: its job
    worker in-process and the lender simulator beside it (submissions are delivered to it over
    signed HTTP; its decisions come back by webhook)."""
    yield from _serve(server_url, tmp_path_factory, E2E_DATABASE, "server", {})


@pytest.fixture(scope="package")
def voice_server(
    server_url: str, web_dist: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """The same with voice configured, its LiveKit server at a port where nothing listens (no
    LiveKit server exists here): tokens are issued, rooms cannot be reached."""
    nowhere = _free_port()
    voice = {
        "OMNIFIN_LIVEKIT_URL": f"ws://127.0.0.1:{nowhere}",
        "OMNIFIN_LIVEKIT_API_KEY": "e2e-key",
        "OMNIFIN_LIVEKIT_API_SECRET": "e2e-secret-that-is-long-enough-for-hs256",
        "OMNIFIN_ELEVENLABS_API_KEY": "e2e-elevenlabs",
        "OMNIFIN_VOICE_STT_BASE_URL": f"http://127.0.0.1:{nowhere}/v1",
    }
    yield from _serve(server_url, tmp_path_factory, f"{E2E_DATABASE}_voice", "voice-server", voice)


def _serve(
    server_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    database: str,
    name: str,
    extra_env: dict[str, str],
) -> Iterator[LiveServer]:
    database_url = recreate_database(server_url, database)
    state_dir = tmp_path_factory.mktemp(f"e2e-state-{name}")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    simulator_port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIFIN_")}
    env.update(
        OMNIFIN_DATABASE_URL=database_url,
        OMNIFIN_STATE_DIR=str(state_dir),
        OMNIFIN_PUBLIC_URL=url,  # invitation links point at this server
        # Brokers must use MFA here, so a newly invited broker meets the enrolment-only sign-in.
        OMNIFIN_MFA_REQUIRED_ROLES='["platform_admin", "broker"]',
        OMNIFIN_LENDER_API_BASE_URL=f"http://127.0.0.1:{simulator_port}",
        OMNIFIN_LENDER_SIMULATOR="true",  # the simulated lenders share its public secrets
    )
    env.update(extra_env)
    # The CLI migrates and seeds as `make run` does (and keeps alembic's asyncio.run() out of
    # this process, where pytest-asyncio's loop may be running).
    upgraded = subprocess.run(
        [OMNIFIN, "db", "upgrade"], env=env, capture_output=True, text=True, timeout=300
    )
    assert upgraded.returncode == 0, upgraded.stderr
    seeded = subprocess.run(
        [OMNIFIN, "seed", "demo", "--bare"], env=env, capture_output=True, text=True, timeout=120
    )
    assert seeded.returncode == 0, seeded.stderr
    secret = re.search(r"TOTP secret to an authenticator app: ([A-Z2-7]+)", seeded.stdout)
    assert secret is not None, seeded.stdout

    simulator_env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIFIN_")}
    simulator_env["OMNIFIN_LENDER_SIM_DECISION_DELAY_MS"] = "200"
    simulator_log = (ARTIFACTS / f"lender-sim-{name}.log").open("w")
    simulator = subprocess.Popen(
        [OMNIFIN, "lender-sim", "--port", str(simulator_port)],
        env=simulator_env,
        stdout=simulator_log,
        stderr=subprocess.STDOUT,
    )
    log_path = ARTIFACTS / f"{name}.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [OMNIFIN, "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_ready(f"{url}/readyz", server, log_path)
            _wait_until_ready(f"http://127.0.0.1:{simulator_port}/healthz", simulator, log_path)
            yield LiveServer(
                url=url,
                admin_totp_secret=secret.group(1),
                state_dir=state_dir,
                database_url=database_url,
            )
        finally:
            for process in (server, simulator):
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            simulator_log.close()


def _wait_until_ready(
    url: str, server: subprocess.Popen[bytes], log_path: Path, seconds: float = 90
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log = log_path.read_text()[-3000:]
            raise AssertionError(f"the server exited early:\n{log}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("the server did not become ready")


# Package-scoped: Playwright's sync API keeps an event loop running in this thread while it is
# open, which the asyncio tests of other packages must not meet.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def axe() -> Axe:
    return Axe()


@dataclass
class Web:
    """A browser tab on the live server, with the checks every page gets."""

    page: Page
    server: LiveServer
    axe: Axe
    name: str
    console_errors: list[str] = field(default_factory=list)
    allowed_errors: list[re.Pattern[str]] = field(default_factory=list)
    steps: int = 0
    in_flight: set[Request] = field(default_factory=set)

    def settle(self, quiet_seconds: float = 0.5, timeout_seconds: float = 15.0) -> None:
        """Wait until no request is in flight for `quiet_seconds`, leaving out the live bell's
        stream, which stays open as long as the page (Playwright's "networkidle" would wait
        for it forever)."""
        deadline = time.monotonic() + timeout_seconds
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            if self.in_flight:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= quiet_seconds:
                return
            self.page.wait_for_timeout(50)
        raise AssertionError(f"requests still in flight: {[r.url for r in self.in_flight]}")

    def check(self, step: str) -> None:
        """Screenshot the page as test-artifacts/e2e/<test>/<nn>-<step>.png and fail on any
        serious or critical axe violation."""
        self.page.wait_for_load_state("load")
        self.settle()
        self.steps += 1
        folder = ARTIFACTS / self.name
        folder.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=folder / f"{self.steps:02d}-{step}.png", full_page=True)
        results = self.axe.run(self.page)
        serious = [
            violation
            for violation in results.response["violations"]
            if violation["impact"] in {"serious", "critical"}
        ]
        assert not serious, f"axe on {step} ({self.page.url}):\n" + "\n".join(
            f"- {v['id']} ({v['impact']}): {v['help']}: "
            + ", ".join(str(node["target"]) for node in v["nodes"][:5])
            for v in serious
        )

    def allow_console_error(self, pattern: str) -> None:
        """An error the step provokes on purpose (a refused request shows as one in chromium)."""
        self.allowed_errors.append(re.compile(pattern))

    def unexpected_console_errors(self) -> list[str]:
        return [
            error
            for error in self.console_errors
            if not any(pattern.search(error) for pattern in self.allowed_errors)
        ]

    def sign_in(self, email: str, password: str = DEMO_PASSWORD) -> None:
        page = self.page
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password", exact=True).fill(password)
        page.get_by_role("button", name="Sign in").click()

    def sign_out(self) -> None:
        self.page.get_by_role("button", name="Sign out").click()
        expect(self.page).to_have_url(re.compile(r"/login$"))


def _open_web(
    browser: Browser, server: LiveServer, axe: Axe, name: str, viewport: ViewportSize
) -> Iterator[Web]:
    context = browser.new_context(
        base_url=server.url, viewport=viewport, locale="en-US", timezone_id="UTC"
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    web = Web(page=page, server=server, axe=axe, name=name)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            web.console_errors.append(f"console: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: web.console_errors.append(f"page error: {error}"))

    def started(request: Request) -> None:
        if not request.url.endswith(BELL_STREAM):
            web.in_flight.add(request)

    def ended(request: Request) -> None:
        web.in_flight.discard(request)

    page.on("request", started)
    page.on("requestfinished", ended)
    page.on("requestfailed", ended)
    try:
        yield web
    finally:
        context.close()
    unexpected = web.unexpected_console_errors()
    assert not unexpected, "console errors:\n" + "\n".join(unexpected)


def _test_name(request: pytest.FixtureRequest) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)


@pytest.fixture
def web(
    browser: Browser, live_server: LiveServer, axe: Axe, request: pytest.FixtureRequest
) -> Iterator[Web]:
    yield from _open_web(browser, live_server, axe, _test_name(request), DESKTOP)


@pytest.fixture
def second_web(
    browser: Browser, live_server: LiveServer, axe: Axe, request: pytest.FixtureRequest
) -> Iterator[Web]:
    """Another browser context on the same server (its own cookies): a second person at once,
    such as the checker of a maker-checker pair."""
    yield from _open_web(browser, live_server, axe, _test_name(request) + "-second", DESKTOP)


@pytest.fixture
def voice_web(
    browser: Browser, voice_server: LiveServer, axe: Axe, request: pytest.FixtureRequest
) -> Iterator[Web]:
    """A tab on the server with voice configured."""
    yield from _open_web(browser, voice_server, axe, _test_name(request), DESKTOP)


@pytest.fixture
def phone(
    browser: Browser, live_server: LiveServer, axe: Axe, request: pytest.FixtureRequest
) -> Iterator[Web]:
    """The same at 375 px wide, a small phone."""
    yield from _open_web(browser, live_server, axe, _test_name(request), PHONE)
