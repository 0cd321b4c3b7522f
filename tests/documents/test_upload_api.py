"""Uploading over REST: types decided by content, limits while streaming, encryption at rest,
duplicates linked, downloads only for those who may see the application."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.db import SessionMaker
from lending.kv import MemoryStore
from lending.models.documents import Document, DocumentEvent
from lending.models.identity import Role, User
from tests.documents.files import (
    EXE,
    HEIC_HEAD,
    MARKER,
    docx_bytes,
    image_bytes,
    pdf_bytes,
    plain_zip_bytes,
)
from tests.identity.factories import api_client, bearer, create_user, issue_token
from tests.lending.factories import create_application, create_borrower


async def _headers(session: AsyncSession, settings: Settings, user: User) -> dict[str, str]:
    return bearer(await issue_token(session, user, settings=settings))


async def _upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    application_id: uuid.UUID | None,
    content: bytes,
    filename: str = "paystub.pdf",
    document_type: str | None = None,
) -> httpx.Response:
    data: dict[str, str] = {}
    if application_id is not None:
        data["application_id"] = str(application_id)
    if document_type is not None:
        data["document_type"] = document_type
    return await client.post(
        "/api/v1/documents",
        data=data,
        files={"file": (filename, content, "application/pdf")},
        headers=headers,
    )


def _stored_files(settings: Settings) -> list[Path]:
    root = settings.documents_dir
    assert root is not None
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def _count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Document)) or 0)


async def _jobs(session: AsyncSession, document_id: str) -> int:
    statement = text(
        "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'documents.extract' "
        "AND args->>'document_id' = :id"
    )
    return int(await session.scalar(statement, {"id": document_id}) or 0)


async def test_a_pdf_is_stored_encrypted_and_downloads_as_uploaded(
    doc_client: httpx.AsyncClient, session: AsyncSession, doc_settings: Settings
) -> None:
    borrower = await create_borrower(session, doc_settings)
    application = await create_application(session, borrower)
    headers = await _headers(session, doc_settings, borrower)
    content = pdf_bytes("ACME CORP  Pay stub", "Gross pay 4,000.00")

    response = await _upload(doc_client, headers, application.id, content, "../../etc/stub.exe")

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["media_type"] == "application/pdf"
    assert body["sha256"] == hashlib.sha256(content).hexdigest()
    assert body["size_bytes"] == len(content)
    assert body["status"] == "uploaded"
    assert body["filename"] == "stub.exe"
    assert body["application_id"] == str(application.id)
    assert await _jobs(session, body["id"]) == 1
    [stored] = _stored_files(doc_settings)
    on_disk = stored.read_bytes()
    assert MARKER.encode() not in on_disk
    assert b"%PDF" not in on_disk
    assert content not in on_disk

    download = await doc_client.get(f"/api/v1/documents/{body['id']}/content", headers=headers)

    assert download.status_code == 200
    assert download.content == content
    assert download.headers["content-type"] == "application/pdf"
    assert "attachment" in download.headers["content-disposition"]


@pytest.mark.parametrize(
    ("content", "media_type"),
    [
        (image_bytes("PNG"), "image/png"),
        (image_bytes("JPEG"), "image/jpeg"),
        (image_bytes("TIFF"), "image/tiff"),
        (HEIC_HEAD, "image/heic"),
        (docx_bytes(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ],
    ids=["png", "jpeg", "tiff", "heic", "docx"],
)
async def test_each_accepted_kind_is_recognised_by_its_content(
    doc_client: httpx.AsyncClient,
    session: AsyncSession,
    doc_settings: Settings,
    content: bytes,
    media_type: str,
) -> None:
    borrower = await create_borrower(session, doc_settings)
    application = await create_application(session, borrower)
    headers = await _headers(session, doc_settings, borrower)

    response = await _upload(doc_client, headers, application.id, content, "scan.pdf")

    assert response.status_code == 201, response.text
    assert response.json()["media_type"] == media_type


@pytest.mark.parametrize(
    "content",
    [EXE, plain_zip_bytes(), b"#!/bin/sh\nrm -rf /\n", b"just some text in a .pdf file"],
    ids=["executable", "zip-without-word", "script", "text"],
)
async def test_anything_else_is_refused_and_nothing_is_kept(
    doc_client: httpx.AsyncClient,
    session: AsyncSession,
    doc_settings: Settings,
    content: bytes,
) -> None:
    borrower = await create_borrower(session, doc_settings)
    application = await create_application(session, borrower)
    headers = await _headers(session, doc_settings, borrower)

    response = await _upload(doc_client, headers, application.id, content, "invoice.pdf")

    assert response.status_code == 415, response.text
    assert response.json()["error"] == "NotAcceptedType"
    assert await _count(session) == 0
    assert _stored_files(doc_settings) == []


async def test_a_file_over_the_limit_is_refused_while_streaming(
    session: AsyncSession,
    sessionmaker: SessionMaker,
    memory_store: MemoryStore,
    doc_settings: Settings,
) -> None:
    settings = doc_settings.model_copy(update={"max_upload_bytes": 64 * 1024})
    borrower = await create_borrower(session, settings)
    application = await create_application(session, borrower)
    headers = await _headers(session, settings, borrower)
    big = pdf_bytes("x") + b"%" * (80 * 1024)

    async def body_without_length() -> AsyncIterator[bytes]:
        boundary = b"xyzzy"
        yield (
            b"--" + boundary + b'\r\nContent-Disposition: form-data; name="application_id"\r\n\r\n'
        )
        yield str(application.id).encode() + b"\r\n"
        yield b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; '
        yield b'filename="big.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
        for start in range(0, len(big), 8192):
            yield big[start : start + 8192]
        yield b"\r\n--" + boundary + b"--\r\n"

    async with api_client(settings, sessionmaker, memory_store) as client:
        response = await client.post(
            "/api/v1/documents",
            content=body_without_length(),
            headers={**headers, "Content-Type": "multipart/form-data; boundary=xyzzy"},
        )

    assert response.status_code == 413, response.text
    assert await _count(session) == 0
    assert _stored_files(settings) == []


async def test_the_same_file_twice_on_an_application_is_linked_not_stored_again(
    doc_client: httpx.AsyncClient, session: AsyncSession, doc_settings: Settings
) -> None:
    borrower = await create_borrower(session, doc_settings)
    application = await create_application(session, borrower)
    other_application = await create_application(session, borrower)
    headers = await _headers(session, doc_settings, borrower)
    content = pdf_bytes("Bank statement")

    first = await _upload(doc_client, headers, application.id, content, "a.pdf")
    second = await _upload(doc_client, headers, application.id, content, "copy of a.pdf")
    elsewhere = await _upload(doc_client, headers, other_application.id, content, "a.pdf")

    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["duplicate"] is True
    assert elsewhere.status_code == 201
    assert elsewhere.json()["id"] != first.json()["id"]
    assert await _count(session) == 2
    assert len(_stored_files(doc_settings)) == 2
    kinds = (
        await session.scalars(
            select(DocumentEvent.kind).where(DocumentEvent.document_id == first.json()["id"])
        )
    ).all()
    assert "duplicate_upload" in kinds


async def test_downloads_and_reads_only_for_those_who_may_see_the_application(
    doc_client: httpx.AsyncClient, session: AsyncSession, doc_settings: Settings
) -> None:
    broker = await create_user(session, role=Role.BROKER)
    borrower = await create_borrower(session, doc_settings, referred_by=broker)
    stranger = await create_borrower(session, doc_settings)
    admin = await create_user(session, role=Role.PLATFORM_ADMIN)
    application = await create_application(session, borrower)
    content = pdf_bytes("W-2 Wage and Tax Statement")
    uploaded = await _upload(
        doc_client, await _headers(session, doc_settings, borrower), application.id, content
    )
    path = f"/api/v1/documents/{uploaded.json()['id']}"

    for user, expected in ((stranger, 404), (broker, 200), (admin, 200)):
        headers = await _headers(session, doc_settings, user)
        read = await doc_client.get(path, headers=headers)
        download = await doc_client.get(f"{path}/content", headers=headers)
        assert (read.status_code, download.status_code) == (expected, expected), user.role
        if expected == 200:
            assert download.content == content
    anonymous = await doc_client.get(f"{path}/content")
    assert anonymous.status_code == 401


async def test_uploading_to_an_application_out_of_reach_is_refused_before_the_bytes(
    doc_client: httpx.AsyncClient, session: AsyncSession, doc_settings: Settings
) -> None:
    owner = await create_borrower(session, doc_settings)
    intruder = await create_borrower(session, doc_settings)
    application = await create_application(session, owner)

    response = await _upload(
        doc_client, await _headers(session, doc_settings, intruder), application.id, pdf_bytes()
    )

    assert response.status_code == 404
    assert await _count(session) == 0
    assert _stored_files(doc_settings) == []


async def test_bad_form_fields_are_field_errors_and_nothing_is_kept(
    doc_client: httpx.AsyncClient, session: AsyncSession, doc_settings: Settings
) -> None:
    borrower = await create_borrower(session, doc_settings)
    application = await create_application(session, borrower)
    headers = await _headers(session, doc_settings, borrower)

    bad_type = await _upload(
        doc_client, headers, application.id, pdf_bytes(), document_type="selfie"
    )
    no_file = await doc_client.post(
        "/api/v1/documents", data={"application_id": str(application.id)}, headers=headers
    )
    empty = await _upload(doc_client, headers, application.id, b"")

    assert bad_type.status_code == 422
    assert bad_type.json()["detail"][0]["loc"] == ["body", "document_type"]
    assert no_file.status_code in (415, 422)
    assert empty.status_code == 422
    assert await _count(session) == 0
    assert _stored_files(doc_settings) == []
