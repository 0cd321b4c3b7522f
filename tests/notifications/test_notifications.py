"""In-app notifications: written when an application's status changes and when a document is
rejected (not to whoever caused it), listed with the unread count, marked read by their person
only."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from lending.applications.service import application_service
from lending.config import Settings
from lending.documents.service import document_service
from lending.models.applications import Application, ApplicationStatus
from lending.models.documents import Document, DocumentStatus
from lending.models.identity import Role
from tests.documents.factories import create_document
from tests.identity.factories import actor_of, bearer, create_user, issue_token
from tests.lending.factories import create_application, create_borrower


async def test_status_changes_and_rejections_reach_the_borrower_and_broker(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, tmp_path: Path
) -> None:
    broker = await create_user(session, role=Role.BROKER)
    borrower = await create_borrower(session, settings)
    started = await create_application(session, borrower)
    application = await session.get(Application, started.id)
    assert application is not None
    application.broker_user_id = broker.id
    # A move by the platform (no actor) tells the borrower and their broker.
    await application_service.move(
        session,
        application,
        ApplicationStatus.WITHDRAWN,
        actor=None,
        reason="test: the platform moved it",
    )
    doc_settings = settings.model_copy(update={"documents_dir": tmp_path / "documents"})
    document_id = await create_document(session, doc_settings, borrower, application.id)
    document = await session.get(Document, document_id)
    assert document is not None
    await document_service.move(session, document, DocumentStatus.REJECTED, reason="Unreadable")
    stranger = await create_user(session)
    tokens = {
        who.id: await issue_token(session, who, settings=settings)
        for who in (borrower, broker, stranger)
    }
    await session.commit()

    listed = await client.get("/api/v1/notifications", headers=bearer(tokens[borrower.id]))
    assert listed.status_code == 200
    body = listed.json()
    assert body["unread_count"] == 2
    kinds = [item["kind"] for item in body["items"]]
    assert kinds == ["document.rejected", "application.status_changed"]
    status_item = body["items"][1]
    assert status_item["message"] == f"Application {application.reference} is now withdrawn."
    assert status_item["data"]["from_status"] == "draft"
    assert "pay stub" in body["items"][0]["message"]
    assert "Unreadable" not in str(body)  # typed text is not copied into notifications

    broker_list = await client.get("/api/v1/notifications", headers=bearer(tokens[broker.id]))
    assert broker_list.json()["unread_count"] == 2
    stranger_list = await client.get("/api/v1/notifications", headers=bearer(tokens[stranger.id]))
    assert stranger_list.json() == {"items": [], "unread_count": 0}

    first = status_item["id"]
    not_theirs = await client.post(
        f"/api/v1/notifications/{first}/read", headers=bearer(tokens[stranger.id])
    )
    assert not_theirs.status_code == 404
    marked = await client.post(
        f"/api/v1/notifications/{first}/read", headers=bearer(tokens[borrower.id])
    )
    assert marked.json() == {"marked": 1}
    unread = await client.get(
        "/api/v1/notifications?unread_only=true", headers=bearer(tokens[borrower.id])
    )
    assert [item["kind"] for item in unread.json()["items"]] == ["document.rejected"]
    assert unread.json()["unread_count"] == 1
    rest = await client.post("/api/v1/notifications/read-all", headers=bearer(tokens[borrower.id]))
    assert rest.json() == {"marked": 1}
    missing = await client.post(
        f"/api/v1/notifications/{uuid.uuid4()}/read", headers=bearer(tokens[borrower.id])
    )
    assert missing.status_code == 404


async def test_whoever_moves_an_application_is_not_told(
    session: AsyncSession, settings: Settings, client: httpx.AsyncClient
) -> None:
    borrower = await create_borrower(session, settings)
    started = await create_application(session, borrower)
    await application_service.withdraw(
        session,
        actor_of(borrower),
        application_id=started.id,
        reason="Changed my mind.",
    )
    token = await issue_token(session, borrower, settings=settings)
    await session.commit()
    listed = await client.get("/api/v1/notifications", headers=bearer(token))
    assert listed.json()["unread_count"] == 0


async def test_the_stream_in_process_opens_with_the_count_and_the_newest_as_cursor(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    """The test settings end a stream after its first events (the ASGI client reads whole
    responses); over real HTTP, tests/notifications/test_live_bell.py."""
    borrower = await create_borrower(session, settings)
    started = await create_application(session, borrower)
    application = await session.get(Application, started.id)
    assert application is not None
    await application_service.move(
        session, application, ApplicationStatus.WITHDRAWN, actor=None, reason="test"
    )
    token = await issue_token(session, borrower, settings=settings)
    await session.commit()
    listed = (await client.get("/api/v1/notifications", headers=bearer(token))).json()

    streamed = await client.get("/api/v1/notifications/stream", headers=bearer(token))
    assert streamed.status_code == 200
    assert streamed.text == (
        "retry: 2000\n\n"
        f"event: unread\nid: {listed['items'][0]['id']}\n"
        'data: {"unread_count":1}\n\n'
    )
