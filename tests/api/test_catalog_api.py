"""The catalog REST routes (issue 17) through the real app: an administrator creates, edits and
retires lenders and products as dated versions; bad input and other roles get the error
envelope and change nothing; a rotated webhook secret is shown once and is what the webhook
route then verifies with."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.app import create_app
from lending.config import Settings
from lending.db import SessionMaker
from lending.kv import MemoryStore
from lending.lenders.integration.registry import callback_url
from lending.lenders.integration.signing import SIGNATURE_HEADER, signature_header
from lending.models.audit import AuditEvent
from lending.models.identity import Role
from lending.models.lenders import LenderProductVersion, LenderVersion
from tests.identity.factories import bearer, create_user, issue_token
from tests.lending.factories import create_catalog

_PRODUCT: dict[str, Any] = {
    "code": "tidal-personal",
    "name": "Tidal Personal Loan",
    "product_type": "personal",
    "min_amount": "2000.00",
    "max_amount": "25000.00",
    "min_term_months": 12,
    "max_term_months": 60,
    "rate_table": {"excellent": "7.4900", "good": "10.9900"},
    "min_credit_band": "good",
    "max_dti": "43.0000",
    "allowed_states": ["CA", "OR"],
    "fees": [
        {
            "code": "origination",
            "name": "Origination fee",
            "kind": "percent",
            "amount": "1.00",
            "finance_charge": True,
        }
    ],
}


async def _headers(session: AsyncSession, settings: Settings, role: Role) -> dict[str, str]:
    user = await create_user(session, role=role)
    return bearer(await issue_token(session, user, settings=settings))


async def _count(session: AsyncSession, model: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_an_admin_creates_edits_and_retires_through_the_api(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await _headers(session, settings, Role.PLATFORM_ADMIN)

    created = await client.post(
        "/api/v1/catalog/lenders",
        json={"slug": "tidal-bank", "name": "Tidal Bank", "website": "https://tidal.example"},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    lender_id = created.json()["lender_id"]
    assert created.json()["version"] == 1
    # The same request again (a retry) is the same version, not a second lender.
    again = await client.post(
        "/api/v1/catalog/lenders",
        json={"slug": "tidal-bank", "name": "Tidal Bank", "website": "https://tidal.example"},
        headers=admin,
    )
    assert again.status_code == 201, again.text
    assert again.json()["id"] == created.json()["id"]

    product = await client.post(
        f"/api/v1/catalog/lenders/{lender_id}/products", json=_PRODUCT, headers=admin
    )
    assert product.status_code == 201, product.text
    product_id = product.json()["product_id"]

    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    edited = await client.post(
        f"/api/v1/catalog/products/{product_id}/versions",
        json={"max_amount": "30000.00", "effective_from": tomorrow, "note": "Higher ceiling."},
        headers=admin,
    )
    assert edited.status_code == 201, edited.text
    assert (edited.json()["version"], edited.json()["effective_from"]) == (2, tomorrow)
    assert edited.json()["min_amount"] == "2000.00"

    versions = await client.get(f"/api/v1/catalog/products/{product_id}/versions", headers=admin)
    assert [v["max_amount"] for v in versions.json()] == ["25000.00", "30000.00"]

    today_view = await client.get(f"/api/v1/catalog/lenders/{lender_id}", headers=admin)
    assert today_view.status_code == 200, today_view.text
    listed = today_view.json()["products"][0]
    assert listed["offered"] is True
    assert listed["in_effect"]["version"] == 1
    assert [v["version"] for v in listed["scheduled"]] == [2]
    tomorrow_view = await client.get(
        f"/api/v1/catalog/lenders/{lender_id}", params={"on": tomorrow}, headers=admin
    )
    assert tomorrow_view.json()["products"][0]["in_effect"]["version"] == 2

    retired = await client.post(
        f"/api/v1/catalog/lenders/{lender_id}/retirement",
        json={"note": "Merged into another bank.", "effective_from": tomorrow},
        headers=admin,
    )
    assert retired.status_code == 200, retired.text
    assert retired.json()["active"] is False
    after = await client.get(
        f"/api/v1/catalog/lenders/{lender_id}", params={"on": tomorrow}, headers=admin
    )
    assert after.json()["products"][0]["offered"] is False
    assert after.json()["in_effect"]["active"] is False

    listing = await client.get("/api/v1/catalog/lenders", headers=admin)
    assert lender_id in [lender["id"] for lender in listing.json()]
    actions = set(
        await session.scalars(
            select(AuditEvent.action).where(AuditEvent.subject_id.in_([lender_id, product_id]))
        )
    )
    assert actions == {
        "lender.created",
        "lender_product.created",
        "lender_product.version_created",
        "lender.retired",
    }
    event = await session.scalar(select(AuditEvent).where(AuditEvent.action == "lender.retired"))
    assert event is not None
    assert event.details["channel"] == "api"


@pytest.mark.parametrize(
    ("body", "error", "status"),
    [
        ({"min_amount": "90000.00"}, "InvalidInput", 422),
        ({"max_dti": "140.0000"}, "ValidationError", 422),
        ({"allowed_states": ["CA", "XX"]}, "InvalidInput", 422),
        ({"rate_table": {"good": "abc"}}, "ValidationError", 422),
        ({"unknown_field": 1}, "ValidationError", 422),
        ({"max_dti": "41.0000", "effective_from": "2020-01-01"}, "EffectiveDateError", 409),
    ],
)
async def test_bad_input_gets_the_envelope_and_changes_nothing(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    body: dict[str, Any],
    error: str,
    status: int,
) -> None:
    lenders = await create_catalog(session)
    admin = await _headers(session, settings, Role.PLATFORM_ADMIN)
    product_id = await session.scalar(
        select(LenderProductVersion.product_id).where(
            LenderProductVersion.lender_id == lenders["harbor-bank"].id
        )
    )
    before = (await _count(session, LenderProductVersion), await _count(session, AuditEvent))

    answer = await client.post(
        f"/api/v1/catalog/products/{product_id}/versions", json=body, headers=admin
    )

    assert answer.status_code == status, answer.text
    assert answer.json()["error"] == error
    assert answer.json()["request_id"]
    assert (await _count(session, LenderProductVersion), await _count(session, AuditEvent)) == (
        before
    )


@pytest.mark.parametrize("role", [Role.BROKER, Role.BROKER_MANAGER, Role.PROMPT_ENGINEER])
async def test_other_roles_are_refused_and_change_nothing(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, role: Role
) -> None:
    lenders = await create_catalog(session)
    headers = await _headers(session, settings, role)
    lender_id = lenders["harbor-bank"].id
    before = await _count(session, LenderVersion)

    for method, path, body in (
        ("GET", "/api/v1/catalog/lenders", None),
        ("POST", "/api/v1/catalog/lenders", {"slug": "sly-bank", "name": "Sly"}),
        ("POST", f"/api/v1/catalog/lenders/{lender_id}/versions", {"name": "Renamed"}),
        ("POST", f"/api/v1/catalog/lenders/{lender_id}/webhook-secret", None),
        ("GET", "/api/v1/catalog/performance", None),
    ):
        answer = await client.request(method, path, json=body, headers=headers)
        assert answer.status_code == 403, (path, answer.text)
        assert answer.json()["error"] == "PermissionDenied"
    assert await _count(session, LenderVersion) == before


@pytest.fixture
async def webhook_client(
    settings: Settings, sessionmaker: SessionMaker, memory_store: MemoryStore
) -> AsyncIterator[tuple[httpx.AsyncClient, Settings]]:
    """The app with a lender API configured (never called here) and the lender's webhook secret
    in the settings (what verifies it until the catalog holds one of its own)."""
    configured = settings.model_copy(
        update={
            "lender_api_base_url": "http://127.0.0.1:9",
            "lender_request_secrets": {"harbor-bank": SecretStr("the-request-secret")},
            "lender_webhook_secrets": {"harbor-bank": SecretStr("the-settings-webhook-secret")},
        }
    )
    app = create_app(configured, sessionmaker=sessionmaker, store=memory_store)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as http,
    ):
        yield http, configured


async def test_a_rotated_secret_is_shown_once_and_verifies_the_lenders_webhooks(
    webhook_client: tuple[httpx.AsyncClient, Settings], session: AsyncSession
) -> None:
    client, configured = webhook_client
    await create_catalog(session)
    lender_id = await session.scalar(
        select(LenderVersion.lender_id).where(LenderVersion.name == "Harbor Community Bank")
    )
    admin = await _headers(session, configured, Role.PLATFORM_ADMIN)

    async def deliver(secret: str) -> httpx.Response:
        body = json.dumps(
            {
                "event_id": f"evt_{uuid.uuid4()}",
                "event_type": "loan.servicing",
                "occurred_at": "2026-04-01T00:00:00+00:00",
                "servicing": {
                    "application_reference": "OMF-2099-999999",
                    "kind": "arrears",
                    "occurred_on": "2026-04-01",
                },
            }
        ).encode()
        path = httpx.URL(callback_url(configured, "harbor-bank")).path
        header = signature_header(SecretStr(secret), int(time.time()), "POST", path, body)
        return await client.post(
            path,
            content=body,
            headers={SIGNATURE_HEADER: header, "content-type": "application/json"},
        )

    # Before any rotation the settings' secret verifies (the reference is unknown: 404, not 401).
    assert (await deliver("the-settings-webhook-secret")).status_code == 404

    rotated = await client.post(
        f"/api/v1/catalog/lenders/{lender_id}/webhook-secret", headers=admin
    )
    assert rotated.status_code == 201, rotated.text
    assert rotated.headers["cache-control"] == "no-store"
    secret = rotated.json()["secret"]
    shown = await client.get(f"/api/v1/catalog/lenders/{lender_id}", headers=admin)
    assert secret not in shown.text
    assert shown.json()["integration"]["webhook_secrets"][0]["hint"] == secret[-4:]

    assert (await deliver(secret)).status_code == 404
    refused = await deliver("the-settings-webhook-secret")  # the catalog's secret replaces it
    assert refused.status_code == 401, refused.text

    # After another rotation the previous secret still verifies during its grace period.
    newer = await client.post(f"/api/v1/catalog/lenders/{lender_id}/webhook-secret", headers=admin)
    assert (await deliver(newer.json()["secret"])).status_code == 404
    assert (await deliver(secret)).status_code == 404
    assert (await deliver("someone-elses-secret")).status_code == 401


async def test_integration_and_performance_routes(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    lenders = await create_catalog(session)
    admin = await _headers(session, settings, Role.PLATFORM_ADMIN)
    lender_id = lenders["harbor-bank"].id

    bad = await client.put(
        f"/api/v1/catalog/lenders/{lender_id}/integration", json={"adapter": "http"}, headers=admin
    )
    assert bad.status_code == 422
    assert bad.json()["error"] == "ValidationError"
    good = await client.put(
        f"/api/v1/catalog/lenders/{lender_id}/integration",
        json={"adapter": "http", "base_url": "https://api.harbor.example/v1"},
        headers=admin,
    )
    assert good.status_code == 200, good.text
    assert good.json()["adapter"] == "http"

    figures = await client.get(
        "/api/v1/catalog/performance", params={"lender_id": str(lender_id)}, headers=admin
    )
    assert figures.status_code == 200, figures.text
    assert figures.json()[0]["lender_name"] == "Harbor Community Bank"
    assert figures.json()[0]["funded_volume"] == "0.00"
    backwards = await client.get(
        "/api/v1/catalog/performance",
        params={"since": "2026-02-01", "until": "2026-01-01"},
        headers=admin,
    )
    assert backwards.status_code == 422
    assert backwards.json()["error"] == "InvalidInput"
