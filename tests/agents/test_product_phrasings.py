"""Which kind of loan people mean in their own words: a labelled corpus of paraphrases
(tests/agents/data/product_phrasings.jsonl: borrower and broker voice, English and Chinese,
typos, negations), with the home-equity phrasings and the near misses that must not be home
equity ("buy a home", "home improvement"); and the broker's "she wants to borrow against her
home" carried through to the application it starts."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agents.guided.meaning import correct_typos, understand
from lending.applications.requirements import requirements
from lending.config import Settings
from lending.models.applications import Application, ProductType
from lending.models.identity import Role
from tests.agents.sse import reply_text, send
from tests.agents.test_broker_delegation import _broker_thread, _tools_called
from tests.identity.factories import create_organization, create_user
from tests.lending.factories import create_borrower, create_catalog

_CORPUS: list[dict[str, Any]] = [
    json.loads(line)
    for line in (Path(__file__).parent / "data" / "product_phrasings.jsonl")
    .read_text()
    .splitlines()
    if line.strip()
]
_PRODUCTS = [str(code) for code in requirements().product_types]


async def test_every_phrasing_in_the_corpus_is_read_as_labelled() -> None:
    wrong: list[tuple[str, str | None, str | None]] = []
    for row in _CORPUS:
        reading = await understand(row["text"], _PRODUCTS, products=True, similarity=False)
        if reading.code != row["expect"]:
            wrong.append((row["text"], row["expect"], reading.code))
    assert wrong == []


def test_the_corpus_is_varied() -> None:
    home_equity = [row for row in _CORPUS if row["expect"] == "home_equity"]
    others = [row for row in _CORPUS if row["expect"] != "home_equity"]
    assert len(home_equity) >= 30
    assert len(others) >= 30
    by_kind = Counter((row["lang"], row["voice"]) for row in home_equity)
    for kind in (("en", "borrower"), ("en", "broker"), ("zh", "borrower"), ("zh", "broker")):
        assert by_kind[kind] >= 3, kind
    # The near misses: buying a home, improving one, a car, unread requests.
    expected = Counter(row["expect"] for row in others)
    assert expected["mortgage"] >= 8
    assert expected["personal"] >= 6
    assert expected[None] >= 4
    assert len({row["text"] for row in _CORPUS}) == len(_CORPUS)


def test_a_misspelt_key_word_is_read_but_a_different_word_is_not() -> None:
    assert correct_typos("borow agianst my hosue") == "borrow against my house"
    assert correct_typos("a morgage") == "a mortgage"
    assert correct_typos("my horse and my home") == "my horse and my home"
    assert correct_typos("Homes") == "home"


async def test_a_broker_who_says_borrow_against_her_home_starts_a_home_equity_file(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await create_catalog(session)
    firm = await create_organization(session)
    broker = await create_user(session, role=Role.BROKER, organization=firm)
    jane = await create_borrower(session, settings, organization=firm, referred_by=broker)
    jane.full_name = "Jane Quill"
    token, thread_id = await _broker_thread(client, session, broker, settings)

    which = reply_text(
        await send(
            client,
            token,
            thread_id,
            "start an application for my client, she wants to borrow against her home",
        )
    )
    # The kind of loan was understood: only the client is asked for.
    assert "Which client" in which
    assert "What kind of loan" not in which
    terms = reply_text(await send(client, token, thread_id, jane.email))
    assert "How much" in terms
    events = await send(client, token, thread_id, "60k over 120 months")
    assert _tools_called(events) == ["start_application"]
    [question] = [data for kind, data in events if kind == "interrupt.requested"]
    assert "home equity loan application for $60,000.00 over 120 months" in question["summary"]
    await send(client, token, thread_id, "yes")
    started = await session.scalar(
        select(Application).where(Application.borrower_user_id == jane.id)
    )
    assert started is not None
    assert started.product_type is ProductType.HOME_EQUITY


async def test_a_chinese_broker_who_mortgages_the_house_starts_a_home_equity_file(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await create_catalog(session)
    firm = await create_organization(session)
    broker = await create_user(session, role=Role.BROKER, organization=firm)
    jane = await create_borrower(session, settings, organization=firm, referred_by=broker)
    jane.full_name = "Jane Quill"
    token, thread_id = await _broker_thread(client, session, broker, settings)

    events = await send(
        client,
        token,
        thread_id,
        f"帮我给客户 {jane.email} 开一个申请，她想用她的房子抵押借五万，120个月",
    )
    assert _tools_called(events) == ["find_client", "start_application"]
    [question] = [data for kind, data in events if kind == "interrupt.requested"]
    assert "房屋净值贷款" in question["summary"]
    await send(client, token, thread_id, "好的")
    started = await session.scalar(
        select(Application).where(Application.borrower_user_id == jane.id)
    )
    assert started is not None
    assert started.product_type is ProductType.HOME_EQUITY
    assert started.amount is not None
    assert int(started.amount) == 50000
