"""Answers people give before they are asked, in guided mode: a lone amount while the name is
asked is checked, not guessed ("Is $18,000.00 the amount you'd like to borrow?"), and only a
clear yes takes it; a duration is never taken as a Chinese name; two-character family names
are kept whole."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agents.guided.slots import chinese_amounts, extract, lone_amount, name_answer
from lending.applications.profile import borrower_profile_service
from lending.config import Settings
from lending.identity.actor import Actor
from lending.models.applications import Application
from lending.models.identity import Role
from tests.agents.sse import reply_text, send
from tests.identity.factories import actor_of, bearer, create_user, issue_token
from tests.lending.factories import create_catalog


async def _conversation(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> tuple[Actor, str, str]:
    await create_catalog(session)
    borrower = await create_user(session, role=Role.BORROWER, full_name="Jane Doe")
    token = await issue_token(session, borrower, settings=settings)
    actor = actor_of(borrower)
    await session.commit()
    created = await client.post("/api/v1/chat/threads", json={}, headers=bearer(token))
    assert created.status_code == 201, created.text
    return actor, token, created.json()["id"]


async def _amount(session: AsyncSession, borrower: Actor) -> Decimal | None:
    session.expire_all()  # the chat wrote in its own transactions
    application = await session.scalar(
        select(Application).where(Application.borrower_user_id == borrower.user_id)
    )
    assert application is not None
    return application.amount


@pytest.mark.parametrize(
    ("opening", "volunteered", "answer", "taken"),
    [
        ("I need money to buy a used car", "around 18 grand", "yes", Decimal("18000.00")),
        ("I need money to buy a used car", "18k", "yeah, that's right", Decimal("18000.00")),
        ("a personal loan for my wedding", "$15,000", "no, that's my income", None),
        ("a personal loan for my wedding", "$15,000", "not sure yet", None),
        ("a personal loan for my wedding", "15000?", "maybe", None),
        ("我想贷款买一辆二手车", "大概八万块", "是的", Decimal("80000.00")),
        ("我想贷款买一辆二手车", "大概八万块", "不是", None),
    ],
)
async def test_a_lone_amount_is_checked_and_only_a_clear_yes_takes_it(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    opening: str,
    volunteered: str,
    answer: str,
    taken: Decimal | None,
) -> None:
    borrower, token, thread_id = await _conversation(client, session, settings)
    await send(client, token, thread_id, opening)
    events = await send(client, token, thread_id, volunteered)
    assert [kind for kind, _ in events if kind == "tool.started"] == []
    check = reply_text(events)
    assert "amount you'd like to borrow" in check or "是您想借的金额吗" in check, check
    assert await _amount(session, borrower) is None
    reply = reply_text(await send(client, token, thread_id, answer))
    assert await _amount(session, borrower) == taken
    # Either way the question asked before is put again.
    assert "full legal name" in reply or "法定全名" in reply, reply


async def test_a_duration_is_not_taken_as_a_chinese_name(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    borrower, token, thread_id = await _conversation(client, session, settings)
    await send(client, token, thread_id, "我想贷款买一辆二手车")
    reply = reply_text(await send(client, token, thread_id, "三年"))
    assert "法定全名" in reply  # still asked
    actor = borrower
    profile = await borrower_profile_service.get(session, actor)
    assert profile.legal_last_name is None
    reply = reply_text(await send(client, token, thread_id, "欧阳娜娜"))
    assert "欧阳娜娜" in reply
    session.expire_all()
    profile = await borrower_profile_service.get(session, actor)
    assert (profile.legal_last_name, profile.legal_first_name) == ("欧阳", "娜娜")


@pytest.mark.parametrize(
    "text", ["三年", "五年", "八万块", "三十岁", "是的", "不知道", "好的", "谢谢", "三月", "两年半"]
)
def test_everyday_chinese_answers_are_not_names(text: str) -> None:
    assert name_answer(text) is None


@pytest.mark.parametrize(
    ("text", "last", "first"),
    [
        ("王芳", "王", "芳"),
        ("李明月", "李", "明月"),
        ("万芳", "万", "芳"),
        ("司马光", "司马", "光"),
    ],
)
def test_chinese_names(text: str, last: str, first: str) -> None:
    assert name_answer(text) == {"legal_first_name": first, "legal_last_name": last}


@pytest.mark.parametrize(
    "text", ["I earn 90k", "I owe about 12,000 across 3 cards", "5 years", "2019", "15k and 20k"]
)
def test_an_amount_with_other_words_is_not_lone(text: str) -> None:
    assert lone_amount(text) is None


PERSONAL = (
    "full_name",
    "date_of_birth",
    "home_address",
    "phone",
    "ssn",
    "employment_status",
    "annual_income",
    "monthly_housing_payment",
    "monthly_debt_payments",
    "estimated_credit_score",
    "purpose",
    "amount",
    "term_months",
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "lives at 9 Pine Rd, Seattle WA 98101, phone 206 555 0199",
            {"home_address": ("9 Pine Rd", "Seattle", "WA", "98101"), "phone": "+12065550199"},
        ),
        ("9 Pine Rd Seattle WA 98101", {"home_address": ("9 Pine Rd", "Seattle", "WA", "98101")}),
        (
            "100 Main Street Springfield, IL 62701",
            {"home_address": ("100 Main Street", "Springfield", "IL", "62701")},
        ),
        ("mortgage 2100 monthly", {"monthly_housing_payment": "2100.00"}),
        ("I pay 2100 monthly in rent", {"monthly_housing_payment": "2100.00"}),
        ("no other debts", {"monthly_debt_payments": "0.00"}),
        ("I don't have any debts", {"monthly_debt_payments": "0.00"}),
        ("debt-free!", {"monthly_debt_payments": "0.00"}),
        ("我没有其他负债", {"monthly_debt_payments": "0.00"}),
        (
            "no other loans, my car payment is 300 a month",
            {"monthly_debt_payments": "300.00"},
        ),
        ("self-employed, about 6k per month", {"annual_income": "72000.00"}),
    ],
)
def test_volunteered_answers_land_in_their_fields(text: str, expected: dict[str, Any]) -> None:
    values = extract(text, fields=PERSONAL, asked=["ssn"]).values
    for field, wanted in expected.items():
        got = values.get(field)
        assert got is not None, (text, field, values)
        if field == "home_address":
            parts = (got["address_line1"], got["city"], got["state"], got["postal_code"])
            assert parts == wanted
        else:
            assert got[field] == wanted, (text, field, got)


@pytest.mark.parametrize(
    "text", ["I want a mortgage for 300k", "5 Main Rd, Paris, ZZ 12345", "my rent is due monthly"]
)
def test_what_is_not_a_housing_payment_or_an_address(text: str) -> None:
    values = extract(text, fields=PERSONAL, asked=["ssn"]).values
    assert "monthly_housing_payment" not in values
    assert "home_address" not in values


async def test_no_other_debts_is_not_the_purpose_other(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    borrower, token, thread_id = await _conversation(client, session, settings)
    await send(client, token, thread_id, "a personal loan for my wedding, 8k over 2 years")
    reply = reply_text(
        await send(client, token, thread_id, "mortgage 2100 monthly, no other debts")
    )
    # First given, so "Got it", not "Changed"; and the purpose stays the wedding.
    assert reply.startswith("Got it: monthly housing payment $2,100.00 a month"), reply
    assert "purpose" not in reply
    session.expire_all()
    application = await session.scalar(
        select(Application).where(Application.borrower_user_id == borrower.user_id)
    )
    assert application is not None
    assert application.purpose == "wedding"


@pytest.mark.parametrize(
    "text",
    [
        "I own my home outright, no mortgage",
        "no rent, I live with my parents",
        "our house is paid off",
        "我没有房贷",
        "房子是自己的，不用交房租",
    ],
)
def test_no_housing_payment_is_zero(text: str) -> None:
    values = extract(text, fields=PERSONAL, asked=["ssn"]).values
    assert values.get("monthly_housing_payment") == {"monthly_housing_payment": "0.00"}, values


@pytest.mark.parametrize(
    "text", ["I want a mortgage", "my rent is 1500 a month", "I rent an apartment downtown"]
)
def test_housing_is_not_zero_without_saying_so(text: str) -> None:
    values = extract(text, fields=PERSONAL, asked=["ssn"]).values
    assert values.get("monthly_housing_payment") != {"monthly_housing_payment": "0.00"}


OFFERS_SCRIPT = (
    "I want to borrow 10000 for a wedding over 3 years",
    "Sam Rivera, born 07/14/1990",
    "42 Oak Street, Denver, CO 80202, cell 303-555-0142",
    "123-45-6789",
    "I work full time and make 85k a year",
    "rent 1500, car payment 300 a month",
    "about 720",
    "ok fine, yes I consent",
)


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("which one is the cheapest?", "The lowest APR is option 1"),
        ("which has the lowest monthly payment?", "The lowest monthly payment is option 1"),
        ("what's the APR of the second one?", "Here are your offers"),
        ("哪个最便宜？", "年利率（APR）最低的是第 1 个"),
    ],
)
async def test_a_question_about_the_offers_is_answered_not_taken_as_a_choice(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    question: str,
    answer: str,
) -> None:
    _, token, thread_id = await _conversation(client, session, settings)
    for text in OFFERS_SCRIPT:
        events = await send(client, token, thread_id, text)
    assert "Here are your offers" in reply_text(events)
    events = await send(client, token, thread_id, question)
    assert [data for kind, data in events if kind == "interrupt.requested"] == []
    assert [data for kind, data in events if kind == "tool.started"] == []
    assert answer in reply_text(events), reply_text(events)
    # The choice is still open, and made as before: it waits for approval.
    events = await send(client, token, thread_id, "I'll go with the first one")
    [pending] = [data for kind, data in events if kind == "interrupt.requested"]
    assert pending["tool"] == "submit_application"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("五百", "500"),
        ("七百二", "720"),  # the everyday shortening: a digit after a unit is one place lower
        ("一千五", "1500"),
        ("两万五", "25000"),
        ("三万二千五", "32500"),
        ("七百二十", "720"),
        ("一千零五十", "1050"),
        ("一万零五百", "10500"),
        ("九十九", "99"),
        ("十二万", "120000"),
        ("一百二十万", "1200000"),
        ("9万6千", "96000"),
        ("2.5万", "25000"),
        ("每月还信用卡五百", "每月还信用卡500"),
        ("信用分大概七百二", "信用分大概720"),
        # Words, not amounts: digits without a unit, a unit alone.
        ("买一辆二手车", "买一辆二手车"),
        ("十分感谢", "十分感谢"),
        ("第十个", "第十个"),
        ("三年半", "三年半"),
    ],
)
def test_chinese_numerals_become_digits(text: str, expected: str) -> None:
    assert chinese_amounts(text) == expected


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        ("每月还信用卡五百", "monthly_debt_payments", {"monthly_debt_payments": "500.00"}),
        ("信用分大概七百二", "estimated_credit_score", {"estimated_credit_score": 720}),
        ("房租每月一千五", "monthly_housing_payment", {"monthly_housing_payment": "1500.00"}),
    ],
)
def test_chinese_answers_land_in_their_fields(text: str, field: str, value: Any) -> None:
    assert extract(text, fields=PERSONAL, asked=[field]).values.get(field) == value
