"""Per-kind preferences over REST, essential mail that stays on, and the signed one-click
unsubscribe link (RFC 8058) that needs no sign-in and changes nothing else."""

from __future__ import annotations

import html
import re
import string

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.mail.delivery import build_message
from lending.mail.service import open_sealed
from lending.models.audit import AuditEvent
from lending.models.identity import Role
from lending.models.mail import MailMessage
from lending.models.notifications import Notification, NotificationPreference
from lending.notifications import kinds
from lending.notifications.preferences import unsubscribe_token, unsubscribe_url
from lending.notifications.service import mail_notification, notification_service
from tests.identity.factories import bearer, create_user, issue_token


async def test_the_preferences_list_the_person_s_kinds_and_essential_mail_stays_on(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    borrower = await create_user(session)
    broker = await create_user(session, role=Role.BROKER)
    tokens = {u.id: await issue_token(session, u, settings=settings) for u in (borrower, broker)}
    await session.commit()

    listed = await client.get(
        "/api/v1/notifications/preferences", headers=bearer(tokens[borrower.id])
    )
    assert listed.status_code == 200
    items = {item["kind"]: item for item in listed.json()}
    assert items[kinds.ESSENTIAL] == {
        "kind": kinds.ESSENTIAL,
        "label": items[kinds.ESSENTIAL]["label"],
        "email": True,
        "in_app": False,
        "essential": True,
    }
    assert kinds.OFFER_EXPIRING in items
    assert kinds.COMMISSION_PAID not in items  # a borrower earns no commission
    broker_kinds = {
        item["kind"]
        for item in (
            await client.get("/api/v1/notifications/preferences", headers=bearer(tokens[broker.id]))
        ).json()
    }
    assert {kinds.COMMISSION_ACCRUED, kinds.COMMISSION_PAID} <= broker_kinds

    refused = await client.patch(
        f"/api/v1/notifications/preferences/{kinds.ESSENTIAL}",
        json={"email": False},
        headers=bearer(tokens[borrower.id]),
    )
    assert refused.status_code == 422
    unknown = await client.patch(
        f"/api/v1/notifications/preferences/{kinds.COMMISSION_PAID}",
        json={"email": False},
        headers=bearer(tokens[borrower.id]),
    )
    assert unknown.status_code == 404
    changed = await client.patch(
        f"/api/v1/notifications/preferences/{kinds.OFFER_EXPIRING}",
        json={"email": False},
        headers=bearer(tokens[borrower.id]),
    )
    assert changed.status_code == 200
    assert (changed.json()["email"], changed.json()["in_app"]) == (False, True)
    again = {
        item["kind"]: item
        for item in (
            await client.get(
                "/api/v1/notifications/preferences", headers=bearer(tokens[borrower.id])
            )
        ).json()
    }
    assert (again[kinds.OFFER_EXPIRING]["email"], again[kinds.OFFER_EXPIRING]["in_app"]) == (
        False,
        True,
    )
    assert again[kinds.OFFERS_ARRIVED]["email"] is True  # the others keep their defaults


async def test_a_mailed_notification_carries_a_one_click_unsubscribe_that_needs_no_sign_in(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    borrower = await create_user(session)
    borrower_id = borrower.id
    [notification_id] = await notification_service.notify(
        session,
        [borrower.id],
        kind=kinds.DOCUMENT_MISSING,
        data={"reference": "APP-1", "requirement": "income", "label_en": "Proof of income"},
    )
    assert await mail_notification(session, settings=settings, notification_id=notification_id)
    # A retried job queues nothing more.
    assert not await mail_notification(session, settings=settings, notification_id=notification_id)
    [message] = (
        await session.scalars(select(MailMessage).where(MailMessage.user_id == borrower.id))
    ).all()
    content = open_sealed(settings, message)
    assert "Application APP-1 still needs: Proof of income." in content.text
    email = build_message(settings, borrower.email, content)
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = str(email["List-Unsubscribe"]).strip("<>")
    assert url in content.text
    assert url.replace("&", "&amp;") in content.html
    await session.commit()

    path = url.removeprefix(settings.public_url.rstrip("/"))
    page = await client.get(path)
    assert page.status_code == 200
    assert 'method="post"' in page.text
    assert await session.get(NotificationPreference, (borrower.id, kinds.DOCUMENT_MISSING)) is None

    forged = unsubscribe_token(settings, borrower.id, kinds.DOCUMENT_MISSING)[:-2] + "xx"
    bad = await client.post(
        "/api/v1/notifications/unsubscribe",
        params={"token": forged},
        data={"List-Unsubscribe": "One-Click"},
    )
    assert bad.status_code == 422
    done = await client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    assert done.headers["content-type"] == "application/json"
    assert done.json() == {"kind": kinds.DOCUMENT_MISSING, "email": False}
    twice = await client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert twice.status_code == 200
    session.expire_all()
    chosen = await session.get(NotificationPreference, (borrower_id, kinds.DOCUMENT_MISSING))
    assert chosen is not None
    assert (chosen.email, chosen.in_app) == (False, True)
    # The next one is shown in the app and not mailed.
    [later] = await notification_service.notify(
        session,
        [borrower_id],
        kind=kinds.DOCUMENT_MISSING,
        data={"reference": "APP-1", "requirement": "income", "label_en": "Proof of income"},
    )
    row = await session.get(Notification, later)
    assert row is not None
    assert (row.in_app, row.email_status) == (True, None)


async def test_essential_mail_has_no_unsubscribe(session: AsyncSession, settings: Settings) -> None:
    from lending.mail.service import mail_service

    user = await create_user(session)
    message = await mail_service.queue(
        session,
        settings=settings,
        to_address=user.email,
        kind="password_reset",
        language="en",
        context={"name": "R", "link": "http://x.test/r?token=t", "minutes": 30},
        user_id=user.id,
    )
    email = build_message(settings, user.email, open_sealed(settings, message))
    assert email["List-Unsubscribe"] is None


def test_every_kind_has_words_and_labels_in_both_languages() -> None:
    from lending.notifications.preferences import label_of

    for name, kind in kinds.KINDS.items():
        assert set(kind.subject) == set(kind.message) == {"en", "zh"}, name
        for texts in (kind.subject, kind.message):
            fields = [
                {field for _, field, _, _ in string.Formatter().parse(texts[lang]) if field}
                for lang in ("en", "zh")
            ]
            assert fields[0] == fields[1], name
        assert label_of(name, "en") != name
        assert label_of(name, "zh") != name
        assert label_of(name, "zh") != label_of(name, "en")


async def _unsubscribe_page(
    client: httpx.AsyncClient, settings: Settings, url: str, *, asks: str = ""
) -> str:
    """Open the link as a browser does (the page says `asks`) and press the page's button: the
    form's own action and fields, posted as the browser would."""
    page = await client.get(url.removeprefix(settings.public_url.rstrip("/")))
    assert page.status_code == 200
    assert asks in page.text
    form = re.search(r'<form method="post" action="([^"]+)">(.*?)</form>', page.text, re.S)
    assert form is not None, page.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]+)">', form[2]))
    assert "List-Unsubscribe" not in fields  # the page is not a mail client's one-click
    return await _press(client, html.unescape(form[1]), fields)


async def _press(client: httpx.AsyncClient, action: str, fields: dict[str, str]) -> str:
    pressed = await client.post(action, data=fields, headers={"Accept": "text/html"})
    assert pressed.headers["content-type"].startswith("text/html"), pressed.text
    assert pressed.status_code == 200, pressed.text
    return pressed.text


@pytest.mark.parametrize(
    ("language", "asks", "says", "label", "settings_link"),
    [
        (
            "en",
            "Stop e-mails about “An offer expires soon”?",
            "You are unsubscribed",
            "An offer expires soon",
            "notification settings",
        ),
        ("zh", "停止接收关于“报价即将过期”的邮件？", "您已退订", "报价即将过期", "通知设置"),
    ],
)
async def test_the_page_s_button_answers_a_person_with_a_page_in_their_language(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    language: str,
    asks: str,
    says: str,
    label: str,
    settings_link: str,
) -> None:
    borrower = await create_user(session)
    borrower.language = language
    borrower_id = borrower.id
    await session.commit()
    url = unsubscribe_url(settings, borrower_id, kinds.OFFER_EXPIRING)

    text = await _unsubscribe_page(client, settings, url, asks=asks)
    assert f'<html lang="{"zh-CN" if language == "zh" else "en"}">' in text
    assert says in text
    assert label in text  # which mail stopped
    preferences = f"{settings.public_url.rstrip('/')}/notifications/preferences"
    assert f'<a href="{preferences}">{settings_link}</a>' in text  # how to undo it
    session.expire_all()
    chosen = await session.get(NotificationPreference, (borrower_id, kinds.OFFER_EXPIRING))
    assert chosen is not None
    assert (chosen.email, chosen.in_app) == (False, True)
    audited = await session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(
            AuditEvent.action == "notification.unsubscribed",
            AuditEvent.subject_id == str(borrower_id),
        )
    )
    assert audited == 1


async def test_a_forged_link_pressed_on_the_page_shows_a_page_and_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    borrower = await create_user(session)
    borrower_id = borrower.id
    await session.commit()
    forged = unsubscribe_token(settings, borrower_id, kinds.OFFER_EXPIRING)[:-2] + "xx"
    answer = await client.post(
        "/api/v1/notifications/unsubscribe", params={"token": forged}, data={"source": "page"}
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")
    assert "not valid" in answer.text
    opened = await client.get("/api/v1/notifications/unsubscribe", params={"token": forged})
    assert opened.status_code == 200  # a page for a person, which offers no button
    assert "not valid" in opened.text
    assert "<form" not in opened.text
    assert await session.get(NotificationPreference, (borrower_id, kinds.OFFER_EXPIRING)) is None
