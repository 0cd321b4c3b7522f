"""The web app tells the chat API which language the person uses (`language` on a run): guided
mode answers in it when the conversation has none yet or when the person switches it in the app,
so a Chinese-speaking person who types "1" or "yes" is answered in Chinese; a request in words
still switches, and lasts until the app's setting changes."""

from __future__ import annotations

import re

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.models.identity import Role
from tests.agents.sse import borrower_with_token, parse_sse, reply_text, send
from tests.agents.test_broker_delegation import _broker_thread, _tools_called
from tests.identity.factories import bearer, create_organization, create_user
from tests.lending.factories import create_borrower, create_catalog

_CJK = re.compile(r"[\u4e00-\u9fff]")


def _chinese(text: str) -> bool:
    return len(_CJK.findall(text)) >= 6


def _english(text: str) -> bool:
    return bool(text) and not _CJK.search(text)


async def _thread(client: httpx.AsyncClient, token: str) -> str:
    created = await client.post("/api/v1/chat/threads", json={}, headers=bearer(token))
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def test_guided_mode_follows_the_apps_language_setting(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    _, token = await borrower_with_token(session, settings)
    thread_id = await _thread(client, token)

    # English words, a Chinese app: the thread starts in Chinese.
    first = reply_text(await send(client, token, thread_id, "hi", language="zh"))
    assert _chinese(first)
    assert "您好" in first
    # A number says nothing about a language: still Chinese.
    assert _chinese(reply_text(await send(client, token, thread_id, "3", language="zh")))
    # A request in words wins over the setting, and lasts while the setting does not change.
    switched = reply_text(await send(client, token, thread_id, "in English please", language="zh"))
    assert switched.startswith("I'll continue in English.")
    assert _english(reply_text(await send(client, token, thread_id, "25k", language="zh")))
    # The person switches the app to Chinese again (after English): Chinese from this message.
    await send(client, token, thread_id, "60 months", language="en")
    again = reply_text(await send(client, token, thread_id, "yes", language="zh"))
    assert _chinese(again)
    # And to English.
    assert _english(reply_text(await send(client, token, thread_id, "2", language="en")))


async def test_without_a_setting_the_first_message_decides_and_a_bad_one_is_refused(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    _, token = await borrower_with_token(session, settings)
    thread_id = await _thread(client, token)
    assert _english(reply_text(await send(client, token, thread_id, "hi")))
    assert _english(reply_text(await send(client, token, thread_id, "1")))
    # Someone writing Chinese is answered in Chinese even when the app says English.
    assert _chinese(reply_text(await send(client, token, thread_id, "我想借两万", language="en")))

    refused = await client.post(
        f"/api/v1/chat/threads/{thread_id}/runs",
        json={"message": "hi", "language": "fr"},
        headers=bearer(token),
    )
    assert refused.status_code == 422


async def test_a_brokers_approval_question_and_reply_follow_the_setting(
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
        f"start an application for my client {jane.email}, $25k auto, 60 months",
        language="zh",
    )
    assert _tools_called(events) == ["find_client", "start_application"]
    [question] = [data for kind, data in events if kind == "interrupt.requested"]
    assert question["summary"].startswith("我将代表")
    # Answered with the button, as the web app does: the rest of the turn is in Chinese too.
    response = await client.post(
        f"/api/v1/chat/threads/{thread_id}/approvals/{question['approval_id']}",
        json={"approved": True},
        headers=bearer(token),
    )
    assert response.status_code == 200, response.text
    started = reply_text(parse_sse(response.text))
    assert started.startswith("我已为Jane Quill创建申请 OMF-")
    listed = reply_text(
        await send(client, token, thread_id, "list my clients' applications", language="zh")
    )
    assert listed.startswith("您客户的申请：")
    listed = reply_text(
        await send(client, token, thread_id, "list my clients' applications", language="en")
    )
    assert listed.startswith("Your clients' applications:")
