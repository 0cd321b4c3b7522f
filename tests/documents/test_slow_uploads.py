"""Slow uploads hold no database connection while their bodies stream: with a pool of two
connections, six uploads paused mid-body leave the API answering other requests, and each
upload still completes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from devtools.databases import recreate_database
from evals.synthetic_documents import generate
from lending import migrations
from lending.config import Settings
from lending.documents.types import DocumentType
from tests.documents.processes import (
    Processes,
    borrower_with_application,
    environment,
    one,
    poll,
    processes,
)

UPLOADS = 6
BOUNDARY = "omnifin-slow-upload"


@pytest.fixture(scope="module")
def url(server_url: str) -> str:
    url = recreate_database(server_url, "omnifin_slow_uploads")
    migrations.upgrade(url)
    return url


@pytest.fixture
def running() -> Iterator[Processes]:
    yield from processes()


def _parts(application_id: str, content: bytes) -> tuple[bytes, bytes]:
    """A multipart body cut in two: the fields and the file's first bytes, then the rest."""
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="application_id"\r\n\r\n'
        f'{application_id}\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="slow.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
    ).encode()
    cut = len(content) // 2
    return head + content[:cut], content[cut:] + f"\r\n--{BOUNDARY}--\r\n".encode()


async def test_slow_uploads_do_not_take_the_connection_pool(
    url: str, tmp_path: Path, running: Processes
) -> None:
    settings = Settings(
        environment="test",
        state_dir=tmp_path / "state",
        database_url=url,  # type: ignore[arg-type]
        documents_dir=tmp_path / "documents",
    )
    uploader = await borrower_with_application(settings, url)
    api = running.serve(
        environment(
            settings,
            database_pool_size="2",
            database_max_overflow="0",
            database_pool_timeout_seconds="3",
        )
    )
    release = asyncio.Event()
    contents = [generate(DocumentType.PAY_STUB, seed=40 + i).data for i in range(UPLOADS)]

    async def body(content: bytes) -> AsyncIterator[bytes]:
        first, rest = _parts(str(uploader.application_id), content)
        yield first
        await release.wait()
        yield rest

    async with httpx.AsyncClient(base_url=api, headers=uploader.headers, timeout=60) as http:
        uploads = [
            asyncio.create_task(
                http.post(
                    "/api/v1/documents",
                    content=body(content),
                    headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
                )
            )
            for content in contents
        ]
        documents = settings.documents_dir
        assert documents is not None

        def streaming() -> bool:
            # Every upload is past its checks and writing its (partial) file.
            return len(list(documents.glob("*/.*.part"))) == UPLOADS

        await asyncio.to_thread(poll, streaming, "every upload to be streaming")
        read = await http.get(f"/api/v1/applications/{uploader.application_id}")
        idle_in_transaction = one(
            url,
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction' "
            "AND datname = current_database()",
        )
        release.set()
        answers = await asyncio.gather(*uploads)

    assert read.status_code == 200, read.text
    assert idle_in_transaction == 0
    assert [answer.status_code for answer in answers] == [201] * UPLOADS
    stored = one(
        url, "SELECT count(*) FROM document WHERE application_id = %s", uploader.application_id
    )
    assert stored == UPLOADS
