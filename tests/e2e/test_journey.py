"""The whole loan in a real browser against the real server in guided mode (no model), with the
job worker and the lender simulator running: a borrower signs up with a broker firm's referral
link, chats through the intake, approves the submission, uploads a generated pay stub on their
application page, sees the lender's firm offer and accepts it through the approval card; the
firm's manager (on a 375 px phone) sees the application in the pipeline, reviews the pay stub
(fields beside the file) and verifies it, asks the broker assistant about the application, and
after the loan is funded sees the commission with the rule behind each amount."""

from __future__ import annotations

import re
import time
from datetime import date
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from evals.synthetic_documents import generate
from lending.documents.types import DocumentType
from tests.e2e.conftest import DEMO_PASSWORD, Web, previous_step_code, reload_until

ANSWERS = {  # the consent text mentions a credit score: its question is matched first
    "Do you agree": "yes",
    "full legal name": "Jules Journey",
    "date of birth": "1988-04-02",
    "home address": "12 Main St, Springfield, IL 62704",
    "phone": "(415) 555-0134",
    "Social Security": "my ssn is 123-45-6789",
    "employed": "employed full time",
    "annual income": "$95,000 a year",
    "rent or your mortgage": "1500",
    "debts such as": "300",
    "credit score": "about 760",
    "What is the loan for": "medical",
}


def _referral_link(server_url: str) -> str:
    token = httpx.post(
        f"{server_url}/api/v1/auth/token",
        json={"email": "manager@harbor.demo", "password": DEMO_PASSWORD},
        timeout=10,
    )
    assert token.status_code == 200, token.text
    link = httpx.get(
        f"{server_url}/api/v1/me/referral",
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        timeout=10,
    )
    assert link.status_code == 200, link.text
    url: str = link.json()["url"]
    return url


def _fund(server_url: str, totp_secret: str, application_path: str) -> None:
    """The lender funds the loan: a platform administrator records it (a decision)."""
    token = httpx.post(
        f"{server_url}/api/v1/auth/token",
        json={
            "email": "admin@omnifin.demo",
            "password": DEMO_PASSWORD,
            # The previous window's code (accepted within the allowed skew): the current one
            # stays unused for the admin's own sign-in test, as codes are single-use.
            "otp": previous_step_code(totp_secret),
        },
        timeout=10,
    )
    assert token.status_code == 200, token.text
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    application_id = application_path.rstrip("/").rsplit("/", 1)[-1]
    base = f"{server_url}/api/v1/applications/{application_id}"
    version = httpx.get(base, headers=headers, timeout=10).json()["version"]
    funded = httpx.post(
        f"{base}/transitions",
        json={"to_status": "funded", "reason": "Loan funded by the lender", "version": version},
        headers=headers,
        timeout=10,
    )
    assert funded.status_code == 200, funded.text


def _send(page: Page, text: str, *, reply: bool = True) -> str:
    """Type a message, send it with Enter, wait for the turn to end; the assistant's last reply
    (a turn that pauses for an approval may end without one)."""
    transcript = page.get_by_role("list", name="Conversation")
    replies = transcript.locator(".chat__item--assistant")
    before = replies.count()
    composer = page.get_by_role("textbox", name="Message")
    composer.fill(text)
    composer.press("Enter")
    expect(transcript).to_have_attribute("aria-busy", "true")
    expect(transcript).to_have_attribute("aria-busy", "false", timeout=30_000)
    if reply:
        expect(replies).not_to_have_count(before)
    return replies.last.inner_text()


def _verification_link(server_url: str, email: str) -> str:
    """The confirmation link of the newest verification mail to `email` in the dev mailbox."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        mails = httpx.get(f"{server_url}/api/v1/dev/mailbox", timeout=10).json()
        for mail in mails:
            if mail["to_address"] == email and "verify-email" in mail["text"]:
                found = re.search(r"https?://\S*/verify-email\?token=[\w-]+", mail["text"])
                assert found, mail["text"]
                return found.group(0)
        time.sleep(0.2)
    raise AssertionError(f"no verification mail to {email}")


def _fits(page: Page) -> None:
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px at 375 px"


def test_borrower_applies_and_accepts_an_offer_and_the_manager_sees_it(
    web: Web, phone: Web, tmp_path: Path
) -> None:
    phone.name += "-manager"  # its screenshots in a folder of their own
    page = web.page
    page.goto(_referral_link(web.server.url))
    page.get_by_label("Full name").fill("Jules Journey")
    page.get_by_label("Email").fill("jules@example.com")
    page.get_by_label("Password", exact=True).fill("silver harbor quiet engine")
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/assistant$"))  # a borrower's landing
    page.get_by_role("link", name="My account").click()
    expect(page.get_by_text("Harbor Brokers")).to_be_visible()  # the referral's firm
    web.check("signed-up-with-referral")

    # Submitting needs a confirmed e-mail address: the link comes by mail, which `make run`
    # keeps in the development mailbox (no SMTP server).
    page.goto(_verification_link(web.server.url, "jules@example.com"))
    expect(page.get_by_text("your e-mail address is confirmed")).to_be_visible()
    page.get_by_role("link", name="Continue").click()

    # No application yet: the page says so and points at the assistant.
    page.get_by_role("link", name="My applications").click()
    expect(page.get_by_text("You have no application yet.")).to_be_visible()
    web.check("no-application-yet")

    page.get_by_role("link", name="Talk to the assistant").click()
    expect(page.get_by_role("heading", name="Assistant")).to_be_visible()
    reply = _send(page, "hi")
    expect(page.get_by_role("status").filter(has_text="Guided mode:")).to_be_visible()
    reply = _send(page, "a personal loan of $12,000 over 36 months")
    for _ in range(20):
        if "Here are your offers" in reply:
            break
        # What guided mode confirms ("Got it: …", "Changed: …") is not the question it asks next.
        question = re.sub(r"(Got it|Changed): .*?\.(?=\s[A-Z])", "", reply)
        matching = [text for key, text in ANSWERS.items() if key in question]
        assert matching, f"unexpected question: {reply}"
        reply = _send(page, matching[0])
    assert "Here are your offers" in reply
    web.check("intake-offers")

    # Choosing a lender submits, which cannot be undone: an approval card, answered by button.
    _send(page, "1", reply=False)
    card = page.get_by_role("region", name="Your approval is needed")
    expect(card).to_be_visible()
    web.check("submission-approval")
    card.get_by_role("button", name="Approve").click()
    transcript = page.get_by_role("list", name="Conversation")
    expect(transcript.get_by_text("was sent to the lender")).to_be_visible(timeout=30_000)
    expect(card.get_by_text("Approved")).to_be_visible()
    expect(transcript).to_have_attribute("aria-busy", "false")
    # Thumbs up on the reply, remembered when the page opens again.
    page.get_by_role("button", name="Helpful", exact=True).last.click()
    expect(page.get_by_role("button", name="Helpful", exact=True).last).to_have_attribute(
        "aria-pressed", "true"
    )
    web.check("submitted")
    page.reload()
    expect(page.get_by_role("button", name="Helpful", exact=True).last).to_have_attribute(
        "aria-pressed", "true"
    )

    # The application page: the lender's decision arrives by webhook; its firm offer appears.
    page.get_by_role("link", name="My applications").click()
    page.get_by_role("link", name=re.compile(r"OMF-[\d-]+ · Personal")).click()
    expect(page.get_by_role("heading", name=re.compile(r"Application OMF-"))).to_be_visible()
    timeline = page.get_by_role("region", name="Status history")
    expect(timeline.get_by_text("Submitted", exact=True)).to_be_visible()
    application_path = page.url

    # The pay stub the application still lacks, uploaded on the page, with its progress.
    documents = page.get_by_role("region", name="Documents")
    income = documents.get_by_role("listitem").filter(has_text="Recent proof of income")
    expect(income.get_by_text("Missing")).to_be_visible()
    web.check("documents-missing")
    pay_stub = tmp_path / "paystub.pdf"
    # In the applicant's own name, so the review has nothing to warn about.
    pay_stub.write_bytes(
        generate(
            DocumentType.PAY_STUB,
            seed=7,
            applicant_name=ANSWERS["full legal name"],
            today=date.today(),  # a recent stub: not stale either
        ).data
    )
    income.get_by_label(re.compile(r"^Upload: Recent proof of income")).set_input_files(pay_stub)
    expect(documents.get_by_text("paystub.pdf was uploaded.")).to_be_visible()
    expect(income.get_by_text("Received")).to_be_visible()
    expect(documents.get_by_role("cell", name="paystub.pdf")).to_be_visible()
    web.check("pay-stub-uploaded")

    reload_until(page, timeline.get_by_text("Approved", exact=True))
    offers = page.get_by_role("table", name="Offers")
    expect(offers).to_be_visible()
    expect(offers.get_by_text("Firm offer").first).to_be_visible()
    expect(page.locator(".badge--pick").first).to_be_visible()  # the anti-steering picks
    web.check("application-approved-offers")

    accept = offers.get_by_role("button", name=re.compile(r"^Accept the offer from "))
    lender = (accept.first.get_attribute("aria-label") or "").removeprefix("Accept the offer from ")
    accept.first.click()
    card = page.get_by_role("region", name="Your approval is needed")
    expect(card).to_be_visible()
    expect(card.get_by_role("heading")).to_be_focused()
    web.check("accept-approval")
    card.get_by_role("button", name="Approve").click()
    expect(page.get_by_text(f"You accepted the offer from {lender}.")).to_be_visible()
    expect(timeline.get_by_text("Offer accepted", exact=True)).to_be_visible()
    expect(offers.get_by_text("Accepted", exact=True)).to_be_visible()
    web.check("offer-accepted")

    # The firm's manager, on a phone: the pipeline shows the client and the application.
    manager = phone.page
    manager.goto("/login")
    phone.sign_in("manager@harbor.demo")
    manager.get_by_role("link", name="Pipeline").click()
    expect(manager.get_by_role("heading", name="Pipeline")).to_be_visible()
    column = manager.get_by_role("region", name=re.compile(r"^Offer accepted \(\d+\)$"))
    expect(column.get_by_role("link", name="Jules Journey")).to_be_visible()
    _fits(manager)
    phone.check("pipeline-375")
    # Search and filters are the API's: the browser asks with them and shows what comes back.
    with manager.expect_response(
        lambda r: "/api/v1/applications?" in r.url and "q=jules" in r.url and r.ok
    ):
        manager.get_by_label("Search").fill("jules")
    expect(manager.get_by_text("1 application", exact=True)).to_be_visible()
    with manager.expect_response(
        lambda r: "/api/v1/applications?" in r.url and "status=offer_accepted" in r.url and r.ok
    ):
        manager.get_by_label("Status").select_option("offer_accepted")
    expect(column.get_by_role("link", name="Jules Journey")).to_be_visible()
    expect(manager.get_by_role("region", name=re.compile(r"^Draft \(\d+\)$"))).to_have_count(0)
    manager.get_by_label("Search").fill("nobody by this name")
    expect(manager.get_by_text("No applications match.")).to_be_visible()
    expect(manager.get_by_text("0 applications", exact=True)).to_be_visible()
    manager.get_by_label("Status").select_option("")
    manager.get_by_label("Search").fill("jules")
    expect(manager.get_by_text("1 application", exact=True)).to_be_visible()
    manager.get_by_role("button", name="Clients").click()
    expect(manager.get_by_role("heading", name="Jules Journey", level=2)).to_be_visible()
    phone.check("pipeline-clients-375")
    manager.get_by_role("link", name="Jules Journey").click()
    expect(manager.get_by_role("heading", name=re.compile(r"Application OMF-"))).to_be_visible()
    expect(manager.get_by_text("Offer accepted").first).to_be_visible()
    # Managers see the offers; accepting is the borrower's alone.
    expect(manager.get_by_role("button", name=re.compile(r"^Accept"))).to_have_count(0)
    _fits(manager)
    phone.check("application-375")
    heading = manager.get_by_role("heading", name=re.compile(r"Application OMF-")).inner_text()
    reference = heading.removeprefix("Application ")

    # The manager reviews the pay stub: the file beside the fields read from it, then verifies.
    review = manager.get_by_role("button", name="Review paystub.pdf")
    review.click()
    detail = manager.get_by_role("region", name="Review paystub.pdf")
    fields = detail.get_by_role("table", name="Fields read from the document")
    # Extraction is a job: its fields appear once the worker has read the file.
    deadline = time.monotonic() + 60
    while True:
        expect(detail.get_by_role("heading", name="paystub.pdf")).to_be_visible()
        expect(fields.or_(detail.get_by_text("No fields were read"))).to_be_visible()
        if fields.is_visible():
            break
        assert time.monotonic() < deadline, "the pay stub's fields were never read"
        time.sleep(1)
        manager.reload()
        manager.get_by_role("button", name="Review paystub.pdf").click()
    expect(fields.get_by_role("row")).not_to_have_count(1)
    # The stub is in the applicant's name: no name-mismatch warning (nor any other).
    expect(fields.get_by_role("cell", name=re.compile(r"Journey, Jules"))).to_be_visible()
    expect(detail.get_by_text(re.compile(r"not the applicant"))).to_have_count(0)
    expect(detail.get_by_role("heading", name="Warnings")).to_have_count(0)
    preview = detail.get_by_role("img", name="Preview of paystub.pdf")
    expect(preview).to_have_attribute("aria-busy", "false", timeout=30_000)  # the page is drawn
    box = preview.bounding_box()
    assert box is not None
    assert box["height"] > 200, box
    phone.check("document-review-375")
    detail.get_by_role("button", name="Verify").click()
    expect(detail.get_by_text("Verified.")).to_be_visible()
    documents_section = manager.get_by_role("region", name="Documents")
    expect(
        documents_section.get_by_role("listitem")
        .filter(has_text="Recent proof of income")
        .get_by_text("Verified")
    ).to_be_visible()
    _fits(manager)
    phone.check("document-verified-375")

    # The delegation chat: the same chat component, the broker assistant and its tools.
    manager.get_by_role("link", name="Ask the assistant about this application").click()
    expect(manager.get_by_role("heading", name="Assistant")).to_be_visible()
    reply = _send(manager, f"status of {reference}")
    assert f"{reference} is offer accepted" in reply, reply
    expect(manager.get_by_text("Done: get application").first).to_be_visible()
    manager.get_by_text(re.compile(r"^Conversations")).click()
    expect(manager.get_by_text("Broker assistant").first).to_be_visible()
    _fits(manager)
    phone.check("delegation-chat-375")

    # The loan is funded; the commission accrues (a job) and the manager sees it with its "why".
    _fund(web.server.url, web.server.admin_totp_secret, application_path)
    manager.get_by_role("link", name="Commissions").click()
    expect(manager.get_by_role("heading", name="Commissions", level=1)).to_be_visible()
    ledger = manager.get_by_role("region", name="Ledger")
    reload_until(manager, ledger.get_by_text(reference).first)
    summary = manager.get_by_role("region", name="Summary")
    expect(summary.get_by_role("cell", name="Harbor Brokers")).to_be_visible()
    ledger.get_by_role("button", name=re.compile(r"^Why\?")).first.click()
    why = manager.get_by_role("region", name=re.compile(r"^Why entry \d+ is \$"))
    expect(why.get_by_text(re.compile(r"^Rule .*, version \d+"))).to_be_visible()
    statement = manager.get_by_role("region", name="Statement")
    with manager.expect_download() as download:
        statement.get_by_role("link", name="Download the statement (CSV)").click()
    csv_text = Path(download.value.path()).read_text()
    assert csv_text.startswith("date,kind,component,share,payee,loan"), csv_text[:200]
    assert reference in csv_text
    _fits(manager)
    phone.check("commissions-375")
