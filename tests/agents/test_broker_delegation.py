"""A broker delegates to the assistant in guided mode (through the chat API, with the real tools
and database): their clients' files, starting an application for a client by e-mail, offers
about to expire and commission for a month explained; never another firm's clients."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agents.broker import policy as broker_policy
from agents.broker.policy import HELP
from agents.guided.parser import parse_period
from lending.commissions.accrual import accrual_service
from lending.config import Settings
from lending.models.applications import Application, ProductType
from lending.models.identity import Role, User
from lending.models.lenders import Lender
from lending.models.offers import Offer
from lending.offers.service import offer_service
from tests.agents.sse import reply_text, send
from tests.commissions.factories import create_admin, create_loan, create_rule
from tests.identity.factories import (
    actor_of,
    bearer,
    create_organization,
    create_user,
    issue_token,
)
from tests.lending.factories import (
    create_application,
    create_borrower,
    create_catalog,
    give_consent,
)


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


async def _broker_thread(
    client: httpx.AsyncClient, session: AsyncSession, broker: User, settings: Settings
) -> tuple[str, str]:
    token = await issue_token(session, broker, settings=settings)
    await session.commit()
    created = await client.post("/api/v1/chat/threads", json={}, headers=bearer(token))
    assert created.status_code == 201, created.text
    assert created.json()["graph"] == "broker"
    return token, created.json()["id"]


def _tools_called(events: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [data["tool"] for kind, data in events if kind == "tool.started"]


async def test_a_broker_starts_an_application_for_their_client_by_email(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await create_catalog(session)
    firm, other_firm = await create_organization(session), await create_organization(session)
    broker = await create_user(session, role=Role.BROKER, organization=firm)
    other_broker = await create_user(session, role=Role.BROKER, organization=other_firm)
    mine = await create_borrower(session, settings, organization=firm, referred_by=broker)
    mine.full_name = "Casey Client"
    theirs = await create_borrower(
        session, settings, organization=other_firm, referred_by=other_broker
    )
    token, thread_id = await _broker_thread(client, session, broker, settings)

    events = await send(
        client,
        token,
        thread_id,
        f"start an application for my client ({mine.email.upper()}), $25k auto, 60 months",
    )
    assert _tools_called(events) == ["find_client", "start_application"]
    # Starting an application on someone else's behalf waits for the broker's yes, asked in
    # words: whose application, which loan, the amount (never a tool name or an id).
    [question] = [data for kind, data in events if kind == "interrupt.requested"]
    # The client by name (their e-mail address is masked like any transcript).
    assert (
        "an auto loan application for $25,000.00 over 60 months on behalf of" in question["summary"]
    )
    assert mine.email not in question["summary"]
    assert "start_application" not in question["summary"]
    assert (
        await session.scalar(
            select(func.count())
            .select_from(Application)
            .where(Application.borrower_user_id == mine.id)
        )
        == 0
    )
    events = await send(client, token, thread_id, "yes")
    started = reply_text(events)
    application = await session.scalar(
        select(Application).where(Application.borrower_user_id == mine.id)
    )
    assert application is not None
    assert application.product_type is ProductType.AUTO
    assert application.amount == Decimal("25000.00")
    assert application.term_months == 60
    assert application.broker_user_id == broker.id
    assert application.organization_id == firm.id
    assert f"I started {application.reference} for Casey Client" in started
    assert ": an auto loan of $25,000.00 over 60 months." in started
    assert "Still missing:" in started  # an auto loan needs the vehicle, which nobody gave yet
    assert "Documents still needed: Government-issued photo ID" in started

    # Another firm's client and an address nobody has get the same answer: nothing leaks.
    refusals = []
    for email in (theirs.email, "nobody-at-all@example.com"):
        events = await send(
            client, token, thread_id, f"start an application for my client {email}, $10k personal"
        )
        assert "start_application" not in _tools_called(events)
        refusals.append(reply_text(events).replace(email, "EMAIL"))
    assert refusals[0] == refusals[1]
    assert "EMAIL is not one of your clients" in refusals[0]
    assert theirs.full_name not in refusals[0]
    created = await session.scalar(
        select(func.count())
        .select_from(Application)
        .where(Application.borrower_user_id == theirs.id)
    )
    assert created == 0

    asked = reply_text(await send(client, token, thread_id, "start a new application please"))
    assert "e-mail address" in asked


async def test_a_broker_builds_a_request_over_several_turns_and_finds_files_by_description(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await create_catalog(session)
    firm = await create_organization(session)
    broker = await create_user(session, role=Role.BROKER, organization=firm)
    jane = await create_borrower(session, settings, organization=firm, referred_by=broker)
    jane.full_name = "Jane Quill"
    riley = await create_borrower(session, settings, organization=firm, referred_by=broker)
    riley.full_name = "Riley Stone"
    rileys = await create_application(session, riley)
    # The test runs in one transaction, where now() never moves: Riley's file is made older.
    await session.execute(
        update(Application)
        .where(Application.id == rileys.id)
        .values(created_at=datetime.now(UTC) - timedelta(days=2))
    )
    token, thread_id = await _broker_thread(client, session, broker, settings)

    which = reply_text(await send(client, token, thread_id, "start an application for my client"))
    assert "Which client" in which
    what = reply_text(await send(client, token, thread_id, jane.email))
    assert "What kind of loan" in what
    events = await send(client, token, thread_id, "a car loan, 18k over 48 months")
    assert _tools_called(events) == ["find_client", "start_application"]
    # One question, asked by the tool itself: whose application, which loan, the amounts.
    [question] = [data for kind, data in events if kind == "interrupt.requested"]
    assert "auto loan application for $18,000.00 over 48 months" in question["summary"]
    events = await send(client, token, thread_id, "no")
    assert "Understood: nothing was done." in reply_text(events)
    assert (
        await session.scalar(
            select(func.count())
            .select_from(Application)
            .where(Application.borrower_user_id == jane.id)
        )
        == 0
    )
    await send(client, token, thread_id, f"new application for {jane.email}, auto, 18k, 48 months")
    events = await send(client, token, thread_id, "yes please")
    assert _tools_called(events) == ["start_application"]
    janes = await session.scalar(select(Application).where(Application.borrower_user_id == jane.id))
    assert janes is not None
    assert janes.product_type is ProductType.AUTO

    newest = reply_text(await send(client, token, thread_id, "what's missing on my newest file?"))
    assert janes.reference in newest
    by_name = reply_text(await send(client, token, thread_id, "status of Riley's application"))
    assert rileys.reference in by_name
    assert janes.reference not in by_name
    by_loan = reply_text(await send(client, token, thread_id, "the auto loan for Jane"))
    assert janes.reference in by_loan


async def test_a_broker_sees_offers_expiring_for_their_clients_only(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await create_catalog(session)
    firm, other_firm = await create_organization(session), await create_organization(session)
    broker = await create_user(session, role=Role.BROKER, organization=firm)
    other_broker = await create_user(session, role=Role.BROKER, organization=other_firm)
    mine = await create_borrower(session, settings, organization=firm, referred_by=broker)
    mine.full_name = "Casey Client"
    theirs = await create_borrower(
        session, settings, organization=other_firm, referred_by=other_broker
    )
    files = {}
    for borrower in (mine, theirs):
        await give_consent(session, borrower)
        started = await create_application(session, borrower)
        await offer_service.get_offers(session, actor_of(borrower), application_id=started.id)
        files[borrower.id] = started
    now = datetime.now(UTC)
    await session.execute(update(Offer).values(expires_at=now + timedelta(days=20)))
    soon = {}
    for borrower in (mine, theirs):
        offer = await session.scalar(
            select(Offer)
            .where(Offer.application_id == files[borrower.id].id)
            .order_by(Offer.rank_by_apr)
            .limit(1)
        )
        assert offer is not None
        offer.expires_at = now + timedelta(days=3)
        soon[borrower.id] = offer
    token, thread_id = await _broker_thread(client, session, broker, settings)
    lender = await session.get(Lender, soon[mine.id].lender_id)
    assert lender is not None

    events = await send(
        client, token, thread_id, "which of my clients have offers expiring this week"
    )
    assert _tools_called(events) == ["list_expiring_offers"]
    answer = reply_text(events)
    assert "Offers expiring in the next 7 days:" in answer
    line = (
        f"- Casey Client, {files[mine.id].reference}: {lender.name}, "
        f"{soon[mine.id].apr:.2f}% APR, ${soon[mine.id].monthly_payment:,.2f}/month"
    )
    assert line in answer
    assert answer.count("\n- ") == 1  # the other offers expire in 20 days
    assert files[theirs.id].reference not in answer

    wider = reply_text(await send(client, token, thread_id, "offers expiring in the next 30 days"))
    assert wider.count(files[mine.id].reference) > 1
    assert files[theirs.id].reference not in wider


async def test_a_broker_learns_their_commission_for_a_month_and_why(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    firm, other_firm = await create_organization(session), await create_organization(session)
    broker = await create_user(session, role=Role.BROKER, organization=firm)
    other_broker = await create_user(session, role=Role.BROKER, organization=other_firm)
    await create_rule(session, await create_admin(session))  # 0.65% upfront, all to the broker
    october = parse_period("in October", datetime.now(UTC).date())
    assert october is not None
    big = await create_loan(
        session, firm, broker=broker, amount="500000.00", funded_on=october.start
    )
    small = await create_loan(
        session, firm, broker=broker, amount="200000.00", funded_on=october.end
    )
    smaller = await create_loan(
        session, firm, broker=broker, amount="100000.00", funded_on=october.end
    )
    smallest = await create_loan(
        session, firm, broker=broker, amount="50000.00", funded_on=october.end
    )
    september = await create_loan(
        session,
        firm,
        broker=broker,
        amount="300000.00",
        funded_on=october.start - timedelta(days=1),
    )
    elsewhere = await create_loan(
        session, other_firm, broker=other_broker, amount="900000.00", funded_on=october.start
    )
    await accrual_service.accrue_pending(session)
    token, thread_id = await _broker_thread(client, session, broker, settings)
    # Pages of 3 entries, so that the biggest lines are gathered across two pages.
    monkeypatch.setattr(broker_policy, "_PAGE", 3)

    events = await send(
        client, token, thread_id, "how much commission did I earn in October and why"
    )
    assert _tools_called(events) == [
        "get_commission_summary",
        "list_commission_entries",
        "list_commission_entries",
        "explain_commission",
        "explain_commission",
        "explain_commission",
    ]
    answer = reply_text(events)
    month = f"{october.start:%B %Y}"
    # 0.65% of 500,000 + 200,000 + 100,000 + 50,000 = 3,250 + 1,300 + 650 + 325.
    assert f"You earned $5,525.00 in {month}: $5,525.00 accrued." in answer
    assert "4 ledger entries" in answer
    assert "Why, for the 3 biggest of 4 lines:" in answer
    first, second, third = (
        answer.index(f"{n}. {amount}")
        for n, amount in ((1, "$3,250.00"), (2, "$1,300.00"), (3, "$650.00"))
    )
    assert first < second < third
    assert big.reference in answer[first:second]
    assert small.reference in answer[second:third]
    assert smaller.reference in answer[third:]
    assert "Platform default" in answer
    assert "0.650000% of the funded_amount 500,000.00 = 3,250.00" in answer
    for absent in (smallest.reference, september.reference, elsewhere.reference, "$5,850.00"):
        assert absent not in answer

    nothing = reply_text(
        await send(client, token, thread_id, "what commission did I earn in 2025? last year")
    )
    assert "You have no commission" in nothing


async def test_an_unknown_request_gets_the_list_of_what_guided_mode_understands(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    broker = await create_user(
        session, role=Role.BROKER, organization=await create_organization(session)
    )
    token, thread_id = await _broker_thread(client, session, broker, settings)
    events = await send(client, token, thread_id, "what's the weather like in Paris?")
    assert _tools_called(events) == []
    assert reply_text(events) == HELP
    assert "guided mode" in HELP
