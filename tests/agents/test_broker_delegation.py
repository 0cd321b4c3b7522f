"""A broker delegates to the assistant (guided mode) and reaches only their own clients' files."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.models.identity import Role
from tests.agents.sse import reply_text, send
from tests.identity.factories import bearer, create_organization, create_user, issue_token
from tests.lending.factories import create_application, create_borrower, create_catalog


async def test_a_broker_sees_their_clients_and_nobody_elses(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await create_catalog(session)
    firm, other_firm = await create_organization(session), await create_organization(session)
    broker = await create_user(session, role=Role.BROKER, organization=firm)
    other_broker = await create_user(session, role=Role.BROKER, organization=other_firm)
    mine = await create_borrower(session, settings, organization=firm, referred_by=broker)
    theirs = await create_borrower(
        session, settings, organization=other_firm, referred_by=other_broker
    )
    my_file = await create_application(session, mine)
    their_file = await create_application(session, theirs)
    token = await issue_token(session, broker, settings=settings)
    await session.commit()

    created = await client.post("/api/v1/chat/threads", json={}, headers=bearer(token))
    assert created.json()["graph"] == "broker"
    thread_id = created.json()["id"]

    listed = reply_text(await send(client, token, thread_id, "list my clients' applications"))
    assert my_file.reference in listed
    assert their_file.reference not in listed

    missing = reply_text(
        await send(client, token, thread_id, f"what is missing on {my_file.reference}")
    )
    assert my_file.reference in missing
    assert "is draft" in missing

    refused = reply_text(await send(client, token, thread_id, f"status of {their_file.reference}"))
    assert "can't find" in refused
    assert "draft" not in refused
