"""Time to first token in the web app, measured in the browser: from the person sending a message
(the composer's form submitted) to the assistant's first words in the transcript's DOM, and to the
next animation frame after that (when the browser can paint them). Also the whole turn (the
transcript no longer busy).

The real server (`omnifin serve --no-worker`, guided mode: no model is configured) runs on its own
database (`omnifin_bench_web`, on OMNIFIN_BENCH_DATABASE_URL's server, else the embedded server of
var/test) with the demo data; Debian's chromium (/usr/bin/chromium) is driven by Playwright. Each
of a few new borrowers goes through the guided intake (greeting, loan, consent, profile questions:
a mix of turns with and without tool calls), and every turn is one sample.

Run from the repository root: `.venv/bin/python -m benchmarks.bench_web_ttft [--borrowers N]`
(builds frontend/dist when missing). Results go to benchmarks/results/web_ttft.json and stdout.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, sync_playwright

from benchmarks.bench_frontend_bundle import DIST, build
from devtools.databases import recreate_database

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "web_ttft.json"
OMNIFIN = str(Path(sys.executable).parent / "omnifin")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "copper-lantern-meadow-2026"
# The guided intake's questions and the answers sent (the consent question mentions a credit
# score, so it is matched first).
ANSWERS = {
    "What kind of loan": "a personal loan of $12,000 over 36 months",
    "Do you agree": "yes",
    "full legal name": "Bea Bench",
    "date of birth": "1988-04-02",
    "home address": "12 Main St, Springfield, IL 62704",
    "phone": "(415) 555-0134",
    "Social Security": "my ssn is 123-45-6789",
    "employed": "employed full time",
    "annual income": "$95,000 a year",
    "rent or your mortgage": "1500",
    "debts such as": "300",
    "credit score": "about 760",
    "What is the loan for": "medical",
}
MAX_TURNS = 16

# Runs in the page: start observing the transcript, submit the composer (already filled), and
# resolve with the milliseconds to the first new assistant text, to the frame after it, and to
# the end of the turn.
_MEASURE_JS = """
() => new Promise((resolve, reject) => {
  const transcript = document.querySelector('ol[aria-label="Conversation"]');
  const form = document.querySelector('form.composer');
  const before = transcript.querySelectorAll('.chat__item--assistant').length;
  let first = null;
  let painted = null;
  const timer = setTimeout(() => reject(new Error('no reply within 30 s')), 30000);
  const check = () => {
    const now = performance.now();
    if (first === null) {
      const replies = transcript.querySelectorAll('.chat__item--assistant');
      const last = replies[replies.length - 1];
      if (replies.length > before && last.textContent.trim().length > 0) {
        first = now - start;
        requestAnimationFrame(() => { painted = performance.now() - start; done(); });
      }
    }
    done();
  };
  const done = () => {
    if (first === null || painted === null) return;
    if (transcript.getAttribute('aria-busy') !== 'false') return;
    observer.disconnect();
    clearTimeout(timer);
    resolve({ first_token_ms: first, first_paint_ms: painted,
              turn_ms: performance.now() - start });
  };
  const observer = new MutationObserver(check);
  observer.observe(transcript, { childList: true, subtree: true, characterData: true,
                                 attributes: true, attributeFilter: ['aria-busy'] });
  const start = performance.now();
  form.requestSubmit();
})
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _server_url() -> str:
    given = os.environ.get("OMNIFIN_BENCH_DATABASE_URL")
    if given:
        return given
    from lending.embedded_postgres import embedded_database_url

    return embedded_database_url(ROOT / "var" / "test")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return round(ordered[index], 1)


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": _percentile(values, 0.5),
        "p95": _percentile(values, 0.95),
        "min": round(min(values), 1),
        "max": round(max(values), 1),
        "mean": round(statistics.fmean(values), 1),
    }


def _last_reply(page: Page) -> str:
    replies = page.locator('ol[aria-label="Conversation"] .chat__item--assistant')
    return replies.last.inner_text() if replies.count() else ""


def _borrower_turns(page: Page, url: str, email: str) -> list[dict[str, Any]]:
    registered = httpx.post(
        f"{url}/api/v1/auth/register",
        json={"email": email, "password": PASSWORD, "full_name": "Bea Bench"},
        timeout=10,
    )
    assert registered.status_code == 201, registered.text
    page.goto(f"{url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/me")
    page.goto(f"{url}/assistant")
    composer = page.get_by_role("textbox", name="Message")
    composer.wait_for()
    samples = []
    message = "hi"
    for _ in range(MAX_TURNS):
        composer.fill(message)
        sample: dict[str, Any] = page.evaluate(_MEASURE_JS)
        sample["message"] = message if "ssn" not in message else "[ssn]"
        samples.append(sample)
        reply = _last_reply(page)
        if "Here are your offers" in reply:
            break
        matching = [text for key, text in ANSWERS.items() if key in reply]
        if not matching:
            raise SystemExit(f"unexpected question from the guided intake: {reply}")
        message = matching[0]
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--borrowers", type=int, default=4)
    args = parser.parse_args()
    if not (DIST / "index.html").is_file():
        build()
    database_url = recreate_database(_server_url(), "omnifin_bench_web")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    state = ROOT / "var" / "bench-web"
    state.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIFIN_")}
    env.update(
        OMNIFIN_DATABASE_URL=database_url,
        OMNIFIN_STATE_DIR=str(state),
        OMNIFIN_PUBLIC_URL=url,
        OMNIFIN_LOG_LEVEL="WARNING",
    )
    for command in (["db", "upgrade"], ["seed", "demo"]):
        done = subprocess.run([OMNIFIN, *command], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"omnifin {' '.join(command)} failed:\n{done.stderr}")
    log = (state / "server.log").open("w")
    server = subprocess.Popen(
        [OMNIFIN, "serve", "--port", str(port), "--no-worker"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    samples: list[dict[str, Any]] = []
    try:
        deadline = time.monotonic() + 90
        while True:
            if server.poll() is not None:
                raise SystemExit(f"the server exited: see {state / 'server.log'}")
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the server did not become ready")
            time.sleep(0.2)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            # A first borrower warms the server and the browser's caches; not counted.
            _borrower_turns(page, url, "warm-up@bench.example")
            stamp = int(time.time())
            for number in range(args.borrowers):
                samples += _borrower_turns(page, url, f"bench-{stamp}-{number}@bench.example")
            browser_version = browser.version
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()

    first = [s["first_token_ms"] for s in samples]
    painted = [s["first_paint_ms"] for s in samples]
    turns = [s["turn_ms"] for s in samples]
    result = {
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "what": "send (composer submitted) to the assistant's first text in the transcript, in "
        "chromium, against omnifin serve in guided mode on loopback",
        "browser": f"chromium {browser_version} (headless)",
        "machine": f"{platform.machine()}, {os.cpu_count()} cpus (shared)",
        "borrowers": args.borrowers,
        "turns": len(samples),
        "first_token_ms": _summary(first),
        "first_token_painted_ms": _summary(painted),
        "whole_turn_ms": _summary(turns),
        "by_message": {
            message: round(statistics.median([s["first_token_ms"] for s in group]), 1)
            for message in dict.fromkeys(s["message"] for s in samples)
            if (group := [s for s in samples if s["message"] == message])
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
