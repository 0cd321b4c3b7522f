"""A new guided conversation continues the borrower's draft instead of starting a second
application (through the chat API, with the real tools and database): a broker starts a draft
for their client, and the client's new conversations, opened in several ways in English and
Chinese, pick it up; another kind of loan, or "a new application", starts a new one; with no
draft nothing changes but one lookup."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agents.guided.texts import field_question, menu, say_text
from lending.applications.requirements import requirements
from lending.config import Settings
from lending.models.applications import (
    Application,
    ApplicationStatus,
    BorrowerProfile,
    ProductType,
)
from lending.models.identity import Role, User
from tests.agents.sse import reply_text, send
from tests.identity.factories import bearer, create_organization, create_user, issue_token
from tests.lending.factories import create_application, create_borrower, create_catalog

_PRODUCT_QUESTION = "What kind of loan are you looking for?"


def _tools(events: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [data["tool"] for kind, data in events if kind == "tool.started"]


async def _thread(client: httpx.AsyncClient, token: str, graph: str) -> str:
    created = await client.post("/api/v1/chat/threads", json={}, headers=bearer(token))
    assert created.status_code == 201, created.text
    assert created.json()["graph"] == graph
    thread_id: str = created.json()["id"]
    return thread_id


async def _applications(session: AsyncSession, borrower: User) -> list[Application]:
    found = await session.scalars(
        select(Application)
        .where(Application.borrower_user_id == borrower.id)
        .order_by(Application.created_at)
        .execution_options(populate_existing=True)
    )
    return list(found)


async def test_a_new_conversation_continues_the_draft_a_broker_started(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await create_catalog(session)
    firm = await create_organization(session)
    broker = await create_user(session, role=Role.BROKER, organization=firm)
    borrower = await create_borrower(session, settings, organization=firm, referred_by=broker)
    broker_token = await issue_token(session, broker, settings=settings)
    token = await issue_token(session, borrower, settings=settings)
    await session.commit()

    # The broker starts an auto loan for the client in their own conversation.
    broker_thread = await _thread(client, broker_token, "broker")
    await send(
        client,
        broker_token,
        broker_thread,
        f"start an application for my client {borrower.email}, $25k auto, 60 months",
    )
    await send(client, broker_token, broker_thread, "yes")
    [draft] = await _applications(session, borrower)
    assert draft.product_type is ProductType.AUTO
    reference = draft.reference
    en_found = (
        f"Your broker started a draft auto loan application for you, {reference}; "
        "let's continue it."
    )
    zh_found = f"您的经纪人已为您创建了一份汽车贷款草稿申请 {reference}，我们继续填写。"

    # Openings that pick the draft up: one lookup, no second application, its next question.
    openings = [
        ("hi", en_found),
        ("I'd like to finish my loan application", en_found),
        ("Can I continue my application?", en_found),
        ("I want to finish my auto loan application", en_found),
        ("我想继续申请", zh_found),
        ("你好", zh_found),
    ]
    for opening, found in openings:
        events = await send(client, token, await _thread(client, token, "borrower"), opening)
        reply = reply_text(events)
        assert _tools(events) == ["list_applications"], (opening, _tools(events))
        assert found in reply, (opening, reply)
        assert _PRODUCT_QUESTION not in reply
        assert "您想申请哪种贷款" not in reply
        # The draft's next question follows the news (the broker gave no purpose, vehicle or
        # personal detail), never the kind of loan again.
        question = field_question("purpose", "zh" if found == zh_found else "en")
        assert reply.index(question) > reply.index(found), (opening, reply)
        assert len(await _applications(session, borrower)) == 1

    # A field answer as the opening is taken onto the draft, then the next question.
    events = await send(
        client,
        token,
        await _thread(client, token, "borrower"),
        "hi, I'd like to finish my application: my annual income is $85,000",
    )
    reply = reply_text(events)
    assert _tools(events) == ["list_applications", "update_borrower_profile"], _tools(events)
    assert en_found in reply
    assert "Got it: gross annual income $85,000.00 a year." in reply
    profile = await session.scalar(
        select(BorrowerProfile).where(BorrowerProfile.user_id == borrower.id)
    )
    assert profile is not None
    assert profile.annual_income == 85000
    assert len(await _applications(session, borrower)) == 1

    # "A new application" starts fresh, as before: no lookup, the kind of loan is asked.
    for opening in ("I want to start a new application", "我想开始一份新申请"):
        events = await send(client, token, await _thread(client, token, "borrower"), opening)
        assert _tools(events) == [], opening
        assert reference not in reply_text(events)
        assert _PRODUCT_QUESTION in reply_text(events) or "您想申请哪种贷款" in reply_text(events)

    # Another kind of loan starts it; the draft is mentioned and left as it is.
    events = await send(
        client, token, await _thread(client, token, "borrower"), "I want a mortgage"
    )
    reply = reply_text(events)
    assert _tools(events)[:2] == ["list_applications", "start_application"], _tools(events)
    assert f"(Your draft auto loan application {reference} stays as it is.)" in reply
    first, second = await _applications(session, borrower)
    assert first.id == draft.id
    assert first.product_type is ProductType.AUTO
    assert second.product_type is ProductType.MORTGAGE
    assert f"I've started your application {second.reference}." in reply

    # Two drafts now: listed, with a way to choose one or start a new one.
    thread = await _thread(client, token, "borrower")
    events = await send(client, token, thread, "hello")
    reply = reply_text(events)
    assert _tools(events) == ["list_applications"]
    assert "You have 2 draft applications:" in reply
    assert reference in reply
    assert second.reference in reply
    assert 'or say "new" to start a new application' in reply
    listed = reply.splitlines()
    number = next(line for line in listed if reference in line).split(".")[0]
    events = await send(client, token, thread, number)
    reply = reply_text(events)
    assert en_found in reply
    assert "list_applications" not in _tools(events)
    assert "What is the loan for?" in reply

    thread = await _thread(client, token, "borrower")
    events = await send(client, token, thread, "你好")
    assert "您有 2 份草稿申请" in reply_text(events)
    events = await send(client, token, thread, "新申请")
    assert "您想申请哪种贷款" in reply_text(events)
    assert _tools(events) == []

    # A draft of the kind asked for is the one continued when there are several.
    events = await send(
        client, token, await _thread(client, token, "borrower"), "我想继续我的汽车贷款申请"
    )
    assert zh_found in reply_text(events)
    assert len(await _applications(session, borrower)) == 2


async def test_a_borrower_is_told_of_their_own_draft_and_without_one_nothing_changes(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await create_catalog(session)
    own = await create_user(session, role=Role.BORROWER)
    await create_application(session, own, product_type=ProductType.PERSONAL)
    without = await create_user(session, role=Role.BORROWER)
    submitted = await create_user(session, role=Role.BORROWER)
    done = await create_application(session, submitted)
    await session.execute(
        update(Application)
        .where(Application.id == done.id)
        .values(status=ApplicationStatus.SUBMITTED)
    )
    tokens = {
        user.id: await issue_token(session, user, settings=settings)
        for user in (own, without, submitted)
    }
    await session.commit()

    events = await send(
        client, tokens[own.id], await _thread(client, tokens[own.id], "borrower"), "hi"
    )
    reply = reply_text(events)
    [mine] = await _applications(session, own)
    assert f"You have a draft personal loan application, {mine.reference}; let's continue it." in (
        reply
    )
    assert "broker" not in reply

    # No draft (none at all, or only a submitted application): the same first reply as ever,
    # after one lookup; the application is then started as before.
    products = [product.value for product in requirements().product_types]
    greeting = (
        say_text("greeting", "en")
        + " "
        + say_text("guided_note", "en")
        + " "
        + say_text("which_product", "en")
        + " "
        + menu(products, "en", product=True)
    )
    for user in (without, submitted):
        token = tokens[user.id]
        thread = await _thread(client, token, "borrower")
        events = await send(client, token, thread, "hi")
        assert _tools(events) == ["list_applications"]
        assert reply_text(events) == greeting
        events = await send(client, token, thread, "a personal loan of $15,000 over 36 months")
        assert _tools(events)[0] == "start_application"
        # Later messages never look again.
        events = await send(client, token, thread, "hi again")
        assert "list_applications" not in _tools(events)
    count = await session.scalar(
        select(func.count())
        .select_from(Application)
        .where(Application.borrower_user_id.in_([without.id, submitted.id]))
    )
    assert count == 3
