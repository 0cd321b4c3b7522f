"""The notification tools: "anything new?" reads the person's own unread notifications in their
language and marks those it told; a broker's document reminder reaches only their own client,
names the missing document, notifies and mails the borrower, and is limited per client."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.db import SessionMaker
from lending.models.identity import Role
from lending.models.notifications import Notification
from lending.notifications import kinds
from tests.identity.factories import create_organization, create_user
from tests.notifications.world import build
from tests.tools.support import context_for
from tools.base import ToolError
from tools.messages import render
from tools.registry import registry


async def test_anything_new_reads_and_marks_only_one_s_own(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    world = await build(session, settings)
    await session.commit()
    borrower = context_for(world.borrower, sessionmaker, settings)
    news = (await registry.execute("check_my_notifications", {}, borrower)).model_dump()
    messages = [item["message"] for item in news["items"]]
    assert any(m.endswith(f"approved application {world.reference}.") for m in messages)
    assert any("sent 1 offer(s)" in m for m in messages)
    assert news["still_unread"] == 0
    again = (await registry.execute("check_my_notifications", {}, borrower)).model_dump()
    assert again["items"] == []
    # The broker's own copies are untouched by the borrower's reading.
    broker = context_for(world.broker, sessionmaker, settings)
    theirs = (await registry.execute("check_my_notifications", {}, broker)).model_dump()
    assert len(theirs["items"]) == len(news["items"])


async def test_anything_new_in_chinese(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    world = await build(session, settings)
    world.borrower.language = "zh"
    await session.commit()
    context = context_for(world.borrower, sessionmaker, settings)
    news = (await registry.execute("check_my_notifications", {}, context)).model_dump()
    assert any("已批准" in item["message"] for item in news["items"])


async def test_a_broker_reminds_their_own_client_once_a_day(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    world = await build(session, settings)
    other_broker = await create_user(
        session, role=Role.BROKER, organization=await create_organization(session)
    )
    await session.commit()
    broker = context_for(world.broker, sessionmaker, settings)
    arguments = {"application_id": str(world.application_id), "document": "pay_stub"}
    with pytest.raises(ToolError) as stranger:
        await registry.execute(
            "remind_client_about_documents",
            arguments,
            context_for(other_broker, sessionmaker, settings),
        )
    assert stranger.value.status == 404
    with pytest.raises(ToolError) as not_missing:
        await registry.execute(
            "remind_client_about_documents",
            {**arguments, "document": "bank_statement"},  # a personal loan does not need one
            broker,
        )
    assert not_missing.value.status == 409
    done = (await registry.execute("remind_client_about_documents", arguments, broker)).model_dump()
    assert done == {
        "reference": world.reference,
        "reminded_about": ["Recent proof of income (pay stub or W-2)"],
        "reminded_about_zh": ["近期收入证明（工资单或W-2）"],
        "sent": True,
    }
    async with sessionmaker() as check:
        [row] = (
            await check.scalars(
                select(Notification).where(
                    Notification.user_id == world.borrower.id,
                    Notification.kind == kinds.DOCUMENT_REMINDER,
                )
            )
        ).all()
    assert (row.in_app, row.email_status) == (True, "pending")
    with pytest.raises(ToolError) as again:
        await registry.execute("remind_client_about_documents", arguments, broker)
    assert again.value.status == 429
    assert "近期已经提醒过" not in render(again.value.key, {}, "zh")  # a key of its own
    assert render(again.value.key, {}, "zh") == "最近已经提醒过这位客户，请稍后再试。"


async def test_a_borrower_is_not_offered_the_reminder(
    session: AsyncSession, sessionmaker: SessionMaker, settings: Settings
) -> None:
    world = await build(session, settings)
    await session.commit()
    context = context_for(world.borrower, sessionmaker, settings)
    offered = {item.name for item in registry.for_actor(context.actor)}
    assert "check_my_notifications" in offered
    assert "remind_client_about_documents" not in offered
    with pytest.raises(ToolError) as refused:
        await registry.execute(
            "remind_client_about_documents",
            {"application_id": str(world.application_id)},
            context,
        )
    assert refused.value.status == 403
