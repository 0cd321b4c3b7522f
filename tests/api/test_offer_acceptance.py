"""Accepting an offer from a web page goes through the tool registry's approval, as in the chat:
asking rehearses accept_offer and returns its approval summary; only the person's "approve" accepts
(audited as tool.accept_offer on the web channel); "reject", a stale or unknown approval, and an
offer that cannot be accepted change nothing."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.models.audit import AuditEvent
from lending.models.identity import Role
from lending.models.offers import Offer, OfferStatus
from tests.api.lending_world import borrower_of, firm_offer, prequalified_application
from tests.identity.factories import bearer, create_organization, create_user, issue_token


async def _headers(session: AsyncSession, settings: Settings, user: object) -> dict[str, str]:
    return bearer(await issue_token(session, user, settings=settings))  # type: ignore[arg-type]


async def _offer_status(session: AsyncSession, offer_id: object) -> OfferStatus:
    offer = await session.scalar(select(Offer).where(Offer.id == offer_id))
    assert offer is not None
    await session.refresh(offer)
    return offer.status


async def test_ask_then_approve_accepts_through_the_tool(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    firm = await create_organization(session)
    borrower = await borrower_of(session, settings, None, firm)
    offer_id = await firm_offer(session, borrower)
    headers = await _headers(session, settings, borrower)

    asked = await client.post(f"/api/v1/offers/{offer_id}/acceptance", headers=headers)
    assert asked.status_code == 201, asked.text
    pending = asked.json()
    assert pending["tool"] == "accept_offer"
    # The person is shown the question and the facts (lender, amounts), never internal ids.
    assert str(offer_id) not in str(pending["arguments"])
    assert pending["arguments"]["lender"] in pending["summary"]
    assert "accept" in pending["summary"]
    # Asking changed nothing: the rehearsal was rolled back.
    assert await _offer_status(session, offer_id) is OfferStatus.ACTIVE

    answer_path = f"/api/v1/offers/{offer_id}/acceptance/{pending['approval_id']}"
    approved = await client.post(answer_path, json={"approved": True}, headers=headers)
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["approved"] is True
    assert body["accepted"]["offer"]["status"] == "accepted"
    assert body["accepted"]["application"]["status"] == "offer_accepted"

    # A second click on the same approval is the same result, not a second acceptance.
    again = await client.post(answer_path, json={"approved": True}, headers=headers)
    assert again.status_code == 200, again.text
    assert again.json()["accepted"]["offer"]["id"] == str(offer_id)

    events = (
        await session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "tool.accept_offer", AuditEvent.subject_id == str(offer_id)
            )
        )
    ).all()
    assert len(events) == 1
    assert events[0].details["channel"] == "web"


async def test_reject_changes_nothing_and_ends_the_approval(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    firm = await create_organization(session)
    borrower = await borrower_of(session, settings, None, firm)
    offer_id = await firm_offer(session, borrower)
    headers = await _headers(session, settings, borrower)
    pending = (await client.post(f"/api/v1/offers/{offer_id}/acceptance", headers=headers)).json()
    answer_path = f"/api/v1/offers/{offer_id}/acceptance/{pending['approval_id']}"

    rejected = await client.post(answer_path, json={"approved": False}, headers=headers)
    assert rejected.status_code == 200, rejected.text
    assert rejected.json() == {"approved": False, "accepted": None}
    assert await _offer_status(session, offer_id) is OfferStatus.ACTIVE
    # The approval is answered: approving it now is refused.
    late = await client.post(answer_path, json={"approved": True}, headers=headers)
    assert late.status_code == 409
    assert await _offer_status(session, offer_id) is OfferStatus.ACTIVE


async def test_what_the_tool_refuses_is_refused_before_anyone_is_asked(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    firm = await create_organization(session)
    borrower = await borrower_of(session, settings, None, firm)
    headers = await _headers(session, settings, borrower)
    application, _ = await prequalified_application(session, borrower)
    offers = (
        await client.get(f"/api/v1/applications/{application.id}/offers", headers=headers)
    ).json()
    prequalified = offers["offers"][0]
    assert prequalified["kind"] == "prequalified"
    asked = await client.post(f"/api/v1/offers/{prequalified['id']}/acceptance", headers=headers)
    assert asked.status_code == 409, asked.text
    assert asked.json()["error"] == "Conflict"


async def test_approvals_belong_to_who_asked(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    firm = await create_organization(session)
    borrower = await borrower_of(session, settings, None, firm)
    offer_id = await firm_offer(session, borrower)
    pending = (
        await client.post(
            f"/api/v1/offers/{offer_id}/acceptance",
            headers=await _headers(session, settings, borrower),
        )
    ).json()
    other = await borrower_of(session, settings, None, firm)
    answer_path = f"/api/v1/offers/{offer_id}/acceptance/{pending['approval_id']}"
    stolen = await client.post(
        answer_path, json={"approved": True}, headers=await _headers(session, settings, other)
    )
    assert stolen.status_code == 404
    broker = await create_user(session, organization=firm, role=Role.BROKER)
    refused = await client.post(
        answer_path, json={"approved": True}, headers=await _headers(session, settings, broker)
    )
    assert refused.status_code == 403
    wrong_offer = await client.post(
        f"/api/v1/offers/{str(offer_id)[:-4]}0000/acceptance/{pending['approval_id']}",
        json={"approved": True},
        headers=await _headers(session, settings, borrower),
    )
    assert wrong_offer.status_code == 404
    assert await _offer_status(session, offer_id) is OfferStatus.ACTIVE
