"""The REST routes of the lending core: the same capability as a tool gives the same result;
bad input, stale versions and illegal moves are clear errors that write nothing."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.applications.service import FirmOfferTerms, LenderDecision, application_service
from lending.config import Settings
from lending.db import SessionMaker
from lending.models.applications import Application
from lending.models.identity import Role, User
from tests.identity.factories import bearer, create_organization, create_user, issue_token
from tests.lending.factories import (
    create_application,
    create_borrower,
    create_catalog,
    give_consent,
)
from tests.tools.support import context_for
from tools.registry import registry

PERSONAL = {
    "product_type": "personal",
    "purpose": "home_improvement",
    "amount": "15000.00",
    "term_months": 36,
}


def as_json(model: BaseModel) -> Any:
    return json.loads(model.model_dump_json())


async def _auth(session: AsyncSession, settings: Settings, user: User) -> dict[str, str]:
    return bearer(await issue_token(session, user, settings=settings))


async def _applications_of(session: AsyncSession, user: User) -> int:
    statement = select(func.count()).where(Application.borrower_user_id == user.id)
    return int(await session.scalar(statement) or 0)


async def test_each_capability_gives_the_same_result_as_a_tool_and_over_rest(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: SessionMaker,
    settings: Settings,
) -> None:
    await create_catalog(session)
    borrower = await create_borrower(session, settings)
    await give_consent(session, borrower)
    headers = await _auth(session, settings, borrower)
    context = context_for(borrower, sessionmaker, settings)

    # Starting: the same application either way, but for its identity and times.
    by_tool = as_json(await registry.execute("start_application", PERSONAL, context))
    response = await client.post("/api/v1/applications", json=PERSONAL, headers=headers)
    assert response.status_code == 201
    by_rest = response.json()
    different = {"id", "reference", "created_at", "updated_at", "status_changed_at"}
    assert {k: v for k, v in by_tool.items() if k not in different} == {
        k: v for k, v in by_rest.items() if k not in different
    }

    application_id = by_rest["id"]
    reads: list[tuple[str, dict[str, Any], str, dict[str, Any] | None]] = [
        ("get_application", {"application_id": application_id}, "GET", None),
        ("get_offers", {"application_id": application_id}, "GET", None),
        ("find_lenders", {"application_id": application_id}, "GET", None),
        ("get_borrower_profile", {}, "GET", None),
        ("list_applications", {}, "GET", None),
        (
            "compute_payment",
            {"amount": "20000", "annual_rate": "6.5", "term_months": 48},
            "POST",
            {"amount": "20000", "annual_rate": "6.5", "term_months": 48},
        ),
    ]
    paths = {
        "get_application": f"/api/v1/applications/{application_id}",
        "get_offers": f"/api/v1/applications/{application_id}/offers",
        "find_lenders": f"/api/v1/applications/{application_id}/lender-matches",
        "get_borrower_profile": "/api/v1/profile",
        "list_applications": "/api/v1/applications",
        "compute_payment": "/api/v1/offers/payment",
    }
    for name, arguments, method, body in reads:
        tool_result = as_json(await registry.execute(name, arguments, context))
        rest = await client.request(method, paths[name], json=body, headers=headers)
        assert rest.status_code == 200, rest.text
        assert rest.json() == tool_result, name


async def test_an_amount_with_three_decimals_is_422_and_writes_nothing(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    borrower = await create_borrower(session, settings)
    headers = await _auth(session, settings, borrower)
    response = await client.post(
        "/api/v1/applications", json={**PERSONAL, "amount": "15000.125"}, headers=headers
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "amount"]
    unknown = await client.post(
        "/api/v1/applications", json={"product_type": "yacht"}, headers=headers
    )
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["loc"] == ["body", "product_type"]
    assert await _applications_of(session, borrower) == 0


async def test_a_stale_version_is_409_and_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    borrower = await create_borrower(session, settings)
    headers = await _auth(session, settings, borrower)
    created = (await client.post("/api/v1/applications", json=PERSONAL, headers=headers)).json()
    path = f"/api/v1/applications/{created['id']}"
    first = await client.patch(path, json={"version": 1, "amount": "16000"}, headers=headers)
    assert first.status_code == 200
    assert first.json()["version"] == 2
    stale = await client.patch(path, json={"version": 1, "amount": "99000"}, headers=headers)
    assert stale.status_code == 409
    assert stale.json()["error"] == "StaleVersion"
    assert stale.json()["detail"]["current_version"] == 2
    assert (await client.get(path, headers=headers)).json()["amount"] == "16000.00"


async def test_an_illegal_move_is_409_with_the_allowed_next_states(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    borrower = await create_borrower(session, settings)
    headers = await _auth(session, settings, borrower)
    created = (await client.post("/api/v1/applications", json=PERSONAL, headers=headers)).json()
    withdraw = f"/api/v1/applications/{created['id']}/withdraw"
    assert (await client.post(withdraw, json={"reason": "No."}, headers=headers)).status_code == 200
    again = await client.post(withdraw, json={"reason": "Still no."}, headers=headers)
    assert again.status_code == 409
    assert again.json()["error"] == "IllegalTransition"
    assert again.json()["detail"]["allowed_next_states"] == []

    admin = await create_user(session, role=Role.PLATFORM_ADMIN)
    draft = await create_application(session, borrower)
    skip = await client.post(
        f"/api/v1/applications/{draft.id}/transitions",
        json={"to_status": "approved", "reason": "Skip ahead"},
        headers=await _auth(session, settings, admin),
    )
    assert skip.status_code == 409
    assert skip.json()["detail"]["allowed_next_states"] == ["submitted", "withdrawn"]


async def test_borrowers_and_brokers_see_only_their_own(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    firm = await create_organization(session)
    broker = await create_user(session, organization=firm, role=Role.BROKER)
    client_borrower = await create_borrower(
        session, settings, organization=firm, referred_by=broker
    )
    other = await create_borrower(session, settings, organization=firm)
    own = await create_application(session, client_borrower)
    not_own = await create_application(session, other)

    peek = await client.get(
        f"/api/v1/applications/{not_own.id}",
        headers=await _auth(session, settings, client_borrower),
    )
    assert peek.status_code == 404
    listed = await client.get(
        "/api/v1/applications", headers=await _auth(session, settings, broker)
    )
    assert [item["id"] for item in listed.json()["items"]] == [str(own.id)]
    # The pipeline shows whose application it is.
    assert listed.json()["items"][0]["borrower_name"] == client_borrower.full_name
    # And who opened it: the borrower themselves here, the broker for one they start.
    assert listed.json()["items"][0]["started_by"] == "borrower"
    started = await create_application(session, client_borrower, by=broker)
    listed = await client.get(
        "/api/v1/applications", headers=await _auth(session, settings, client_borrower)
    )
    by_id = {item["id"]: item["started_by"] for item in listed.json()["items"]}
    assert by_id == {str(own.id): "borrower", str(started.id): "broker"}


async def test_accepting_a_firm_offer_over_rest(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await create_catalog(session)
    borrower = await create_borrower(session, settings)
    await give_consent(session, borrower)
    headers = await _auth(session, settings, borrower)
    created = (await client.post("/api/v1/applications", json=PERSONAL, headers=headers)).json()
    base = f"/api/v1/applications/{created['id']}"
    offers = (await client.get(f"{base}/offers", headers=headers)).json()
    lender_id = offers["offers"][0]["lender_id"]
    submitted = await client.post(
        f"{base}/submit", json={"lender_ids": [lender_id]}, headers=headers
    )
    assert submitted.status_code == 200
    assert submitted.json()["status"] == "submitted"
    await application_service.record_lender_decision(
        session,
        application_id=created["id"],
        lender_id=lender_id,
        decision=LenderDecision.APPROVED,
        offers=[
            FirmOfferTerms(amount=Decimal("15000.00"), term_months=36, note_rate=Decimal("7.9"))
        ],
    )
    firm = next(
        o
        for o in (await client.get(f"{base}/offers", headers=headers)).json()["offers"]
        if o["kind"] == "firm"
    )
    accepted = await client.post(f"/api/v1/offers/{firm['id']}/accept", headers=headers)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["application"]["status"] == "offer_accepted"
    assert accepted.json()["offer"]["status"] == "accepted"
    events = (await client.get(f"{base}/events", headers=headers)).json()
    assert [e["to_status"] for e in events] == [
        "draft",
        "submitted",
        "under_review",
        "approved",
        "offer_accepted",
    ]
