"""The back office's erasure queue in a real browser (axe on each page): an administrator who
filed an erasure for a borrower is shown that another must review it, and a second administrator
reads what approving it deletes and keeps, then approves it."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import DEMO_PASSWORD, Web, previous_step_code
from tests.e2e.test_back_office import StaffLogin, _invited_admin, _nav, _post, _sign_in


def test_an_erasure_is_filed_by_one_administrator_and_approved_by_another(web: Web) -> None:
    url = web.server.url
    token = _post(
        url,
        "/api/v1/auth/token",
        {
            "email": "admin@omnifin.demo",
            "password": DEMO_PASSWORD,
            "otp": previous_step_code(web.server.admin_totp_secret),
        },
    )
    assert token.status_code == 200, token.text
    maker: StaffLogin = _invited_admin(
        url, token.json()["access_token"], "erasure-maker@omnifin.demo"
    )
    checker = _invited_admin(url, token.json()["access_token"], "erasure-checker@omnifin.demo")
    registered = _post(
        url,
        "/api/v1/auth/register",
        {"email": "gone@example.com", "password": DEMO_PASSWORD, "full_name": "Gwen Gone"},
    )
    assert registered.status_code == 201, registered.text
    maker_token = _post(
        url,
        "/api/v1/auth/token",
        {"email": maker.email, "password": maker.password, "otp": maker.next_code()},
    )
    filed = _post(
        url,
        "/api/v1/privacy/erasure-requests",
        {"user_id": registered.json()["id"], "reason": "The borrower asked by letter"},
        maker_token.json()["access_token"],
    )
    assert filed.status_code == 201, filed.text

    page = web.page
    _sign_in(web, maker)
    _nav(web, "Privacy")
    expect(page.get_by_role("heading", name="Erasure requests")).to_be_visible()
    web.check("privacy-queue")
    page.locator("#results").get_by_role("row", name=re.compile("Gwen Gone")).get_by_role(
        "link"
    ).click()
    expect(page.get_by_text("another administrator must review it")).to_be_visible()
    expect(page.get_by_role("button", name="Approve and erase")).to_have_count(0)
    web.check("privacy-request-own")

    page.context.clear_cookies()
    _sign_in(web, checker)
    _nav(web, "Privacy")
    page.locator("#results").get_by_role("row", name=re.compile("Gwen Gone")).get_by_role(
        "link"
    ).click()
    expect(page.get_by_role("heading", name="What approving it does")).to_be_visible()
    expect(page.get_by_role("cell", name="user account")).to_be_visible()
    web.check("privacy-request-plan")
    page.get_by_label("Note (optional)").fill("No legal hold")
    page.get_by_role("button", name="Approve and erase").click()
    expect(page.get_by_role("status").first).to_contain_text("data was erased")
    expect(page.get_by_role("heading", name="What was done")).to_be_visible()
    expect(
        page.get_by_role("heading", name=re.compile(r"Erasure request: erased-"))
    ).to_be_visible()
    web.check("privacy-request-done")
