"""The scheduled notifications: written once per person and event, however often and however
many workers run the scan, and carried out by a real worker end to end (scan, notification,
mail job, outbox, SMTP on loopback)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

import lending.mail.tasks  # noqa: F401 - registers the tasks, as the worker does
import lending.notifications.tasks  # noqa: F401
import lending.reminders.tasks  # noqa: F401
from api.worker import TASK_MODULES
from lending.config import Settings
from lending.db import create_sessionmaker, transaction
from lending.jobs import enqueue
from lending.models.applications import Application
from lending.models.identity import User
from lending.models.mail import MailMessage
from lending.models.notifications import Notification
from lending.notifications import kinds
from lending.notifications.service import notification_service
from lending.reminders.service import reminder_service
from lending.reminders.tasks import SCAN_TASK
from tests.identity.factories import actor_of
from tests.mail.smtp import MailWorker, body_text
from tests.notifications.world import World, build


async def _kinds_of(session: AsyncSession, user: User) -> list[str]:
    rows = await session.scalars(
        select(Notification.kind).where(Notification.user_id == user.id).order_by(Notification.kind)
    )
    return list(rows)


def test_the_worker_runs_the_scan_and_the_mail_job() -> None:
    assert {"lending.notifications.tasks", "lending.reminders.tasks"} <= set(TASK_MODULES)


async def test_a_second_scan_tells_nobody_twice(session: AsyncSession, settings: Settings) -> None:
    world = await build(session, settings)
    first = await reminder_service.run_scheduled(session, settings=settings)
    # The offer expires in two days: the borrower and the broker hear of it; the personal loan
    # still misses both its documents (identity, income), five days after it was started.
    assert first.offers_expiring == 2
    assert first.documents_missing == 4
    again = await reminder_service.run_scheduled(session, settings=settings)
    assert again.total == 0
    borrower_kinds = await _kinds_of(session, world.borrower)
    assert borrower_kinds.count(kinds.OFFER_EXPIRING) == 1
    assert borrower_kinds.count(kinds.DOCUMENT_MISSING) == 2
    # The lender's decision and its offers were told when they arrived, once each.
    assert borrower_kinds.count(kinds.LENDER_DECISION) == 1
    assert borrower_kinds.count(kinds.OFFERS_ARRIVED) == 1
    news = await notification_service.list_own(session, actor_of(world.borrower))
    messages = [item.message for item in news.items]
    assert any(
        m.startswith("The offer from ") and world.reference in m and "expires on" in m
        for m in messages
    )
    assert (
        f"Application {world.reference} still needs: Recent proof of income (pay stub or W-2)."
        in " ".join(messages)
    )


async def test_nothing_is_due_before_its_time(session: AsyncSession, settings: Settings) -> None:
    world = await build(session, settings, days_ago=1)
    far = settings.model_copy(update={"notify_offer_expiring_days": 1})
    run = await reminder_service.run_scheduled(session, settings=far)
    assert run.offers_expiring == 0  # two days away, told one day before
    assert run.documents_missing == 0  # started a day ago, told after three
    assert kinds.DOCUMENT_MISSING not in await _kinds_of(session, world.borrower)


async def test_a_chinese_reader_reads_chinese(session: AsyncSession, settings: Settings) -> None:
    world = await build(session, settings)
    world.borrower.language = "zh"
    await session.flush()
    await reminder_service.run_scheduled(session, settings=settings)
    news = await notification_service.list_own(session, actor_of(world.borrower))
    messages = " ".join(item.message for item in news.items)
    assert f"申请 {world.reference} 仍需要：近期收入证明（工资单或W-2）" in messages
    assert "过期" in messages
    assert "已批准" in messages  # the lender's decision, in words of the reader's language


async def test_essential_and_chosen_channels(session: AsyncSession, settings: Settings) -> None:
    world = await build(session, settings)
    # The broker turned the in-app list of missing documents off; the e-mail stays.
    from lending.notifications.preferences import preference_service
    from lending.notifications.schemas import PreferenceUpdate

    await preference_service.update_own(
        session,
        actor_of(world.broker),
        kind=kinds.DOCUMENT_MISSING,
        data=PreferenceUpdate(in_app=False),
    )
    await reminder_service.run_scheduled(session, settings=settings)
    rows = (
        await session.scalars(
            select(Notification).where(
                Notification.user_id == world.broker.id,
                Notification.kind == kinds.DOCUMENT_MISSING,
            )
        )
    ).all()
    assert len(rows) == 2
    assert {(row.in_app, row.email_status) for row in rows} == {(False, "pending")}
    shown = await notification_service.list_own(session, actor_of(world.broker))
    assert kinds.DOCUMENT_MISSING not in {item.kind for item in shown.items}


async def _committed_world(engine: AsyncEngine, settings: Settings) -> World:
    sessionmaker = create_sessionmaker(engine)
    async with transaction(sessionmaker) as session:
        world = await build(session, settings)
    return world


async def _forget(engine: AsyncEngine, world: World) -> None:
    application_id = world.application_id
    people = [world.borrower.id, world.broker.id]
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "DELETE FROM procrastinate_jobs WHERE args->>'notification_id' IN "
                "(SELECT CAST(id AS text) FROM notification WHERE user_id = ANY(:people)) "
                "OR args->>'message_id' IN "
                "(SELECT CAST(id AS text) FROM mail_message WHERE user_id = ANY(:people)) "
                "OR task_name IN (:scan, 'lenders.submit_application')"
            ),
            {"people": people, "scan": SCAN_TASK},
        )
        await connection.execute(delete(Notification).where(Notification.user_id.in_(people)))
        await connection.execute(delete(MailMessage).where(MailMessage.user_id.in_(people)))
        await connection.execute(delete(Application).where(Application.id == application_id))


async def test_two_workers_scanning_at_once_tell_each_person_once(
    engine: AsyncEngine, settings: Settings
) -> None:
    world = await _committed_world(engine, settings)
    sessionmaker = create_sessionmaker(engine)
    try:

        async def scan() -> int:
            async with transaction(sessionmaker) as session:
                return (await reminder_service.run_scheduled(session, settings=settings)).total

        totals = await asyncio.gather(scan(), scan(), scan())
        async with sessionmaker() as session:
            keys = (
                await session.execute(
                    select(Notification.user_id, Notification.event_key, func.count())
                    .where(
                        Notification.user_id.in_([world.borrower.id, world.broker.id]),
                        Notification.event_key.is_not(None),
                    )
                    .group_by(Notification.user_id, Notification.event_key)
                )
            ).all()
        assert {count for _, _, count in keys} == {1}
        scheduled = [
            key
            for _, key, _ in keys
            if key and key.startswith(("offer.expiring", "document.missing"))
        ]
        assert len(scheduled) == 6  # 2 people x (1 offer + 2 documents)
        assert sum(totals) >= 6  # every event was written by exactly one of the three
    finally:
        await _forget(engine, world)


async def test_a_real_worker_scans_and_mails_with_an_unsubscribe_header(
    engine: AsyncEngine, settings: Settings, mail_worker: MailWorker
) -> None:
    world = await _committed_world(engine, settings)
    sessionmaker = create_sessionmaker(engine)
    try:
        async with transaction(sessionmaker) as session:
            await enqueue(
                session,
                SCAN_TASK,
                args={"timestamp": int(datetime.now(UTC).timestamp())},
                queue_name="maintenance",
            )
        inbox = await mail_worker(["maintenance", "mail"])
        borrower = world.borrower
        to_borrower = [m for m in inbox.messages if m["To"] == borrower.email]
        subjects = sorted(str(m["Subject"]) for m in to_borrower)
        assert any("expires soon" in s for s in subjects), subjects
        assert sum("still missing" in s for s in subjects) == 2, subjects
        expiring = next(m for m in to_borrower if "expires soon" in str(m["Subject"]))
        assert expiring["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        url = str(expiring["List-Unsubscribe"]).strip("<>")
        assert "/api/v1/notifications/unsubscribe?token=" in url
        assert url in body_text(expiring)
    finally:
        await _forget(engine, world)
