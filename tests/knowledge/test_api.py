"""The REST surface: search for everyone signed in, entry management for knowledge managers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.ingest import knowledge_ingest_service
from knowledge.schemas import IngestOptions
from lending.config import Settings
from lending.db import SessionMaker
from lending.kv import MemoryStore
from lending.models.identity import Role
from tests.identity.factories import api_client, bearer, create_user, issue_token
from tests.knowledge.test_service import PULLS_EN, fees_doc


@pytest.fixture
def api_settings(knowledge_settings: Settings) -> Settings:
    return knowledge_settings.model_copy(update={"knowledge_max_upload_bytes": 4096})


@pytest.fixture
async def http(
    api_settings: Settings, sessionmaker: SessionMaker, memory_store: MemoryStore
) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(api_settings, sessionmaker, memory_store) as client:
        yield client


async def token_for(session: AsyncSession, settings: Settings, role: Role) -> dict[str, str]:
    user = await create_user(session, role=role)
    return bearer(await issue_token(session, user, settings=settings))


async def seed(session: AsyncSession, settings: Settings) -> None:
    for source, key in ((fees_doc("$29"), None), (PULLS_EN, "en/pulls")):
        await knowledge_ingest_service.ingest(
            session, None, source=source, options=IngestOptions(key=key), settings=settings
        )
    await session.commit()


async def test_a_borrower_searches_and_gets_citations(
    http: httpx.AsyncClient, session: AsyncSession, api_settings: Settings
) -> None:
    await seed(session, api_settings)
    headers = await token_for(session, api_settings, Role.BORROWER)
    await session.commit()

    response = await http.get(
        "/api/v1/knowledge/search", params={"q": "late fee", "k": 2}, headers=headers
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["passages"][0]["citation"] == "Test Bank fees › Late payment (v1)"
    assert len(body["passages"]) == 2


async def test_search_needs_a_token_and_a_bounded_query(
    http: httpx.AsyncClient, session: AsyncSession, api_settings: Settings
) -> None:
    anonymous = await http.get("/api/v1/knowledge/search", params={"q": "fee"})
    assert anonymous.status_code == 401

    headers = await token_for(session, api_settings, Role.BROKER)
    await session.commit()
    long = await http.get("/api/v1/knowledge/search", params={"q": "x" * 10_000}, headers=headers)
    assert long.status_code == 422
    assert long.json()["error"] == "InvalidInput"
    assert "at most 1,000" in long.json()["detail"]


async def test_only_knowledge_managers_manage_entries(
    http: httpx.AsyncClient, session: AsyncSession, api_settings: Settings
) -> None:
    borrower = await token_for(session, api_settings, Role.BORROWER)
    await session.commit()

    listing = await http.get("/api/v1/knowledge/entries", headers=borrower)
    upload = await http.post(
        "/api/v1/knowledge/entries",
        files={"file": ("fees.md", b"# Fees\n\nA fee.", "text/markdown")},
        headers=borrower,
    )

    assert listing.status_code == 403
    assert upload.status_code == 403


async def test_a_prompt_engineer_uploads_and_a_job_is_queued(
    http: httpx.AsyncClient, session: AsyncSession, api_settings: Settings
) -> None:
    headers = await token_for(session, api_settings, Role.PROMPT_ENGINEER)
    await session.commit()

    response = await http.post(
        "/api/v1/knowledge/entries",
        files={"file": ("eligibility.md", b"# Eligibility\n\nYou must be 18.", "text/markdown")},
        data={"category": "eligibility", "language": "en", "tags": "age, basics"},
        headers=headers,
    )

    assert response.status_code == 202, response.text
    queued = response.json()
    assert (queued["outcome"], queued["ingest_status"], queued["key"]) == (
        "queued",
        "pending",
        "eligibility",
    )
    entry = await http.get(f"/api/v1/knowledge/entries/{queued['entry_id']}", headers=headers)
    assert entry.json()["tags"] == ["age", "basics"]
    assert entry.json()["versions"][0]["ingest_status"] == "pending"


@pytest.mark.parametrize(
    ("name", "data", "status", "error"),
    [
        ("sheet.xlsx", b"PK\x03\x04", 415, "UnsupportedMediaType"),
        ("big.md", b"# a\n\n" + b"x" * 5000, 413, "PayloadTooLarge"),
        ("empty.md", b"", 422, "InvalidInput"),
    ],
)
async def test_bad_uploads_are_refused_with_the_right_status(
    http: httpx.AsyncClient,
    session: AsyncSession,
    api_settings: Settings,
    name: str,
    data: bytes,
    status: int,
    error: str,
) -> None:
    headers = await token_for(session, api_settings, Role.PROMPT_ENGINEER)
    await session.commit()

    response = await http.post(
        "/api/v1/knowledge/entries",
        files={"file": (name, data, "application/octet-stream")},
        headers=headers,
    )

    assert response.status_code == status, response.text
    assert response.json()["error"] == error


async def test_rollback_through_the_api(
    http: httpx.AsyncClient, session: AsyncSession, api_settings: Settings
) -> None:
    await seed(session, api_settings)
    second = await knowledge_ingest_service.ingest(
        session, None, source=fees_doc("$40"), options=IngestOptions(), settings=api_settings
    )
    headers = await token_for(session, api_settings, Role.PROMPT_ENGINEER)
    await session.commit()

    response = await http.post(
        f"/api/v1/knowledge/entries/{second.entry_id}/versions/1/publish", headers=headers
    )
    search = await http.get(
        "/api/v1/knowledge/search", params={"q": "late fee", "k": 1}, headers=headers
    )

    assert response.status_code == 200, response.text
    assert response.json()["published_version"] == 1
    assert "$29" in search.json()["passages"][0]["text"]
    missing = await http.post(
        f"/api/v1/knowledge/entries/{second.entry_id}/versions/9/publish", headers=headers
    )
    assert missing.status_code == 404
