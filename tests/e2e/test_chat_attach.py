"""A file attached in the chat composer: uploaded (the borrower's one open application is its
home), shown in the person's message, and found among the application's documents."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.sync_api import expect

from evals.synthetic_documents import generate
from lending.documents.types import DocumentType
from tests.e2e.conftest import DEMO_PASSWORD, Web


def test_borrower_attaches_a_pay_stub_in_the_chat(web: Web, tmp_path: Path) -> None:
    email = "cass@example.com"
    registered = httpx.post(
        f"{web.server.url}/api/v1/auth/register",
        json={"email": email, "password": DEMO_PASSWORD, "full_name": "Cass Chat"},
        timeout=10,
    )
    assert registered.status_code == 201, registered.text
    page = web.page
    page.goto("/login")
    web.sign_in(email)
    expect(page).to_have_url(re.compile(r"/assistant$"))  # a borrower's landing
    page.get_by_role("link", name="Assistant").click()
    transcript = page.get_by_role("list", name="Conversation")
    composer = page.get_by_role("textbox", name="Message")
    for message in ("hi", "a personal loan of $8,000 over 24 months"):
        composer.fill(message)
        composer.press("Enter")
        expect(transcript).to_have_attribute("aria-busy", "true")
        expect(transcript).to_have_attribute("aria-busy", "false", timeout=30_000)
    expect(transcript.get_by_text("I've started your application OMF-")).to_be_visible()

    pay_stub = tmp_path / "my-paystub.pdf"
    pay_stub.write_bytes(generate(DocumentType.PAY_STUB, seed=3).data)
    page.get_by_label("Attach a file").set_input_files(pay_stub)
    expect(page.get_by_role("button", name="Remove my-paystub.pdf")).to_be_visible()
    web.check("file-attached")
    composer.fill("here is my pay stub")
    composer.press("Enter")
    user_message = transcript.locator(".bubble--user").filter(has_text="here is my pay stub")
    expect(user_message.get_by_text("my-paystub.pdf")).to_be_visible(timeout=30_000)
    expect(transcript).to_have_attribute("aria-busy", "false", timeout=30_000)
    web.check("file-sent")

    # The file is on the application, uploaded by the borrower.
    token = httpx.post(
        f"{web.server.url}/api/v1/auth/token",
        json={"email": email, "password": DEMO_PASSWORD},
        timeout=10,
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    applications = httpx.get(
        f"{web.server.url}/api/v1/applications", headers=headers, timeout=10
    ).json()["items"]
    assert len(applications) == 1
    documents = httpx.get(
        f"{web.server.url}/api/v1/applications/{applications[0]['id']}/documents",
        headers=headers,
        timeout=10,
    ).json()["documents"]
    assert [document["filename"] for document in documents] == ["my-paystub.pdf"]
