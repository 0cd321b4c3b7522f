"""Webhook history on an application's page: each request to a lender's webhook is recorded
with whether its signature verified and its outcome; the page shows the deliveries naming the
application and the requests its lenders' webhooks refused, with a summary that keeps no
personal data; another lender's refused requests are not shown."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import httpx
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.db import SessionMaker
from lending.kv import Store
from lending.lenders.integration.registry import callback_url
from lending.lenders.integration.signing import SIGNATURE_HEADER, signature_header
from lending.models.identity import Role
from lending.models.lenders import (
    Lender,
    LenderSubmission,
    LenderWebhookDelivery,
    SubmissionStatus,
    WebhookOutcome,
)
from tests.admin.conftest import signed_in
from tests.identity.factories import api_clients
from tests.lending.factories import create_application, create_borrower

ALPHA = SecretStr("alpha-secret-0123456789")


def _configured(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "lender_api_base_url": "http://127.0.0.1:9",  # nothing is sent
            "lender_request_secrets": {"alpha": SecretStr("request-secret-abcdef")},
            "lender_webhook_secret": None,
            "lender_webhook_secrets": {"alpha": ALPHA},
            "lender_simulator": False,
        }
    )


def _headers(settings: Settings, code: str, body: bytes) -> dict[str, str]:
    path = httpx.URL(callback_url(settings, code)).raw_path.decode()
    return {
        SIGNATURE_HEADER: signature_header(ALPHA, int(time.time()), "POST", path, body),
        "content-type": "application/json",
    }


async def test_an_applications_page_shows_its_webhook_deliveries_without_personal_data(
    admin_app: httpx.ASGITransport,
    session: AsyncSession,
    settings: Settings,
    sessionmaker: SessionMaker,
    store: Store,
) -> None:
    admin = await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)
    borrower = await create_borrower(session, settings)
    application = await create_application(session, borrower)
    alpha = Lender(slug="alpha", name="Alpha Bank")
    session.add(alpha)
    await session.flush()
    session.add(
        LenderSubmission(
            application_id=application.id, lender_id=alpha.id, status=SubmissionStatus.SENT
        )
    )
    await session.flush()

    configured = _configured(settings)
    event = {
        "event_id": "evt-alpha-1",
        "event_type": "decision.updated",
        "lender_code": "alpha",
        "occurred_at": datetime.now(UTC).isoformat(),
        "decision": {
            "lender_code": "alpha",
            "external_id": "ALPHA-1",
            "application_reference": application.reference,
            "status": "declined",
            "reasons": ["Credit history of Jordan Rivera"],
        },
    }
    body = json.dumps(event).encode()
    async with api_clients(configured, sessionmaker, store, "127.0.0.1") as clients:
        http = clients["127.0.0.1"]
        url = "/api/v1/lenders/webhooks/{}"
        forged = await http.post(url.format("alpha"), content=body, headers={})
        signed = await http.post(
            url.format("alpha"), content=body, headers=_headers(configured, "alpha", body)
        )
        other = await http.post(url.format("beta"), content=b"{}", headers={})
        unknown = json.dumps(
            {
                "event_id": "evt-alpha-2",
                "event_type": "loan.servicing",
                "lender_code": "alpha",
                "occurred_at": datetime.now(UTC).isoformat(),
                "servicing": {
                    "application_reference": "OMF-1999-000000",
                    "kind": "discharged",
                    "occurred_on": "2026-05-01",
                },
            }
        ).encode()
        failed = await http.post(
            url.format("alpha"), content=unknown, headers=_headers(configured, "alpha", unknown)
        )
    assert forged.status_code == 401
    assert signed.status_code == 200, signed.text
    assert other.status_code == 401
    assert failed.status_code == 404, failed.text  # no loan has this reference

    rows = list(
        await session.scalars(select(LenderWebhookDelivery).order_by(LenderWebhookDelivery.id))
    )
    assert [(r.lender_code, r.signature_ok, r.outcome) for r in rows] == [
        ("alpha", False, WebhookOutcome.REJECTED),
        ("alpha", True, WebhookOutcome.PROCESSED),
        ("beta", False, WebhookOutcome.REJECTED),
        ("alpha", True, WebhookOutcome.FAILED),
    ]
    assert (rows[3].reason, rows[3].summary["kind"]) == ("NotFound", "discharged")
    assert rows[1].summary == {"status": "declined", "offers": 0, "reasons": 1}
    assert rows[1].application_reference == application.reference

    page = await admin.http.get(f"/admin/applications/{application.id}")
    assert page.status_code == 200
    history = page.text[page.text.index('id="webhooks"') :]
    assert "evt-alpha-1" in history
    assert "status: declined" in history
    assert history.count("<td>alpha</td>") == 2
    assert "<td>beta</td>" not in history
    assert ">failed</td>" in history  # the forged request's signature
    assert "Jordan Rivera" not in history
