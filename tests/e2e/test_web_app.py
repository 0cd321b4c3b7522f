"""The web app in a real browser against the real server: sign-up and sign-in, MFA, a broker
manager's invitation used by the invitee, Chinese, a phone-sized screen, and a borrower's conversation
with the assistant (guided mode: no model is configured)."""

from __future__ import annotations

import re

import httpx
import pyotp
from playwright.sync_api import expect

from tests.e2e.conftest import DEMO_PASSWORD, Web

ACCOUNT_URL = re.compile(r"/me$")
# Where each role lands after signing in (pages/HomePage.tsx).
BORROWER_HOME = re.compile(r"/assistant$")
BROKER_HOME = re.compile(r"/pipeline$")
STAFF_HOME = re.compile(r"/staff$")


def _to_account(web: Web) -> None:
    web.page.get_by_role("link", name="My account").click()
    expect(web.page).to_have_url(ACCOUNT_URL)


def _register(server_url: str, email: str, full_name: str, password: str) -> None:
    answer = httpx.post(
        f"{server_url}/api/v1/auth/register",
        json={"email": email, "password": password, "full_name": full_name},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text


def test_borrower_signs_up_signs_out_and_signs_in(web: Web) -> None:
    page = web.page
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login$"))  # nobody signed in yet
    page.get_by_role("link", name="Create an account").click()
    expect(page.get_by_role("heading", name="Create your account")).to_be_visible()
    web.check("sign-up")

    # The form checks its fields before anything is sent.
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("This field is required.").first).to_be_visible()
    page.get_by_label("Full name").fill("Bea Borrower")
    page.get_by_label("Email").fill("bea@example.com")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("Use at least 12 characters.")).to_be_visible()
    web.check("sign-up-problems")

    page.get_by_label("Password", exact=True).fill("copper kettle mountain song")
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(BORROWER_HOME)  # a borrower lands on the assistant
    _to_account(web)
    expect(page.get_by_role("heading", name="My account")).to_be_visible()
    expect(page.get_by_text("bea@example.com")).to_be_visible()
    expect(page.get_by_text("Borrower", exact=True)).to_be_visible()
    # A borrower has no referral link and no firm settings.
    expect(page.get_by_role("heading", name="Your referral link")).to_have_count(0)
    expect(page.get_by_role("link", name="Firm settings")).to_have_count(0)
    web.check("account")

    page.reload()  # the tab keeps its session
    expect(page.get_by_text("bea@example.com")).to_be_visible()

    web.sign_out()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    page.goto("/me")
    expect(page).to_have_url(re.compile(r"/login$"))
    web.sign_in("bea@example.com", "copper kettle mountain song")
    expect(page).to_have_url(ACCOUNT_URL)  # back where the guard sent them from
    expect(page.get_by_text("bea@example.com")).to_be_visible()
    web.check("signed-in-again")


def test_borrower_turns_on_mfa_and_signs_in_with_a_recovery_code(web: Web) -> None:
    password = "quiet orchard velvet stone"
    _register(web.server.url, "mo@example.com", "Mo Multifactor", password)
    page = web.page
    page.goto("/login")
    web.sign_in("mo@example.com", password)
    expect(page).to_have_url(BORROWER_HOME)
    _to_account(web)
    page.get_by_role("link", name="Manage two-factor authentication").click()
    expect(page.get_by_role("heading", name="Status: Off")).to_be_visible()
    web.check("security-off")

    page.get_by_role("button", name="Set up two-factor authentication").click()
    expect(
        page.get_by_role("img", name="QR code to add Omnifin to an authenticator app")
    ).to_be_visible()
    secret = page.get_by_test_id("mfa-secret").inner_text()
    web.check("enrolment")
    page.get_by_label("6-digit code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()
    codes = page.get_by_role("list", name="Recovery codes").get_by_role("listitem")
    expect(codes).to_have_count(10)
    recovery_code = codes.first.inner_text()
    web.check("recovery-codes")
    page.get_by_role("button", name="Done").click()
    expect(page.get_by_role("heading", name="Status: On")).to_be_visible()

    web.sign_out()
    web.allow_console_error(r"status of 401")  # OtpRequired: how the server asks for the code
    web.sign_in("mo@example.com", password)
    otp = page.get_by_label("Authentication code")
    expect(otp).to_be_focused()
    expect(page.get_by_text("Enter the 6-digit code from your authenticator app")).to_be_visible()
    web.check("code-asked")
    otp.fill(recovery_code)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(BORROWER_HOME)
    _to_account(web)
    expect(page.get_by_text("Two-factor authentication is on.")).to_be_visible()


def test_platform_admin_signs_in_with_a_one_time_code(web: Web) -> None:
    page = web.page
    page.goto("/login")
    web.allow_console_error(r"status of 401")
    web.sign_in("admin@omnifin.demo")
    page.get_by_label("Authentication code").fill(pyotp.TOTP(web.server.admin_totp_secret).now())
    page.get_by_role("button", name="Sign in").click()
    # A platform admin lands on the way to the back office, where the admin's tools are.
    expect(page).to_have_url(STAFF_HOME)
    expect(page.get_by_role("heading", name="Welcome, Avery Admin")).to_be_visible()
    expect(page.get_by_role("link", name="Open the back office")).to_have_attribute(
        "href", "/admin/"
    )
    web.check("staff-home")
    _to_account(web)
    expect(page.get_by_text("Platform administrator")).to_be_visible()


def test_broker_manager_invites_a_borrower_who_signs_up_with_the_link(web: Web) -> None:
    page = web.page
    page.goto("/firm")
    expect(page).to_have_url(re.compile(r"/login$"))
    web.sign_in("manager@harbor.demo")
    expect(page).to_have_url(re.compile(r"/firm$"))  # where the guard sent them from
    expect(page.get_by_role("heading", name="Firm settings")).to_be_visible()
    expect(page.get_by_text("Invite brokers and borrowers to Harbor Brokers")).to_be_visible()
    people = page.get_by_role("region", name="People")
    expect(people.get_by_text("broker@harbor.demo")).to_be_visible()
    expect(page.get_by_text("Only a platform administrator can change this")).to_be_visible()
    web.check("firm-settings")

    page.get_by_label("Role").select_option("borrower")
    page.get_by_label("Email (optional)").fill("ivy@example.com")
    page.get_by_role("button", name="Create invitation").click()
    link = page.get_by_label("Invitation link").input_value()
    assert link.startswith(f"{web.server.url}/register?invitation=")
    invitations = page.get_by_role("region", name="Invitations")
    invited = invitations.get_by_role("row").filter(has_text="ivy@example.com")
    expect(invited.get_by_text("Pending")).to_be_visible()
    web.check("invitation-created")
    web.sign_out()

    page.goto(link)
    expect(page.get_by_text("You were invited.")).to_be_visible()
    web.check("sign-up-with-invitation")
    page.get_by_label("Full name").fill("Ivy Invited")
    page.get_by_label("Email").fill("ivy@example.com")
    page.get_by_label("Password", exact=True).fill("maple river lantern tide")
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(BORROWER_HOME)
    _to_account(web)
    expect(page.get_by_text("Harbor Brokers")).to_be_visible()  # joined the inviting firm
    expect(page.get_by_text("Borrower", exact=True)).to_be_visible()
    web.check("invitee-account")
    web.sign_out()

    web.sign_in("manager@harbor.demo")
    page.get_by_role("link", name="Firm settings").click()
    expect(invited.get_by_text("Used")).to_be_visible()
    ivy = people.get_by_role("row").filter(has_text="ivy@example.com")
    expect(ivy).to_be_visible()
    ivy.get_by_role("button", name="Deactivate Ivy Invited").click()
    expect(ivy.get_by_text("Deactivated")).to_be_visible()
    ivy.get_by_role("button", name="Reactivate Ivy Invited").click()
    expect(ivy.get_by_text("Active", exact=True)).to_be_visible()
    web.check("invitation-used")


def test_invited_broker_sets_up_mfa_before_anything_else(web: Web) -> None:
    """Brokers must use MFA on this server: a new broker's first sign-in only reaches enrolment."""
    page = web.page
    page.goto("/login")
    web.sign_in("manager@harbor.demo")
    page.get_by_role("link", name="Firm settings").click()
    page.get_by_label("Role").select_option("broker")
    page.get_by_role("button", name="Create invitation").click()
    link = page.get_by_label("Invitation link").input_value()
    web.sign_out()

    page.goto(link)
    page.get_by_label("Full name").fill("Bo Broker")
    page.get_by_label("Email").fill("bo@example.com")
    page.get_by_label("Password", exact=True).fill("harbor night signal lamp")
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/security$"))
    expect(page.get_by_text("Your organization requires two-factor authentication")).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link")).to_have_text(["Security"])  # nothing else until enrolled
    web.check("enrolment-required")
    page.goto("/me")
    expect(page).to_have_url(re.compile(r"/security$"))

    page.get_by_role("button", name="Set up two-factor authentication").click()
    secret = page.get_by_test_id("mfa-secret").inner_text()
    page.get_by_label("6-digit code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()
    codes = page.get_by_role("list", name="Recovery codes").get_by_role("listitem")
    expect(codes).to_have_count(10)
    recovery_code = codes.nth(3).inner_text()
    expect(page.get_by_text("Sign in again with a code from your app")).to_be_visible()
    web.check("enrolled-sign-in-again")
    page.get_by_role("button", name="Sign in again").click()

    expect(page).to_have_url(re.compile(r"/login$"))
    web.allow_console_error(r"status of 401")  # OtpRequired
    web.sign_in("bo@example.com", "harbor night signal lamp")
    page.get_by_label("Authentication code").fill(recovery_code)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(BROKER_HOME)  # a broker lands on the pipeline
    _to_account(web)
    expect(page.get_by_text("Broker", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Your referral link")).to_be_visible()
    expect(page.get_by_text("Your organization requires it for your role.")).to_be_visible()


def test_switching_to_chinese(web: Web) -> None:
    page = web.page
    page.goto("/login")
    page.get_by_label("Language").select_option("zh")
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    web.check("login-zh")

    page.reload()  # the choice is remembered
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    page.get_by_label("邮箱").fill("manager@harbor.demo")
    page.get_by_label("密码", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(BROKER_HOME)  # a broker manager lands on the pipeline
    page.get_by_role("link", name="我的账户").click()
    expect(page.get_by_role("heading", name="我的账户")).to_be_visible()
    expect(page.get_by_text("经纪公司经理", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="您的推荐链接")).to_be_visible()
    expect(page.get_by_role("textbox", name="推荐链接")).to_have_value(
        re.compile(r"/register\?ref=")
    )
    web.check("account-zh")

    page.get_by_label("语言").select_option("en")
    expect(page.get_by_role("heading", name="My account")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_borrower_talks_to_the_guided_assistant(web: Web) -> None:
    # A new borrower: a fresh conversation, and no application the assistant would pick up.
    _register(web.server.url, "ada@example.com", "Ada Applicant", DEMO_PASSWORD)
    page = web.page
    page.goto("/login")
    web.sign_in("ada@example.com")
    expect(page).to_have_url(BORROWER_HOME)
    page.get_by_role("link", name="Assistant").click()
    expect(page.get_by_role("heading", name="Assistant")).to_be_visible()
    expect(page.get_by_text("coming with the agent issue")).to_have_count(0)
    transcript = page.get_by_role("list", name="Conversation")
    composer = page.get_by_role("textbox", name="Message")

    # Keyboard only: type, Enter sends.
    composer.fill("hi")
    composer.press("Enter")
    # The banner (a status), not the assistant's own guided-mode note in its reply.
    expect(page.get_by_role("status").filter(has_text="Guided mode:")).to_be_visible()
    expect(transcript.get_by_text("What kind of loan")).to_be_visible()
    expect(transcript).to_have_attribute("aria-busy", "false")
    web.check("assistant-guided-question")

    composer.fill("a personal loan of $8,000 over 24 months")
    composer.press("Enter")
    expect(transcript.get_by_text("I've started your application OMF-")).to_be_visible()
    expect(transcript).to_have_attribute("aria-busy", "false")
    web.check("assistant-application-started")

    # The history is read back when the page opens again.
    page.reload()
    expect(transcript.get_by_text("I've started your application OMF-")).to_be_visible()
    expect(transcript.get_by_text("a personal loan of $8,000 over 24 months")).to_be_visible()


def test_pages_fit_a_375_px_phone(phone: Web) -> None:
    page = phone.page

    def fits() -> None:
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px at 375 px"

    page.goto("/login")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    fits()
    phone.check("login-375")

    page.goto("/register")
    fits()
    phone.check("sign-up-375")

    page.goto("/login")
    phone.sign_in("manager@harbor.demo")
    expect(page).to_have_url(BROKER_HOME)
    fits()
    phone.check("pipeline-375")
    _to_account(phone)
    fits()
    phone.check("account-375")
    page.get_by_role("link", name="Firm settings").click()
    expect(
        page.get_by_role("region", name="People").get_by_text("broker@harbor.demo")
    ).to_be_visible()
    fits()
    phone.check("firm-settings-375")


def test_keyboard_reaches_the_sign_in_form_in_order(web: Web) -> None:
    page = web.page
    page.goto("/login")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    order = []
    for _ in range(4):
        page.keyboard.press("Tab")
        order.append(
            page.evaluate(
                "document.activeElement.getAttribute('name') || document.activeElement.textContent"
            )
        )
    assert order == ["email", "password", "Sign in", "Create an account"]
