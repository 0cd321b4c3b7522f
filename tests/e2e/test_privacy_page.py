"""The "Your data" page in a real browser against the real server: a borrower downloads their
data (a ZIP holding their account), reads what an erasure deletes and keeps, is stopped until
they confirm, asks for it, and sees it waiting for review; the page in Chinese too."""

from __future__ import annotations

import re
import zipfile

import httpx
import orjson
from playwright.sync_api import expect

from tests.e2e.conftest import DEMO_PASSWORD, Web


def test_a_borrower_downloads_their_data_and_asks_for_erasure(web: Web) -> None:
    answer = httpx.post(
        f"{web.server.url}/api/v1/auth/register",
        json={"email": "noor@example.com", "password": DEMO_PASSWORD, "full_name": "Noor Privat"},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    page = web.page
    page.goto("/login")
    web.sign_in("noor@example.com")
    expect(page).to_have_url(re.compile(r"/assistant$"))  # a borrower lands on the assistant
    page.get_by_role("link", name="Your data").click()
    expect(page).to_have_url(re.compile(r"/privacy$"))
    expect(page.get_by_role("heading", name="Your data", level=1)).to_be_visible()
    expect(page.get_by_text("You have not asked for an erasure.")).to_be_visible()
    web.check("your-data")

    with page.expect_download() as started:
        page.get_by_role("button", name="Download my data").click()
    download = started.value
    assert re.fullmatch(r"omnifin-data-\d{8}-[0-9a-f]{8}\.zip", download.suggested_filename)
    with zipfile.ZipFile(download.path()) as archive:
        account = orjson.loads(archive.read("data/user_account.json"))
        assert "README.txt" in archive.namelist()
    assert account[0]["email"] == "noor@example.com"
    assert "password_hash" not in account[0]
    expect(page.get_by_text("Your download has started")).to_be_visible()

    # What is kept, and why, is said before anything is asked.
    expect(page.get_by_text(re.compile(r"lending law \(ECOA"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"encryption key is destroyed"))).to_be_visible()
    page.get_by_label("Why do you want your data erased?").fill("I no longer need a loan")
    page.get_by_role("button", name="Ask for erasure").click()
    expect(page.get_by_text("Tick this box to confirm you understand.")).to_be_visible()
    web.check("erasure-unconfirmed")
    page.get_by_role("checkbox", name=re.compile("cannot be undone")).check()
    page.get_by_role("button", name="Ask for erasure").click()
    expect(
        page.get_by_text("Your erasure request is waiting for an administrator's review.")
    ).to_be_visible()
    expect(page.get_by_text("Waiting for review")).to_be_visible()
    expect(page.get_by_role("button", name="Ask for erasure")).to_have_count(0)
    web.check("erasure-pending")

    page.reload()  # the status comes from the server
    expect(page.get_by_text("Waiting for review")).to_be_visible()
    page.get_by_label("Language").select_option("zh")
    expect(page.get_by_role("heading", name="我的数据", level=1)).to_be_visible()
    expect(page.get_by_text("等待审核")).to_be_visible()
    web.check("your-data-zh")
