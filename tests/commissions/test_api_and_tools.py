"""Commissions over REST and through the assistant's tools: the same services, scopes and
refusals (guard reasons, maker-checker, approvals, tenant reach)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from lending.commissions.accrual import accrual_service
from lending.config import Settings
from lending.db import SessionMaker
from lending.identity.actor import Actor
from lending.models.identity import Role
from tests.commissions.factories import create_admin, create_loan, create_rule
from tests.identity.factories import bearer, create_organization, create_user, issue_token
from tests.tools.support import context_for
from tools.approvals import Decision
from tools.base import ToolError
from tools.context import ApprovalRequest
from tools.registry import registry


async def test_rest_rules_batches_and_refusals(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    maker = await create_admin(session)
    checker = await create_admin(session)
    firm = await create_organization(session)
    broker = await create_user(session, organization=firm, role=Role.BROKER)
    maker_h = bearer(await issue_token(session, maker, settings=settings))
    checker_h = bearer(await issue_token(session, checker, settings=settings))
    broker_h = bearer(await issue_token(session, broker, settings=settings))
    rule = {
        "name": "Default",
        "effective_from": "2026-01-01",
        "upfront_percent": "0.65",
        "splits": {"broker": "70", "firm": "10", "platform": "20"},
    }

    refused = await client.post(
        "/api/v1/commissions/rules",
        json={**rule, "conditions": [{"field": "term_months", "op": "lte", "value": "180"}]},
        headers=maker_h,
    )
    assert refused.status_code == 422
    assert refused.json()["error"] == "GuardRejected"
    assert "rate or terms" in refused.json()["detail"]["message"]
    created = await client.post("/api/v1/commissions/rules", json=rule, headers=maker_h)
    assert created.status_code == 201, created.text
    # Volume bonuses: allowed in the US until switched off there.
    bonus = {
        **rule,
        "name": "Bonus",
        "volume_bonus": {"min_loans_in_month": 5, "extra_percent": "0.05"},
    }
    switched = await client.patch(
        "/api/v1/commissions/jurisdictions/US",
        json={"bans_volume_bonuses": True},
        headers=maker_h,
    )
    assert switched.status_code == 200, switched.text
    assert switched.json()["bans_volume_bonuses"] is True
    no_bonus = await client.post("/api/v1/commissions/rules", json=bonus, headers=maker_h)
    assert no_bonus.status_code == 422
    assert "volume-based bonuses are switched off" in no_bonus.json()["detail"]["message"]
    await client.patch(
        "/api/v1/commissions/jurisdictions/US",
        json={"bans_volume_bonuses": False},
        headers=maker_h,
    )
    assert (
        await client.post("/api/v1/commissions/rules", json=bonus, headers=maker_h)
    ).status_code == 201

    await create_loan(session, firm, broker=broker)
    await accrual_service.accrue_pending(session)
    summary = (await client.get("/api/v1/commissions/summary", headers=broker_h)).json()
    assert [(p["payee_id"], p["balance"]) for p in summary["payees"]] == [
        (str(broker.id), "2275.00")
    ]
    entries = (await client.get("/api/v1/commissions/entries", headers=broker_h)).json()
    [entry] = entries["items"]
    explained = await client.get(
        f"/api/v1/commissions/entries/{entry['id']}/explanation", headers=broker_h
    )
    assert "2,275.00" in explained.json()["text"]

    batch = await client.post(
        "/api/v1/commissions/batches", json={"cutoff_on": "2026-12-31"}, headers=maker_h
    )
    assert batch.status_code == 201
    batch_id = batch.json()["id"]
    self_approval = await client.post(
        f"/api/v1/commissions/batches/{batch_id}/approve", headers=maker_h
    )
    assert self_approval.status_code == 403
    assert self_approval.json()["error"] == "MakerCheckerRefused"
    approved = await client.post(
        f"/api/v1/commissions/batches/{batch_id}/approve", headers=checker_h
    )
    assert approved.json()["status"] == "approved"
    exported = await client.post(
        f"/api/v1/commissions/batches/{batch_id}/export", headers=checker_h
    )
    assert exported.headers["content-type"].startswith("text/csv")
    assert "2275.00" in exported.text
    pdf = await client.get(
        f"/api/v1/commissions/batches/{batch_id}/statements/{broker.id}", headers=checker_h
    )
    assert pdf.content.startswith(b"%PDF")
    paid = await client.post(
        f"/api/v1/commissions/batches/{batch_id}/paid",
        json={"payment_reference": "ACH-77"},
        headers=checker_h,
    )
    assert paid.json()["status"] == "paid"
    twice = await client.post(
        f"/api/v1/commissions/batches/{batch_id}/paid",
        json={"payment_reference": "ACH-78"},
        headers=checker_h,
    )
    assert twice.status_code == 409
    after = (await client.get("/api/v1/commissions/summary", headers=broker_h)).json()
    assert after["payees"][0]["balance"] == "0.00"
    assert after["payees"][0]["paid"] == "-2275.00"
    statement = await client.get(
        f"/api/v1/commissions/statements/payees/{broker.id}",
        params={"period_start": "2026-01-01", "period_end": "2030-12-31"},
        headers=broker_h,
    )
    assert statement.json()["closing_balance"] == "0.00"


async def test_the_tools_follow_the_same_scopes_and_ask_before_approving(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    maker = await create_admin(session)
    checker = await create_admin(session)
    firm = await create_organization(session)
    broker = await create_user(session, organization=firm, role=Role.BROKER)
    await create_rule(session, maker, splits={"broker": "70", "firm": "10", "platform": "20"})
    await create_loan(session, firm, broker=broker, funded_on=date(2026, 2, 1))
    await accrual_service.accrue_pending(session)
    await session.commit()

    broker_tools = {
        item.name
        for item in registry.for_actor(
            Actor.for_user(broker.id, broker.role, broker.organization_id)
        )
    }
    assert {"get_commission_summary", "explain_commission", "list_commission_entries"} <= (
        broker_tools
    )
    assert not {"create_payout_batch", "approve_payout_batch", "import_lender_statement"} & (
        broker_tools
    )
    summary = await registry.execute(
        "get_commission_summary", {}, context_for(broker, sessionmaker, settings)
    )
    assert [p.balance for p in summary.payees] == [Decimal("2275.00")]  # type: ignore[attr-defined]
    with pytest.raises(ToolError) as refused:
        await registry.execute(
            "create_payout_batch",
            {"cutoff_on": "2026-12-31"},
            context_for(broker, sessionmaker, settings),
        )
    assert refused.value.kind == "PermissionDenied"

    # Drafting a batch is asked first too; without anyone to ask, it is refused.
    with pytest.raises(ToolError) as unasked:
        await registry.execute(
            "create_payout_batch",
            {"cutoff_on": "2026-12-31"},
            context_for(maker, sessionmaker, settings),
        )
    assert unasked.value.kind == "ApprovalRequired"
    batch = await registry.execute(
        "create_payout_batch",
        {"cutoff_on": "2026-12-31"},
        context_for(maker, sessionmaker, settings),
        idempotency_key="batch-1",
        approved=True,
    )
    batch_id = str(batch.id)  # type: ignore[attr-defined]
    # The maker is refused before anyone is asked (the rehearsal fails).
    with pytest.raises(ToolError) as self_approval:
        await registry.execute(
            "approve_payout_batch",
            {"batch_id": batch_id},
            context_for(maker, sessionmaker, settings),
        )
    assert self_approval.value.kind == "MakerCheckerRefused"
    with pytest.raises(ToolError) as unapproved:
        await registry.execute(
            "approve_payout_batch",
            {"batch_id": batch_id},
            context_for(checker, sessionmaker, settings),
        )
    assert unapproved.value.kind == "ApprovalRequired"
    asked: list[ApprovalRequest] = []

    async def yes(request: ApprovalRequest) -> Decision:
        asked.append(request)
        return Decision.APPROVED

    approved = await registry.execute(
        "approve_payout_batch",
        {"batch_id": batch_id},
        context_for(checker, sessionmaker, settings, approver=yes),
        idempotency_key="approve-1",
    )
    assert approved.status.value == "approved"  # type: ignore[attr-defined]
    assert [request.tool for request in asked] == ["approve_payout_batch"]
