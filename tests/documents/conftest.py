"""Fixtures of the documents tests: settings whose document folder is the test's own, and an S3
server (moto's, in a thread, over real HTTP) with a bucket per test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import boto3  # type: ignore[import-untyped]
import httpx
import pytest
from moto.server import ThreadedMotoServer
from pydantic import SecretStr

from lending.config import Settings
from lending.db import SessionMaker
from lending.kv import MemoryStore
from tests.identity.factories import api_client


@pytest.fixture
def doc_settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(update={"documents_dir": tmp_path / "documents"})


@pytest.fixture
async def doc_client(
    doc_settings: Settings, sessionmaker: SessionMaker, memory_store: MemoryStore
) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(doc_settings, sessionmaker, memory_store) as http:
        yield http


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """moto's S3 server in a thread, spoken to over real HTTP like any S3-compatible store."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def s3_bucket_settings(settings: Settings, s3_server: str) -> Settings:
    """`settings` storing documents in a new bucket of the S3 server."""
    bucket = f"omnifin-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3",
        endpoint_url=s3_server,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=bucket)
    return settings.model_copy(
        update={
            "documents_storage": "s3",
            "documents_s3_bucket": bucket,
            "documents_s3_endpoint_url": s3_server,
            "documents_s3_access_key_id": SecretStr("testing"),
            "documents_s3_secret_access_key": SecretStr("testing"),
        }
    )
