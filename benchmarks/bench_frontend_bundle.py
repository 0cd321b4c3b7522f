"""Measure what a browser downloads on the web app's first load: the JS and CSS that
frontend/dist/index.html names, raw and gzipped (target: under 300 kB gzipped).

Run from the repository root: `.venv/bin/python -m benchmarks.bench_frontend_bundle [--build]`
(builds when frontend/dist is missing, or always with --build). Results go to
benchmarks/results/frontend_bundle.json and to stdout.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
FRONTEND = REPO_ROOT / "frontend"
DIST = FRONTEND / "dist"
RESULTS_PATH = Path(__file__).resolve().parent / "results" / "frontend_bundle.json"
TARGET_GZIP_BYTES = 300_000
# Starlette's GZipMiddleware compresses at level 9; a CDN or proxy would do about as well.
GZIP_LEVEL = 9


class _FirstLoadAssets(HTMLParser):
    """The same-origin scripts, stylesheets and module preloads a page names."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        url = None
        if tag == "script":
            url = found.get("src")
        elif tag == "link" and found.get("rel") in {"stylesheet", "modulepreload"}:
            url = found.get("href")
        if url and url.startswith("/") and not url.startswith("//"):
            self.paths.append(url)


def build() -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm (Node 20+) is needed to build the web app")
    if not (FRONTEND / "node_modules").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=FRONTEND, check=True)
    subprocess.run([npm, "run", "build"], cwd=FRONTEND, check=True)


def _sizes(path: Path) -> dict[str, int]:
    raw = path.read_bytes()
    return {"bytes": len(raw), "gzip_bytes": len(gzip.compress(raw, compresslevel=GZIP_LEVEL))}


def measure(dist: Path = DIST) -> dict[str, object]:
    """First-load and whole-build sizes of the built app in `dist`."""
    parser = _FirstLoadAssets()
    parser.feed((dist / "index.html").read_text())
    first_load = {url: _sizes(dist / url.lstrip("/")) for url in parser.paths}
    first_load["/index.html"] = _sizes(dist / "index.html")
    gzip_total = sum(entry["gzip_bytes"] for entry in first_load.values())
    everything = [p for p in (dist / "assets").rglob("*") if p.suffix in {".js", ".css"}]
    return {
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "gzip_level": GZIP_LEVEL,
        "first_load": first_load,
        "first_load_bytes": sum(entry["bytes"] for entry in first_load.values()),
        "first_load_gzip_bytes": gzip_total,
        "target_gzip_bytes": TARGET_GZIP_BYTES,
        "within_target": gzip_total < TARGET_GZIP_BYTES,
        "all_js_css_gzip_bytes": sum(_sizes(p)["gzip_bytes"] for p in everything),
    }


def main() -> None:
    """Build when asked or needed, measure, write the JSON and print it."""
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--build", action="store_true", help="build even when dist/ exists")
    if arguments.parse_args().build or not (DIST / "index.html").is_file():
        build()
    results = measure()
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(results, indent=2)
    RESULTS_PATH.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
