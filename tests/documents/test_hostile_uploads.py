"""Hostile files over the real upload route (`omnifin serve`), read by a real `omnifin worker`:
each ends `failed` (then in review) with a reason a reviewer can read; the worker keeps running,
the API keeps answering, and an ordinary document uploaded after them is read as usual."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path

import httpx
import pytest

from devtools.databases import recreate_database
from evals.synthetic_documents import generate
from lending import migrations
from lending.config import Settings
from lending.documents.types import DocumentType
from tests.documents import bombs
from tests.documents.processes import (
    Processes,
    borrower_with_application,
    environment,
    poll,
    processes,
)

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
SETTLED = {"failed", "needs_review", "extracted", "needs_ocr"}


@pytest.fixture(scope="module")
def url(server_url: str) -> str:
    url = recreate_database(server_url, "omnifin_hostile_uploads")
    migrations.upgrade(url)
    return url


@pytest.fixture
def running() -> Iterator[Processes]:
    yield from processes()


async def test_bombs_end_failed_with_reasons_and_the_worker_and_api_carry_on(
    url: str, tmp_path: Path, running: Processes
) -> None:
    settings = Settings(
        environment="test",
        state_dir=tmp_path / "state",
        database_url=url,  # type: ignore[arg-type]
        documents_dir=tmp_path / "documents",
    )
    uploader = await borrower_with_application(settings, url)
    # The test polls its documents often; the borrower's rate limit is not what it tests.
    env = environment(settings, rate_limits='{"default": {"*": 100000}}')
    api = running.serve(env)
    worker = running.start("worker", env=env)
    files = {
        "zip bomb.docx": (bombs.zip_bomb_docx(), DOCX, "inflates to more than 64 MiB"),
        "flate bomb.pdf": (bombs.flate_bomb_pdf(), "application/pdf", "inflates to more than"),
        "10000 pages.pdf": (bombs.many_pages_pdf(), "application/pdf", "more than 200 pages"),
        "huge.png": (bombs.huge_header_png(), "image/png", "50000 x 50000 pixels"),
    }
    stub = generate(DocumentType.PAY_STUB, seed=8)

    with httpx.Client(base_url=api, headers=uploader.headers, timeout=60) as http:

        def upload(name: str, content: bytes, media_type: str) -> str:
            response = http.post(
                "/api/v1/documents",
                data={"application_id": str(uploader.application_id), "document_type": "pay_stub"},
                files={"file": (name, content, media_type)},
            )
            assert response.status_code == 201, response.text
            document_id: str = response.json()["id"]
            return document_id

        uploaded = {name: upload(name, data, kind) for name, (data, kind, _) in files.items()}
        ordinary = upload("stub.pdf", stub.data, stub.media_type)

        def settled(document_id: str) -> dict[str, object] | None:
            assert http.get("/healthz").status_code == 200  # the API answers throughout
            body: dict[str, object] = http.get(f"/api/v1/documents/{document_id}").json()
            return body if body["status"] in SETTLED else None

        outcomes = {name: poll(partial(settled, d), name) for name, d in uploaded.items()}
        good = poll(lambda: settled(ordinary), "the ordinary document")

    for name, (_, _, reason) in files.items():
        outcome = outcomes[name]
        assert outcome["status"] == "needs_review", name
        reasons = outcome["review_reasons"]
        assert isinstance(reasons, list)
        assert any(r.startswith("failed: ") and reason in r for r in reasons), (name, reasons)
    assert good["status"] in ("extracted", "needs_review")
    fields = good["fields"]
    assert isinstance(fields, list)
    assert {f["name"]: f["value"] for f in fields}["employer"] == stub.expected["employer"]
    assert worker.poll() is None  # the worker is still running
