"""Guided mode understands people: options by meaning over a corpus of phrasings, several answers
in one message, corrections, questions answered from the knowledge base mid-intake, a person on
request (recorded), no dead end when nothing qualifies, consent only on a clear yes, Chinese."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agents.guided import meaning
from agents.guided.slots import extract
from lending.applications.requirements import requirements
from lending.config import Settings
from lending.models.applications import Application
from lending.models.audit import AuditEvent
from lending.models.identity import Role, User
from tests.agents.sse import reply_text, seed_some_knowledge, send
from tests.identity.factories import bearer, create_user, issue_token
from tests.lending.factories import create_borrower, create_catalog

CORPUS = json.loads((Path(__file__).parent / "data" / "option_phrasings.json").read_text())
MENUS = {
    "products": (tuple(requirements().product_types), True),
    "auto_purposes": (requirements().product_types["auto"].purposes, False),  # type: ignore[index]
    "personal_purposes": (requirements().product_types["personal"].purposes, False),  # type: ignore[index]
    "employment": (
        ("employed", "self_employed", "retired", "unemployed", "student", "other"),
        False,
    ),
    "occupancy": (requirements().fields["occupancy"].choices, False),
    "degree": (requirements().fields["highest_degree"].choices, False),
}
_CJK = re.compile(r"[\u4e00-\u9fff]")


async def _read_corpus(similarity: bool) -> tuple[int, int, list[str]]:
    understood, total, wrong = 0, 0, []
    for menu, phrasings in CORPUS.items():
        if menu.startswith("_"):
            continue
        codes, products = MENUS[menu]
        for text, expected in phrasings:
            reading = await meaning.understand(
                text, codes, products=products, similarity=similarity
            )
            total += 1
            if reading.code is not None and reading.code != expected:
                wrong.append(f"{menu}: {text!r} read as {reading.code}, meant {expected}")
            understood += reading.code == expected and expected is not None
    return understood, total, wrong


async def test_options_are_understood_by_meaning_and_never_misread() -> None:
    understood, total, wrong = await _read_corpus(similarity=True)
    answers = sum(1 for m, p in CORPUS.items() if not m.startswith("_") for _, e in p if e)
    assert wrong == []
    assert understood >= 0.95 * answers, (understood, answers)


async def test_without_the_embedder_the_words_still_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(meaning, "similarity_enabled", False)
    understood, _, wrong = await _read_corpus(similarity=True)
    assert wrong == []
    assert understood >= 80  # only the few readings that need similarity are lost


# Loan purposes the way people say them (red-team corpus): by words alone, each read as its
# purpose or as nothing (asked again), never as another; a purpose named only to be ruled out
# ("not for a wedding, for medical bills") is not chosen.
PURPOSES: list[dict[str, Any]] = [
    json.loads(line)
    for line in (Path(__file__).parent / "data" / "purpose_phrasings.jsonl")
    .read_text(encoding="utf-8")
    .splitlines()
    if line
]


async def test_purposes_said_in_everyday_words_are_read_as_labelled() -> None:
    assert len(PURPOSES) >= 60
    assert sum(row["expect"] is None for row in PURPOSES) >= 8
    assert sum(row["lang"] == "zh" for row in PURPOSES) >= 12
    wrong = []
    for row in PURPOSES:
        codes = requirements().product_types[row["product"]].purposes
        reading = await meaning.understand(row["text"], codes, similarity=False)
        if reading.code != row["expect"]:
            wrong.append((row["text"], row["expect"], reading.code))
    assert wrong == []


async def test_unclear_answers_become_a_question_not_a_guess() -> None:
    auto = requirements().product_types["auto"].purposes  # type: ignore[index]
    reading = await meaning.understand("buying a car", auto)
    assert reading.code is None
    assert set(reading.suggestions) <= {"new_vehicle_purchase", "used_vehicle_purchase"}
    assert reading.suggestions
    assert (await meaning.understand("banana", auto)).code is None
    assert meaning.pick_by_position("第二个", 4) == 1
    assert meaning.pick_by_position("I'll take the last one", 4) == 3
    assert meaning.pick_by_position("laid off last month", 6) is None
    assert meaning.pick_by_position("I have two cars", 4) is None


def test_one_message_fills_several_fields_and_corrections_win() -> None:
    fields = requirements().product_types["personal"].required  # type: ignore[index]
    dana = extract(
        "I'm Dana Whitfield, born 12 April 1988, I earn 96k and rent for 1,450", fields=fields
    )
    assert dana.values == {
        "full_name": {"legal_first_name": "Dana", "legal_last_name": "Whitfield"},
        "date_of_birth": {"date_of_birth": "1988-04-12"},
        "annual_income": {"annual_income": "96000.00"},
        "monthly_housing_payment": {"monthly_housing_payment": "1450.00"},
    }
    fixed = extract("my income is 90k, not 96k", fields=fields)
    assert fixed.correction
    assert fixed.values == {"annual_income": {"annual_income": "90000.00"}}
    assert extract("actually make it 20k", fields=fields).values == {
        "amount": {"amount": "20000.00"}
    }
    zh = extract("我叫王小明，年薪12万，房租每月3000", fields=fields).values
    assert zh["annual_income"] == {"annual_income": "120000.00"}
    assert zh["full_name"] == {"legal_first_name": "小明", "legal_last_name": "王"}
    # An amount nobody can place is left alone.
    assert extract("I saw 3 houses for 400k", fields=fields).values == {}


async def _borrower_thread(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, *, complete: bool
) -> tuple[User, str, str]:
    await create_catalog(session)
    if complete:
        borrower = await create_borrower(session, settings)
    else:
        borrower = await create_user(session, role=Role.BORROWER, full_name="New Person")
    token = await issue_token(session, borrower, settings=settings)
    await session.commit()
    created = await client.post("/api/v1/chat/threads", json={}, headers=bearer(token))
    assert created.status_code == 201, created.text
    return borrower, token, created.json()["id"]


async def _application(session: AsyncSession, borrower: User) -> Application:
    application = await session.scalar(
        select(Application).where(Application.borrower_user_id == borrower.id)
    )
    assert application is not None
    await session.refresh(application)
    return application


async def test_a_used_car_and_debt_consolidation_are_understood(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    borrower, token, thread = await _borrower_thread(client, session, settings, complete=True)
    asked = reply_text(await send(client, token, thread, "I want a car loan, 25k over 5 years"))
    assert "What is the loan for?" in asked
    assert "used vehicle purchase" in asked
    reply = reply_text(await send(client, token, thread, "to buy a used car"))
    assert "Sorry" not in reply
    assert "used vehicle purchase" in reply  # confirmed back
    application = await _application(session, borrower)
    assert application.purpose == "used_vehicle_purchase"
    assert application.amount == 25000
    assert application.term_months == 60

    _, token2, thread2 = await _borrower_thread(client, session, settings, complete=True)
    await send(client, token2, thread2, "a personal loan of $12,000 over 36 months")
    reply = reply_text(await send(client, token2, thread2, "debt consolidation"))
    assert "debt consolidation" in reply.lower()
    assert "Sorry" not in reply


async def test_questions_are_answered_from_the_knowledge_base_then_the_intake_resumes(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    # Needs pgvector's HNSW index to accept inserts: on a CPU the embedded server's build does
    # not support, Postgres dies with SIGILL here (as in tests/knowledge).
    await seed_some_knowledge(session, settings)
    _, token, thread = await _borrower_thread(client, session, settings, complete=False)
    await send(client, token, thread, "a personal loan please")
    apr = reply_text(
        await send(
            client, token, thread, "what is an APR and how is it different from the interest rate?"
        )
    )
    assert "(Source: " in apr
    assert "APR" in apr
    assert "Back to your application:" in apr
    assert "full legal name" in apr
    early = reply_text(await send(client, token, thread, "can I pay off early without a penalty?"))
    assert "(Source: " in early
    assert "prepayment" in early.lower()
    why = reply_text(await send(client, token, thread, "why do you need this?"))
    assert why.startswith("Why I ask for Full legal name")
    assert "(Source: " in why
    zh = reply_text(await send(client, token, thread, "软查询会影响我的信用分吗？"))
    assert "来源" in zh


async def test_no_answer_is_said_plainly_and_a_person_is_one_sentence_away(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    borrower, token, thread = await _borrower_thread(client, session, settings, complete=False)
    await send(client, token, thread, "hi")
    await send(client, token, thread, "a personal loan please")
    unknown = reply_text(await send(client, token, thread, "what's the weather like in Paris?"))
    assert "don't have an answer" in unknown
    assert "talk to a person" in unknown
    assert "full legal name" in unknown  # and the intake goes on where it was
    human = reply_text(await send(client, token, thread, "I'd rather talk to a human"))
    assert "recorded that you'd like to talk to a person" in human
    assert "What kind of loan" not in human
    application = await _application(session, borrower)
    events = (
        await session.scalars(
            select(AuditEvent).where(AuditEvent.action == "assistant.handoff_requested")
        )
    ).all()
    assert [str(e.subject_id) for e in events] == [str(application.id)]
    assert events[0].details["thread_id"] == thread
    # None of it was read as an answer: the name is still what is asked.
    still = reply_text(await send(client, token, thread, "what do you still need?"))
    assert "Still needed: Full legal name" in still


async def test_several_answers_corrections_and_going_back(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    borrower, token, thread = await _borrower_thread(client, session, settings, complete=False)
    await send(client, token, thread, "I need a $15,000 personal loan over 36 months for a wedding")
    took = reply_text(
        await send(
            client,
            token,
            thread,
            "I'm Dana Whitfield, born 12 April 1988, I earn 96k and rent for 1,450",
        )
    )
    assert "Got it: name Dana Whitfield, date of birth noted" in took
    assert "$96,000.00 a year" in took
    assert "$1,450.00 a month" in took
    assert "home address" in took
    assert "full legal name" not in took
    changed = reply_text(await send(client, token, thread, "my income is 90k, not 96k"))
    assert "Changed: gross annual income $90,000.00 a year" in changed
    amount = reply_text(await send(client, token, thread, "actually make it 20k"))
    assert "Changed: loan amount $20,000.00" in amount
    back = reply_text(await send(client, token, thread, "go back"))
    assert "full legal name" in back.lower() or "date of birth" in back.lower()
    application = await _application(session, borrower)
    assert application.amount == 20000
    assert application.purpose == "wedding"
    profile = await session.get(User, borrower.id)
    assert profile is not None


async def test_no_dead_end_when_nothing_qualifies(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    borrower, token, thread = await _borrower_thread(client, session, settings, complete=True)
    await send(client, token, thread, "a personal loan of $200,000 over 36 months")
    await send(client, token, thread, "medical bills")
    consent = reply_text(await send(client, token, thread, "maybe, what does it involve?"))
    assert "Do you agree?" in consent
    refused = reply_text(await send(client, token, thread, "no"))
    assert "haven't recorded any consent" in refused
    assert "talk to a person" in refused
    none = reply_text(await send(client, token, thread, "yes"))
    assert "No lender could make an offer" in none
    assert "above every lender's maximum" in none
    assert "a smaller amount, up to $50,000.00" in none
    assert "broker" in none
    later = [reply_text(await send(client, token, thread, text)) for text in ("hmm", "ok?", "so?")]
    assert none not in later
    assert len(set(later)) == len(later)
    offers = reply_text(await send(client, token, thread, "make it 20k"))
    assert "Changed: loan amount $20,000.00" in offers
    assert "Here are your offers" in offers
    application = await _application(session, borrower)
    assert application.amount == 20000


async def test_a_whole_conversation_in_chinese_and_switching_language(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    borrower, token, thread = await _borrower_thread(client, session, settings, complete=True)
    first = reply_text(await send(client, token, thread, "你好，我想贷款买车"))
    assert "贷款用途" in first or "这笔贷款用来做什么" in first
    assert "购买二手车" in first
    assert not re.search(r"\b(What|Sorry|loan)\b", first)
    picked = reply_text(await send(client, token, thread, "第二个"))
    assert "购买二手车" in picked
    assert _CJK.search(picked)
    assert not re.search(r"\b(What|How|Sorry)\b", picked)
    application = await _application(session, borrower)
    assert application.purpose == "used_vehicle_purchase"
    english = reply_text(await send(client, token, thread, "in English please"))
    assert "I'll continue in English." in english
    assert not _CJK.search(english)
    chinese = reply_text(await send(client, token, thread, "说中文"))
    assert "中文" in chinese


def _tools(events: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [data["tool"] for kind, data in events if kind == "tool.started"]


def test_an_address_is_never_read_inside_a_vault_token_nor_its_zip_as_a_value() -> None:
    fields = list(requirements().fields)
    told = extract(
        "Dana Whitfield, born [DOB-1], 44 Elm St, Springfield, IL 62704, (415) 555-0134",
        fields=fields,
        asked=["full_name", "date_of_birth", "home_address", "phone"],
        purposes=(),
    )
    assert told.values["home_address"]["address_line1"] == "44 Elm St"
    assert "address_line2" not in told.values["home_address"]
    property_only = extract(
        "7 Hill St, San Jose, CA 95112",
        fields=fields,
        asked=["property_address", "property_value"],
        purposes=(),
    )
    assert property_only.values["property_address"]["slots"]["property_address"]["city"] == (
        "San Jose"
    )
    assert "property_value" not in property_only.values  # 95112 is the ZIP code
