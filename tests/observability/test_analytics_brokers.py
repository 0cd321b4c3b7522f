"""Analytics for brokers and the intake (issue 20): events carry the broker working the
application (and an accepted offer its lender), a plain broker reads their own applications'
funnel, drop-off and step times, drop-off per intake question, and the commissions trend read
as each role may."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.analytics.schemas import AnalyticsFilter
from lending.analytics.service import analytics_service
from lending.applications.service import LenderDecision, application_service
from lending.commissions.accrual import accrual_service
from lending.commissions.schemas import CommissionTrendPoint
from lending.commissions.trend import TrendRange, commission_trend_service
from lending.config import Settings
from lending.errors import PermissionDenied
from lending.models.analytics import AnalyticsEvent
from lending.models.identity import Role, User
from lending.models.offers import Offer
from lending.offers.service import offer_service
from tests.api.lending_world import firm_offer
from tests.commissions.factories import create_admin, create_loan, create_rule
from tests.identity.factories import (
    actor_of,
    bearer,
    create_organization,
    create_user,
    issue_token,
)
from tests.lending.factories import create_borrower

START = datetime(2026, 11, 2, 9, tzinfo=UTC)
NOVEMBER = {"date_from": "2026-11-01", "date_to": "2026-11-30"}


async def test_a_brokers_clients_events_carry_the_broker_and_the_accepted_lender(
    session: AsyncSession, settings: Settings
) -> None:
    firm = await create_organization(session)
    broker = await create_user(session, organization=firm, role=Role.BROKER)
    borrower = await create_borrower(session, settings, organization=firm, referred_by=broker)
    offer_id = await firm_offer(session, borrower)
    await offer_service.accept(session, actor_of(borrower), offer_id=offer_id)
    offer = await session.get(Offer, offer_id)
    assert offer is not None
    await application_service.record_lender_decision(
        session,
        application_id=offer.application_id,
        lender_id=offer.lender_id,
        decision=LenderDecision.FUNDED,
    )
    await session.flush()

    events = list(
        (
            await session.scalars(
                select(AnalyticsEvent)
                .where(AnalyticsEvent.application_id == offer.application_id)
                .order_by(AnalyticsEvent.id)
            )
        ).all()
    )
    names = [e.name for e in events]
    for step in ("application_started", "application_submitted", "offer_accepted", "funded"):
        assert step in names
    assert {e.broker_id for e in events} == {broker.id}
    [accepted] = [e for e in events if e.name == "offer_accepted"]
    assert accepted.lender_id == offer.lender_id


async def _journey(
    session: AsyncSession,
    firm: uuid.UUID,
    broker: uuid.UUID | None,
    steps: Sequence[tuple[str, float]],
    *,
    mode: str = "guided",
    waiting_for: Sequence[str] = (),
) -> None:
    """One application's events at known hours after START, with the intake fields it waited
    for as it moved (the last one is where it stands)."""
    application_id = uuid.uuid4()
    for name, hours in steps:
        session.add(
            AnalyticsEvent(
                name=name,
                organization_id=firm,
                application_id=application_id,
                broker_id=broker,
                product="personal",
                channel="chat",
                mode=mode,
                occurred_at=START + timedelta(hours=hours),
            )
        )
    for index, field in enumerate(waiting_for):
        session.add(
            AnalyticsEvent(
                name="intake_progress",
                organization_id=firm,
                application_id=application_id,
                broker_id=broker,
                product="personal",
                channel="chat",
                mode=mode,
                properties={"next_field": field},
                occurred_at=START + timedelta(minutes=index + 1),
            )
        )


async def test_a_broker_reads_their_own_applications_and_a_manager_the_firm(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    firm = await create_organization(session)
    broker = await create_user(session, organization=firm, role=Role.BROKER)
    colleague = await create_user(session, organization=firm, role=Role.BROKER)
    manager = await create_user(session, organization=firm, role=Role.BROKER_MANAGER)
    funded = [
        ("application_started", 0),
        ("application_submitted", 2),
        ("offer_presented", 26),
        ("offer_accepted", 30),
        ("funded", 74),
    ]
    await _journey(session, firm.id, broker.id, funded)
    await _journey(session, firm.id, broker.id, [("application_started", 0)])
    await _journey(session, firm.id, colleague.id, funded[:2])
    await _journey(session, firm.id, None, funded[:3])
    await session.flush()
    await analytics_service.refresh(session)
    await session.commit()

    async def get(user: User, path: str) -> httpx.Response:
        token = await issue_token(session, user, settings=settings)
        return await client.get(f"/api/v1/analytics/{path}", params=NOVEMBER, headers=bearer(token))

    funnel = await get(broker, "funnel")
    assert funnel.status_code == 200, funnel.text
    totals = {row["step"]: row["applications"] for row in funnel.json()["totals"]}
    assert totals == {
        "application_started": 2,
        "application_submitted": 1,
        "offer_presented": 1,
        "offer_accepted": 1,
        "funded": 1,
    }
    # Each application counts on the day it reached the step (funded 74 h after the start).
    funded_rows = [r for r in funnel.json()["rows"] if r["step"] == "funded"]
    assert [(r["day"], r["applications"]) for r in funded_rows] == [("2026-11-05", 1)]
    drop_off = (await get(broker, "drop-off")).json()
    assert [s["reached"] for s in drop_off["steps"]] == [2, 1, 1, 1, 1]
    times = (await get(broker, "step-times")).json()["intervals"]
    assert (
        next(
            i for i in times if i["to_step"] == "funded" and i["from_step"] == "application_started"
        )["median_hours"]
        == "74.00"
    )
    # The firm-wide views are not a broker's.
    assert (await get(broker, "agents")).status_code == 403
    assert (await get(broker, "lenders")).status_code == 403

    # The manager sees all four, whoever works them.
    firm_totals = {
        row["step"]: row["applications"] for row in (await get(manager, "funnel")).json()["totals"]
    }
    assert firm_totals["application_started"] == 4
    assert firm_totals["application_submitted"] == 3


async def test_drop_off_per_intake_question_by_mode(session: AsyncSession) -> None:
    firm = await create_organization(session)
    manager = actor_of(await create_user(session, organization=firm, role=Role.BROKER_MANAGER))
    started = [("application_started", 0)]
    submitted = [("application_started", 0), ("application_submitted", 3)]
    await _journey(session, firm.id, None, started, waiting_for=["amount", "annual_income"])
    await _journey(session, firm.id, None, started, waiting_for=["annual_income"])
    await _journey(session, firm.id, None, started, mode="llm", waiting_for=["employment"])
    await _journey(session, firm.id, None, submitted, waiting_for=["annual_income", ""])
    await _journey(session, firm.id, None, started, waiting_for=["annual_income", ""])
    await _journey(session, firm.id, None, started)  # from before intake was tracked
    await session.flush()
    await analytics_service.refresh(session)
    f = AnalyticsFilter(date_from=date(2026, 11, 1), date_to=date(2026, 11, 30))

    found = await analytics_service.intake_drop_off(session, manager, f)

    assert found.started_by_mode == {"guided": 5, "llm": 1}
    stops = {(s.mode, s.field): (s.started, s.stopped, s.share) for s in found.stops}
    assert stops == {
        ("guided", "annual_income"): (2, 2, Decimal("0.4000")),
        ("guided", ""): (2, 1, Decimal("0.2000")),  # complete, never submitted
        ("guided", None): (1, 1, Decimal("0.2000")),
        ("llm", "employment"): (1, 1, Decimal("1.0000")),
    }
    assert found.stops[0].field == "annual_income"  # most stopped first
    borrower = actor_of(await create_user(session, organization=firm))
    with pytest.raises(PermissionDenied):
        await analytics_service.intake_drop_off(session, borrower, f)


async def test_the_commissions_trend_per_month_for_each_reader(session: AsyncSession) -> None:
    admin = await create_admin(session)
    await create_rule(session, admin, splits={"platform": "20", "firm": "10", "broker": "70"})
    firm = await create_organization(session)
    broker = await create_user(session, organization=firm, role=Role.BROKER)
    colleague = await create_user(session, organization=firm, role=Role.BROKER)
    manager = await create_user(session, organization=firm, role=Role.BROKER_MANAGER)
    await create_loan(session, firm, broker=broker, amount="500000.00", funded_on=date(2026, 1, 15))
    await create_loan(session, firm, broker=broker, amount="200000.00", funded_on=date(2026, 2, 10))
    await create_loan(
        session, firm, broker=colleague, amount="100000.00", funded_on=date(2026, 2, 11)
    )
    await accrual_service.accrue_pending(session)
    await analytics_service.refresh(session)  # firms and the platform read the ledger's rollup
    asked = TrendRange(date_from=date(2026, 1, 1), date_to=date(2026, 3, 31))

    def accrued(points: list[CommissionTrendPoint]) -> list[tuple[str, str, str]]:
        return [(str(p.period_start), str(p.accrued), str(p.net)) for p in points]

    own = await commission_trend_service.trend(session, actor_of(broker), asked)
    # 0.65 % upfront, the broker's 70 %: 3,250.00 → 2,275.00 and 1,300.00 → 910.00.
    assert accrued(own.points) == [
        ("2026-01-01", "2275.00", "2275.00"),
        ("2026-02-01", "910.00", "910.00"),
    ]
    assert {p.paid for p in own.points} == {Decimal("0")}
    assert own.as_of is None  # the ledger as it stands
    firm_view = await commission_trend_service.trend(session, actor_of(manager), asked)
    assert firm_view.as_of is not None  # the rollup, as of its refresh
    # The firm's brokers and the firm's own 10 %, never the platform's share.
    assert accrued(firm_view.points) == [
        ("2026-01-01", "2600.00", "2600.00"),
        ("2026-02-01", "1560.00", "1560.00"),
    ]
    quarters = await commission_trend_service.trend(
        session, actor_of(admin), asked.model_copy(update={"period": "quarter"})
    )
    assert accrued(quarters.points) == [("2026-01-01", "5200.00", "5200.00")]
    borrower = actor_of(await create_user(session, organization=firm))
    with pytest.raises(PermissionDenied):
        await commission_trend_service.trend(session, borrower, asked)


async def test_the_commissions_trend_over_rest_refuses_a_bad_range(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    broker = await create_user(
        session, organization=await create_organization(session), role=Role.BROKER
    )
    await session.commit()
    token = await issue_token(session, broker, settings=settings)
    ok = await client.get(
        "/api/v1/analytics/commissions",
        params={"date_from": "2026-01-01", "date_to": "2026-03-31", "period": "week"},
        headers=bearer(token),
    )
    assert ok.status_code == 200, ok.text
    assert ok.json() == {
        "as_of": None,  # a broker's own, from the ledger itself
        "period": "week",
        "date_from": "2026-01-01",
        "date_to": "2026-03-31",
        "points": [],
    }
    for params in (
        {"date_from": "2026-03-31", "date_to": "2026-01-01"},
        {"date_from": "2026-01-01", "date_to": "2026-03-31", "period": "day"},
    ):
        refused = await client.get(
            "/api/v1/analytics/commissions", params=params, headers=bearer(token)
        )
        assert refused.status_code == 422, params
