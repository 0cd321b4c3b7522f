"""Documents: the server's peak memory while a 20 MB file is uploaded through the real API, and
text-PDF extraction throughput.

Run from the repository root: `.venv/bin/python -m benchmarks.bench_documents`. It uses a
database of its own (`omnifin_bench_documents`, recreated each run) on the embedded server of
var/test (or OMNIFIN_BENCH_DATABASE_URL's server) and a state folder under var/bench. Results go
to benchmarks/results/documents.json and to stdout.

Upload memory: `omnifin serve --no-worker` runs as a process of its own; after a warm-up upload
its resident set is the baseline, the kernel's peak-RSS mark is reset (/proc/PID/clear_refs),
a 20,000,000-byte PDF is POSTed over HTTP (multipart, streamed by the client), and the peak
(VmHWM) minus the baseline is the figure; the target is under 64 MB. The file is checked to
download back identical.

Extraction throughput: `analyse` (deterministic extractors, no model) on synthetic multi-page
text-PDF bank statements, in this process; pages per second of wall time, best of 3 runs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import os
import platform
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from lending import migrations
from lending.applications.schemas import ApplicationCreate
from lending.applications.service import application_service
from lending.config import Settings
from lending.db import create_engine, create_sessionmaker, transaction
from lending.identity.actor import Actor
from lending.identity.sessions import token_service
from lending.identity.users import user_service
from lending.models.applications import ProductType
from lending.models.identity import Role

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "documents.json"
STATE_DIR = ROOT / "var" / "bench" / "documents"
UPLOAD_BYTES = 20_000_000
TARGET_MB = 64
SECRET_KEY = "bench-documents-secret-key-0001"
ENCRYPTION_KEY = "bench-documents-encryption-key-0001"


def _server_url() -> str:
    given = os.environ.get("OMNIFIN_BENCH_DATABASE_URL")
    if given:
        return given
    from lending.embedded_postgres import embedded_database_url

    return embedded_database_url(ROOT / "var" / "test")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/{pid}/status")


def _settings(database_url: str) -> Settings:
    return Settings(
        environment="development",
        state_dir=STATE_DIR,
        database_url=SecretStr(database_url),
        secret_key=SecretStr(SECRET_KEY),
        encryption_key=SecretStr(ENCRYPTION_KEY),
    )


async def _borrower(database_url: str) -> tuple[str, str]:
    """A borrower's bearer token and a draft application of theirs."""
    settings = _settings(database_url)
    engine = create_engine(settings, database_url)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            user = await user_service.create(
                session,
                settings=settings,
                email=f"bench-{uuid.uuid4().hex[:8]}@example.com",
                password="bench-orbit-velvet-42",
                full_name="Upload Tester",
                role=Role.BORROWER,
                organization_slug=None,
            )
            issued = await token_service.issue(session, user, settings=settings)
            actor = Actor.for_user(user.id, user.role, user.organization_id)
            application = await application_service.start(
                session,
                actor,
                data=ApplicationCreate(product_type=ProductType.PERSONAL, purpose="medical"),
            )
        return issued.token, str(application.id)
    finally:
        await engine.dispose()


async def _file_body(
    size: int, boundary: str, application_id: str, seed: bytes
) -> AsyncIterator[bytes]:
    """A multipart body streamed in 64 KiB pieces: a PDF header and pseudo-random bytes."""
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="application_id"\r\n\r\n'
        f'{application_id}\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        'filename="big.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
    ).encode()
    block = hashlib.sha256(seed).digest() * 2048  # 64 KiB
    sent = 0
    first = b"%PDF-1.7\n"
    yield first
    sent += len(first)
    while sent < size:
        piece = block[: min(len(block), size - sent)]
        yield piece
        sent += len(piece)
    yield f"\r\n--{boundary}--\r\n".encode()


def _expected_sha256(size: int, seed: bytes) -> str:
    digest = hashlib.sha256(b"%PDF-1.7\n")
    block = hashlib.sha256(seed).digest() * 2048
    sent = len(b"%PDF-1.7\n")
    while sent < size:
        piece = block[: min(len(block), size - sent)]
        digest.update(piece)
        sent += len(piece)
    return digest.hexdigest()


async def _upload(
    http: httpx.AsyncClient, token: str, application_id: str, size: int, seed: bytes
) -> dict[str, Any]:
    boundary = uuid.uuid4().hex
    response = await http.post(
        "/api/v1/documents",
        content=_file_body(size, boundary, application_id, seed),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    if response.status_code != 201:
        raise RuntimeError(f"upload failed: {response.status_code} {response.text[:300]}")
    body: dict[str, Any] = response.json()
    return body


async def measure_upload(database_url: str) -> dict[str, Any]:
    token, application_id = await _borrower(database_url)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIFIN_")}
    env.update(
        OMNIFIN_DATABASE_URL=database_url,
        OMNIFIN_ENVIRONMENT="development",
        OMNIFIN_STATE_DIR=str(STATE_DIR),
        OMNIFIN_SECRET_KEY=SECRET_KEY,
        OMNIFIN_ENCRYPTION_KEY=ENCRYPTION_KEY,
        OMNIFIN_LOG_LEVEL="WARNING",
        OMNIFIN_RATE_LIMITS='{"default": {}}',
    )
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "omnifin"), "serve", "--no-worker", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=120) as http:
            for _ in range(300):
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
            else:
                raise RuntimeError("the server did not start")
            await asyncio.sleep(1)
            pid = server.pid
            # Cold: the first upload the process ever serves (imports and pools on the way).
            cold = await _measured_upload(http, pid, token, application_id, b"cold")
            await asyncio.sleep(1)
            warm = await _measured_upload(http, pid, token, application_id, b"warm")
            download = hashlib.sha256()
            before_download = _status_kib(pid, "VmRSS")
            Path(f"/proc/{pid}/clear_refs").write_text("5")
            async with http.stream(
                "GET",
                f"/api/v1/documents/{warm['document']['id']}/content",
                headers={"Authorization": f"Bearer {token}"},
            ) as response:
                async for chunk in response.aiter_bytes():
                    download.update(chunk)
            download_over_kib = _status_kib(pid, "VmHWM") - before_download
    finally:
        server.terminate()
        server.wait(timeout=30)
    if download.hexdigest() != _expected_sha256(UPLOAD_BYTES, b"warm"):
        raise RuntimeError("the uploaded file does not download identical")
    worst = max(cold["peak_above_baseline_mb"], warm["peak_above_baseline_mb"])
    for run in (cold, warm):
        run.pop("document")
    return {
        "file_bytes": UPLOAD_BYTES,
        "cold_first_upload": cold,
        "warm_upload": warm,
        "download_peak_above_rss_mb": round(download_over_kib / 1024, 1),
        "target_mb": TARGET_MB,
        "within_target": worst < TARGET_MB,
        "round_trip_identical": True,
    }


async def _measured_upload(
    http: httpx.AsyncClient, pid: int, token: str, application_id: str, seed: bytes
) -> dict[str, Any]:
    """One 20 MB upload: resident set before it, and the peak while it ran (kernel's mark)."""
    baseline_kib = _status_kib(pid, "VmRSS")
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset the peak-RSS mark to now
    started = time.perf_counter()
    document = await _upload(http, token, application_id, UPLOAD_BYTES, seed)
    elapsed = time.perf_counter() - started
    peak_kib = _status_kib(pid, "VmHWM")
    if document["sha256"] != _expected_sha256(UPLOAD_BYTES, seed):
        raise RuntimeError("the stored file's SHA-256 is not the sent file's")
    return {
        "document": document,
        "server_rss_before_mb": round(baseline_kib / 1024, 1),
        "server_peak_rss_mb": round(peak_kib / 1024, 1),
        "peak_above_baseline_mb": round((peak_kib - baseline_kib) / 1024, 1),
        "seconds": round(elapsed, 2),
        "mb_per_second": round(UPLOAD_BYTES / 1_000_000 / elapsed, 1),
    }


async def measure_extraction() -> dict[str, Any]:
    from evals.synthetic_documents import generate
    from lending.documents.extraction import analyse
    from lending.documents.types import DocumentType

    documents = [generate(DocumentType.BANK_STATEMENT, seed=seed, pages=10) for seed in range(3)]
    documents += [generate(DocumentType.PAY_STUB, seed=seed) for seed in range(5)]
    pages = sum(d.pages for d in documents)
    await analyse(  # warm-up: imports, regex compilation
        documents[0].data,
        documents[0].media_type,
        declared_type=None,
        applicant=documents[0].applicant,
        today=documents[0].today,
    )
    runs: list[float] = []
    for _ in range(3):
        started = time.perf_counter()
        for document in documents:
            analysis = await analyse(
                document.data,
                document.media_type,
                declared_type=None,
                applicant=document.applicant,
                today=document.today,
            )
            if analysis.status != "extracted":
                raise RuntimeError(f"extraction failed: {analysis.error}")
        runs.append(time.perf_counter() - started)
    best = min(runs)
    return {
        "documents": len(documents),
        "pages": pages,
        "best_seconds": round(best, 3),
        "pages_per_second": round(pages / best, 1),
        "runs_seconds": [round(r, 3) for r in runs],
        "extractor": "deterministic (pdfminer text, no model)",
    }


async def main() -> None:
    from devtools.databases import recreate_database

    database_url = recreate_database(_server_url(), "omnifin_bench_documents")
    await asyncio.to_thread(migrations.upgrade, database_url)
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    upload = await measure_upload(database_url)
    extraction = await measure_extraction()
    result = {
        "benchmark": "documents: 20 MB upload memory through the API; text-PDF extraction",
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "upload": upload,
        "extraction": extraction,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    if not upload["within_target"]:
        sys.exit(1)


if __name__ == "__main__":
    asyncio.run(main())
