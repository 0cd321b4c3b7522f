"""The lenders pages: the catalog listed, a lender created and given new versions, a product's
terms edited as JSON, retirement, integration settings, a webhook secret shown once, and
performance; each through the catalog services (audit rows, refusals that change nothing)."""

from __future__ import annotations

import html
import json
import uuid
from datetime import timedelta

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.lenders.catalog_service import today
from lending.lenders.repository import LenderRepository
from lending.models.audit import AuditEvent
from lending.models.identity import Role
from lending.models.lenders import IntegrationAdapter, Lender, LenderVersion
from tests.admin.conftest import signed_in
from tests.lending.factories import create_catalog


async def _actions(session: AsyncSession, subject_id: uuid.UUID) -> list[str]:
    rows = await session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.subject_id == str(subject_id))
        .order_by(AuditEvent.id)
    )
    return list(rows)


async def _versions(session: AsyncSession, lender_id: uuid.UUID) -> int:
    found = await session.scalar(
        select(func.count()).select_from(LenderVersion).where(LenderVersion.lender_id == lender_id)
    )
    return int(found or 0)


async def test_a_lender_is_created_edited_from_a_day_and_retired_each_audited(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    admin = await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)
    created = await admin.post(
        "/admin/lenders", {"slug": "north-trust", "name": "North Trust", "note": "signed"}
    )
    assert created.status_code == 303, created.text
    lender = await session.scalar(select(Lender).where(Lender.slug == "north-trust"))
    assert lender is not None
    assert created.headers["location"] == f"/admin/lenders/{lender.id}?done=created"

    listed = await admin.http.get("/admin/lenders")
    assert "North Trust" in listed.text

    tomorrow = (today() + timedelta(days=1)).isoformat()
    edited = await admin.post(
        f"/admin/lenders/{lender.id}/edit",
        {"name": "North Trust Bank", "effective_from": tomorrow, "note": "renamed"},
    )
    assert edited.status_code == 303, edited.text
    page = await admin.http.get(f"/admin/lenders/{lender.id}")
    assert page.status_code == 200
    assert f"v2 from {tomorrow}" in page.text  # scheduled, not in effect yet
    assert "renamed" in page.text

    past = (today() - timedelta(days=1)).isoformat()
    refused = await admin.post(
        f"/admin/lenders/{lender.id}/retire", {"note": "closing", "effective_from": past}
    )
    assert refused.status_code == 409
    assert "cannot take effect in the past" in refused.text
    assert await _versions(session, lender.id) == 2  # nothing written

    retired = await admin.post(
        f"/admin/lenders/{lender.id}/retire", {"note": "closing", "effective_from": tomorrow}
    )
    assert retired.status_code == 303, retired.text
    assert await _versions(session, lender.id) == 3
    assert await _actions(session, lender.id) == [
        "lender.created",
        "lender.version_created",
        "lender.retired",
    ]
    again = await admin.post(f"/admin/lenders/{lender.id}/edit", {"name": "Too late"})
    assert again.status_code == 409
    assert "retired" in again.text


async def test_a_bad_lender_form_is_refused_with_the_field_and_changes_nothing(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    admin = await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)
    # Counted, not assumed empty: tests of the job worker commit a catalog of their own.
    lenders = await session.scalar(select(func.count()).select_from(Lender))
    answer = await admin.post("/admin/lenders", {"slug": "Not A Slug!", "name": "X"})
    assert answer.status_code == 422
    assert "slug:" in answer.text
    assert 'value="Not A Slug!"' in answer.text  # the form keeps what was typed
    assert await session.scalar(select(func.count()).select_from(Lender)) == lenders


async def test_a_product_is_edited_as_json_and_a_bad_edit_is_refused(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    lender = (await create_catalog(session))["harbor-bank"]
    product = await LenderRepository.from_session(session).get_product_by_code(
        lender.id, "harbor-personal"
    )
    assert product is not None
    admin = await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)
    path = f"/admin/lenders/{lender.id}/products/{product.id}"
    page = await admin.http.get(path)
    assert page.status_code == 200
    assert '"max_dti": "40' in html.unescape(page.text)  # the terms in effect, to edit

    bad = await admin.post(path + "/edit", {"terms": json.dumps({"min_amount": "999999999"})})
    assert bad.status_code == 422  # above the maximum: the merged terms are checked whole
    not_json = await admin.post(path + "/edit", {"terms": "{max_dti: 40"})
    assert not_json.status_code == 422
    assert "not valid JSON" in not_json.text
    assert await _actions(session, product.id) == ["lender_product.created"]  # the seed's

    good = await admin.post(path + "/edit", {"terms": json.dumps({"max_dti": "38"}), "note": "x"})
    assert good.status_code == 303, good.text
    page = await admin.http.get(path)
    assert "v2 from" in page.text
    assert await _actions(session, product.id) == [
        "lender_product.created",
        "lender_product.version_created",
    ]

    wrong_lender = await admin.http.get(f"/admin/lenders/{uuid.uuid4()}/products/{product.id}")
    assert wrong_lender.status_code == 404


async def test_integration_settings_and_a_webhook_secret_shown_once(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    lender = (await create_catalog(session))["harbor-bank"]
    admin = await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)
    path = f"/admin/lenders/{lender.id}"

    refused = await admin.post(path + "/integration", {"adapter": "http", "base_url": ""})
    assert refused.status_code == 422
    assert "base_url is required" in refused.text
    saved = await admin.post(
        path + "/integration", {"adapter": "http", "base_url": "https://api.harbor.example/v1"}
    )
    assert saved.status_code == 303, saved.text
    await session.refresh(lender)
    assert lender.integration_adapter is IntegrationAdapter.HTTP

    rotated = await admin.post(path + "/webhook-secret")
    assert rotated.status_code == 200
    assert "shown this once" in rotated.text
    start = rotated.text.index('<code id="new-secret">') + len('<code id="new-secret">')
    secret = rotated.text[start : rotated.text.index("</code>", start)]
    assert len(secret) >= 40
    later = await admin.http.get(path)
    assert secret not in later.text  # never shown again
    assert "…" + secret[-4:] in later.text  # its hint is
    assert await _actions(session, lender.id) == [
        "lender.created",  # the seed's
        "lender.integration_changed",
        "lender.webhook_secret_rotated",
    ]


async def test_performance_and_prompt_engineers_refused(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    await create_catalog(session)
    admin = await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)
    figures = await admin.http.get("/admin/lenders/performance", params={"since": "", "until": ""})
    assert figures.status_code == 200  # the form's empty fields: the default window
    as_of = await admin.http.get("/admin/lenders", params={"on": ""})
    assert as_of.status_code == 200
    assert "Harbor Community Bank" in as_of.text
    not_a_day = await admin.http.get("/admin/lenders", params={"on": "31/12/2026"})
    assert not_a_day.status_code == 422
    assert "Harbor" in figures.text
    backwards = await admin.http.get(
        "/admin/lenders/performance", params={"since": "2026-06-01", "until": "2026-05-01"}
    )
    assert backwards.status_code == 422
    assert "until: is before since" in backwards.text

    engineer = await signed_in(admin_app, session, settings, Role.PROMPT_ENGINEER)
    assert (await engineer.http.get("/admin/lenders")).status_code == 403
    assert (await engineer.post("/admin/lenders", {"slug": "x", "name": "X"})).status_code == 403
