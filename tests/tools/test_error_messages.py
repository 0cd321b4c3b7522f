"""Every error a tool call can show a person has a message key with English and Chinese text
(tools/error_messages.json), and guided mode says it in the conversation's language."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from agents.borrower.policy import BorrowerIntakePolicy
from agents.guided.texts import say_error
from lending.applications.service import IncompleteApplication
from lending.config import Settings
from lending.db import SessionMaker
from lending.errors import Conflict
from lending.models.applications import ProductType
from tests.lending.factories import create_application, create_borrower
from tests.tools.error_sites import error_classes, user_visible_messages
from tools.base import ToolError
from tools.messages import LANGUAGES, catalogue, identify, placeholders, render
from tools.registry import registry

from .support import context_for

_INTERNAL_NAMES = {"tool", "role"}
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _instance(template: str) -> str:
    """A message the template can produce: each computed part filled with a distinct value."""
    number = 0
    while "{}" in template:
        number += 1
        template = template.replace("{}", f"value{number}", 1)
    return template.replace("{{", "{").replace("}}", "}")


def test_english_and_chinese_have_the_same_keys_and_placeholders() -> None:
    texts = catalogue()
    assert set(texts) == set(LANGUAGES)
    assert set(texts["en"]) == set(texts["zh"])
    for key, english in texts["en"].items():
        chinese = texts["zh"][key]
        assert english.strip(), key
        assert chinese.strip(), key
        assert _CJK.search(chinese), f"{key} is not Chinese: {chinese!r}"
        # Chinese may leave out only internal names (a tool's, a role's), never a value.
        assert placeholders(chinese) <= placeholders(english), key
        assert placeholders(english) - placeholders(chinese) <= _INTERNAL_NAMES, key


def test_every_error_a_tool_can_show_has_a_key() -> None:
    found = user_visible_messages()
    assert len(found) > 100  # the reader still finds the raise sites
    missing: list[str] = []
    for where, kind, template in found:
        if template.strip("{}") == "":
            continue  # a message wholly computed elsewhere, where its parts are read
        message = _instance(template)
        identified = identify(message)
        if identified is None or (kind == "field") != identified.key.startswith("field."):
            missing.append(f"{where}: {template!r}")
            continue
        # The key and its values say the very same English text again.
        assert render(identified.key, identified.params, "en") == message.strip(), where
    assert missing == []


def test_every_error_class_default_message_has_a_key() -> None:
    assert len(error_classes()) >= 15
    for cls in error_classes():
        assert identify(cls.message) is not None, cls


def test_the_key_travels_with_the_error() -> None:
    error = ToolError.from_service(Conflict("This offer has expired."))
    assert error.payload()["key"] == "offer.expired"
    # A message no template knows still has its kind's key.
    assert ToolError("NotFound", "Gone fishing.").key == "error.not_found"


def test_chinese_puts_known_words_into_chinese() -> None:
    application = ToolError.from_service(
        Conflict(
            {
                "message": "A submitted application cannot be changed; only a draft or a "
                "referred one can.",
                "status": "submitted",
            }
        )
    )
    assert say_error(application.payload(), "zh") == (
        "“已提交”状态的申请不能修改；只有草稿或待补充的申请可以修改。"
    )
    assert say_error(application.payload(), "en") == application.message
    incomplete = ToolError.from_service(
        IncompleteApplication(
            {
                "message": "To match lenders these are still needed: Date of birth, Annual income.",
                "missing_fields": [
                    {"name": "date_of_birth", "label": "Date of birth"},
                    {"name": "annual_income", "label": "Annual income"},
                ],
            }
        )
    )
    said = say_error(incomplete.payload(), "zh")
    assert said.startswith("要匹配贷款机构，还需要：")
    assert "Date of birth" not in said
    assert "Annual income" not in said


async def test_a_real_refusal_reads_in_chinese(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    borrower = await create_borrower(session, settings)
    context = context_for(borrower, sessionmaker, settings)
    with pytest.raises(ToolError) as raised:
        await registry.execute("get_application", {"application_id": str(uuid.uuid4())}, context)
    assert say_error(raised.value.payload(), "zh") == "找不到该申请。"
    assert say_error(raised.value.payload(), "en") == "No such application."


async def test_field_problems_are_listed_in_chinese(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    borrower = await create_borrower(session, settings)
    context = context_for(borrower, sessionmaker, settings)
    # Bad arguments (pydantic) and a slot the service refuses, each field by field.
    with pytest.raises(ToolError) as bad_amount:
        await registry.execute(
            "start_application", {"product_type": "personal", "amount": "2500.125"}, context
        )
    said = say_error(bad_amount.value.payload(), "zh")
    assert said.startswith("提供的信息无效："), said
    assert "金额" in said, said
    assert "Input should" not in said
    assert "arguments" not in said
    application = await create_application(
        session, borrower, product_type=ProductType.AUTO, purpose=None
    )
    await session.commit()
    with pytest.raises(ToolError) as bad_slot:
        await registry.execute(
            "update_application",
            {"application_id": str(application.id), "slots": {"vehicle_year": "old"}},
            context,
        )
    said = say_error(bad_slot.value.payload(), "zh")
    assert "必须是整数" in said, said
    assert not re.search(r"[a-z]{4,}", said.replace("vehicle_year", "")), said


def test_a_lenders_english_reason_is_not_quoted_in_chinese() -> None:
    policy = BorrowerIntakePolicy()
    pricing = {"reasons": [{"code": "pricing", "message": "Acme cannot be priced: early."}]}
    unknown = {"reasons": [{"code": "something_new", "message": "Acme needs a blue moon."}]}

    def said(excluded: list[dict[str, Any]], lang: str) -> str:
        return policy._no_offers(
            {"excluded": excluded, "inputs": {"amount": "5000"}},
            {"lang": lang, "product_type": "personal"},
        )

    assert "贷款机构无法按这些条件给出定价" in said([pricing], "zh")
    assert "priced" not in said([pricing], "zh")
    assert "the lenders can't price a loan on these terms" in said([pricing], "en")
    assert "您的信息不符合这些贷款机构的条件" in said([unknown], "zh")
    assert "blue moon" not in said([unknown], "zh")
    assert "Acme needs a blue moon." in said([unknown], "en")
