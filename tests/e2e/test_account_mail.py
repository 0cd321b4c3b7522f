"""Password reset and notification settings in a real browser against the real server: a person
asks for a reset link, finds the mail in the development mailbox (no SMTP server), opens its link,
sets a new password and signs in with it while the old one is refused; and a notification
preference ticked off on the settings page is still off after a reload."""

from __future__ import annotations

import re
import time
import uuid

import httpx
import pytest
from playwright.sync_api import expect

from lending.config import Settings
from lending.notifications import kinds
from lending.notifications.preferences import unsubscribe_url
from tests.e2e.conftest import Web

EMAIL = "rowan.reset@example.com"
OLD_PASSWORD = "amber lantern quiet river"
NEW_PASSWORD = "copper meadow steady falcon"


def _register(server_url: str) -> None:
    done = httpx.post(
        f"{server_url}/api/v1/auth/register",
        json={"email": EMAIL, "password": OLD_PASSWORD, "full_name": "Rowan Reset"},
        timeout=10,
    )
    assert done.status_code == 201, done.text


def _reset_link(server_url: str, email: str) -> str:
    """The link of the newest password-reset mail to `email` in the dev mailbox: the server's
    worker runs the request's job (which writes the mail), then the delivery into the mailbox."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        mails = httpx.get(f"{server_url}/api/v1/dev/mailbox", timeout=10).json()
        for mail in mails:
            if mail["to_address"] == email and "reset-password" in mail["text"]:
                found = re.search(r"https?://\S*/reset-password\?token=[\w-]+", mail["text"])
                assert found, mail["text"]
                return found.group(0)
        time.sleep(0.2)
    raise AssertionError(f"no password-reset mail to {email}")


def test_password_reset_by_mail_then_notification_settings_persist(web: Web) -> None:
    _register(web.server.url)
    page = web.page
    page.goto("/login")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_text("If an account uses this address")).to_be_visible()
    web.check("reset-asked")

    page.goto(_reset_link(web.server.url, EMAIL))
    expect(page.get_by_text("Choose a new password.")).to_be_visible()
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_text("Your password is changed.")).to_be_visible()
    web.check("reset-done")

    # The old password is refused; the new one signs in.
    page.get_by_role("link", name="Sign in").last.click()
    expect(page).to_have_url(re.compile(r"/login"))
    web.allow_console_error(r"status of 401")  # the refused sign-in
    web.sign_in(EMAIL, OLD_PASSWORD)
    expect(page.get_by_text("The email or password is incorrect.")).to_be_visible()
    web.sign_in(EMAIL, NEW_PASSWORD)
    expect(page).to_have_url(re.compile(r"/assistant$"))  # a borrower's landing

    # Notification settings, from the notifications page.
    page.goto("/notifications")
    page.get_by_role("link", name="Notification settings").click()
    expect(page.get_by_role("heading", name="Notification settings")).to_be_visible()
    expect(page.get_by_text("Always on by e-mail")).to_be_visible()
    email_box = page.get_by_role("checkbox", name="E-mail: An application's status changes")
    expect(email_box).to_be_checked()
    web.check("notification-settings")
    with page.expect_response(
        lambda r: r.request.method == "PATCH" and "/notifications/preferences/" in r.url
    ) as saved:
        # A click, then the state awaited: Playwright's uncheck() insists the state changes
        # within the click itself, which a refetch in flight can briefly undo.
        email_box.click()
    assert saved.value.status == 200
    expect(email_box).not_to_be_checked()

    page.reload()
    email_box = page.get_by_role("checkbox", name="E-mail: An application's status changes")
    expect(email_box).not_to_be_checked()
    expect(
        page.get_by_role("checkbox", name="In the app: An application's status changes")
    ).to_be_checked()
    assert not web.unexpected_console_errors(), web.unexpected_console_errors()


@pytest.mark.parametrize(
    ("language", "question", "button", "heading", "settings_link"),
    [
        (
            "en",
            "Stop e-mails about “An offer expires soon”?",
            "Unsubscribe",
            "Unsubscribed",
            "notification settings",
        ),
        ("zh", "停止接收关于“报价即将过期”的邮件？", "退订", "已退订", "通知设置"),
    ],
)
def test_an_unsubscribe_link_pressed_in_a_browser_shows_a_page_in_the_person_s_language(
    web: Web, language: str, question: str, button: str, heading: str, settings_link: str
) -> None:
    email = f"uma.unsubscribe.{language}@example.com"
    done = httpx.post(
        f"{web.server.url}/api/v1/auth/register",
        json={
            "email": email,
            "password": OLD_PASSWORD,
            "full_name": "Uma Unsubscribe",
            "language": language,
        },
        timeout=10,
    )
    assert done.status_code == 201, done.text
    # The link a notification mail carries, signed with the server's own development secret.
    settings = Settings(state_dir=web.server.state_dir, public_url=web.server.url, secret_key=None)
    link = unsubscribe_url(settings, uuid.UUID(done.json()["id"]), kinds.OFFER_EXPIRING)

    page = web.page
    page.goto(link)
    expect(page.get_by_text(question)).to_be_visible()
    web.check(f"unsubscribe-{language}")
    page.get_by_role("button", name=button, exact=True).click()
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    web.check(f"unsubscribed-{language}")
    page.get_by_role("link", name=settings_link).click()
    expect(page).to_have_url(re.compile(r"/login"))  # the settings page asks them to sign in

    # The mail stopped; the app still shows the kind.
    token = httpx.post(
        f"{web.server.url}/api/v1/auth/token",
        json={"email": email, "password": OLD_PASSWORD},
        timeout=10,
    )
    assert token.status_code == 200, token.text
    preferences = httpx.get(
        f"{web.server.url}/api/v1/notifications/preferences",
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        timeout=10,
    ).json()
    chosen = next(p for p in preferences if p["kind"] == kinds.OFFER_EXPIRING)
    assert (chosen["email"], chosen["in_app"]) == (False, True)
