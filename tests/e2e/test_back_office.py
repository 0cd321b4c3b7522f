"""The back office in a real browser against the real server: each role signs in with its second
factor and walks its pages (axe on each), performs each action once (a maker-checker pair with
two administrators for payouts and for a two-factor reset, commission rules and servicing events,
statement reconciliation, invitations, the lender catalog, roles, documents, knowledge and prompt
experiments), with each action's audit rows read from the server's database, and a prompt
engineer refused an administrator's page by its address."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import httpx
import pyotp
import pytest
from playwright.sync_api import FilePayload, Locator, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from evals.synthetic_documents import generate
from lending.commissions.accrual import accrual_service
from lending.commissions.entries import commission_entry_service
from lending.commissions.schemas import AdjustmentCreate
from lending.documents.types import DocumentType
from lending.models.commissions import Party, RuleScope
from lending.models.identity import Role, User
from lending.models.lenders import Lender
from tests.commissions.factories import create_loan, create_rule
from tests.e2e.conftest import DEMO_PASSWORD, LiveServer, Web, previous_step_code, reload_until
from tests.e2e.database import audited, in_database
from tests.identity.factories import actor_of, create_organization, create_user

STAFF_PASSWORD = "lantern harbour quiet maple"


@dataclass
class StaffLogin:
    email: str
    password: str
    totp: pyotp.TOTP
    last_step: int  # the last TOTP step used: a code is good once

    def next_code(self) -> str:
        """A code of a step after the last one used, never older than the current step: the
        server accepts one step either side, so the code stays good for 30 s or more whatever
        the sign-in takes (the previous step's code failed when the request crossed a step
        boundary: a flaky 401 on a loaded machine)."""
        step = max(self.last_step + 1, int(time.time() // 30))
        if step > int(time.time() // 30) + 1:
            time.sleep(30)  # pragma: no cover - three sign-ins in one 30 s window
        self.last_step = step
        return self.totp.at(step * 30)


def _post(url: str, path: str, body: dict[str, object], token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{url}{path}", json=body, headers=headers, timeout=15)


def _enrol(url: str, token: str) -> tuple[pyotp.TOTP, int]:
    """Turn on TOTP through the API, as the web app's security page does."""
    enrolled = _post(url, "/api/v1/mfa/enroll", {}, token)
    assert enrolled.status_code == 200, enrolled.text
    totp = pyotp.TOTP(enrolled.json()["secret"])
    step = int(time.time() // 30) - 1
    confirmed = _post(url, "/api/v1/mfa/confirm", {"code": totp.at(step * 30)}, token)
    assert confirmed.status_code == 200, confirmed.text
    return totp, step


def _invited_admin(url: str, admin_token: str, email: str) -> StaffLogin:
    invitation = _post(
        url, "/api/v1/invitations", {"role": "platform_admin", "email": email}, admin_token
    )
    assert invitation.status_code == 201, invitation.text
    registered = _post(
        url,
        "/api/v1/auth/register",
        {
            "email": email,
            "password": STAFF_PASSWORD,
            "full_name": email.split("@")[0].title(),
            "invitation_code": invitation.json()["code"],
        },
    )
    assert registered.status_code == 201, registered.text
    # MFA is required for administrators: this token only enrols.
    enrolling = _post(url, "/api/v1/auth/token", {"email": email, "password": STAFF_PASSWORD})
    assert enrolling.json()["mfa_enrollment_required"] is True
    totp, step = _enrol(url, enrolling.json()["access_token"])
    return StaffLogin(email, STAFF_PASSWORD, totp, step)


def _draft_application(url: str) -> None:
    """A draft by the demo's direct borrower, through the REST API (the demo seeds none)."""
    token = _post(
        url, "/api/v1/auth/token", {"email": "direct@omnifin.demo", "password": DEMO_PASSWORD}
    )
    assert token.status_code == 200, token.text
    started = _post(
        url,
        "/api/v1/applications",
        {"product_type": "personal", "amount": "12000.00", "term_months": 36},
        token.json()["access_token"],
    )
    assert started.status_code == 201, started.text


def _unpaid_commission(url: str, admin_token: str) -> None:
    """A manual commission adjustment for a firm of its own, through the REST API: something for
    a payout batch to pay, away from the demo firm whose ledger other tests read."""
    firm = _post(
        url,
        "/api/v1/organizations",
        {"name": "Back Office Test Brokers", "slug": "back-office-test"},
        admin_token,
    )
    assert firm.status_code == 201, firm.text
    adjusted = _post(
        url,
        "/api/v1/commissions/adjustments",
        {
            "payee_kind": "organization",
            "payee_id": firm.json()["id"],
            "party": "firm",
            "amount": "750.00",
            "effective_on": time.strftime("%Y-%m-%d", time.gmtime()),
            "reason": "Back office test: a bonus to pay out",
        },
        admin_token,
    )
    assert adjusted.status_code == 201, adjusted.text


@dataclass
class Staff:
    maker: StaffLogin
    checker: StaffLogin
    engineer: StaffLogin
    lost_phone: StaffLogin  # an administrator whose second factor is reset (never signs in)


@pytest.fixture(scope="module")
def staff(live_server: LiveServer) -> Staff:
    """Three administrators invited by the demo one (a maker, a checker and one whose second
    factor is reset), and the demo prompt engineer with TOTP turned
    on (this server requires MFA of administrators and brokers only; the back office requires it
    of prompt engineers whatever an organization says)."""
    url = live_server.url
    token = _post(
        url,
        "/api/v1/auth/token",
        {
            "email": "admin@omnifin.demo",
            "password": DEMO_PASSWORD,
            "otp": previous_step_code(live_server.admin_totp_secret),
        },
    )
    assert token.status_code == 200, token.text
    admin_token = token.json()["access_token"]
    maker = _invited_admin(url, admin_token, "maker@omnifin.demo")
    checker = _invited_admin(url, admin_token, "checker@omnifin.demo")
    lost_phone = _invited_admin(url, admin_token, "lostphone@omnifin.demo")
    _unpaid_commission(url, admin_token)
    _draft_application(url)
    engineer_token = _post(
        url, "/api/v1/auth/token", {"email": "prompts@omnifin.demo", "password": DEMO_PASSWORD}
    )
    assert engineer_token.status_code == 200, engineer_token.text
    totp, step = _enrol(url, engineer_token.json()["access_token"])
    engineer = StaffLogin("prompts@omnifin.demo", DEMO_PASSWORD, totp, step)
    return Staff(maker, checker, engineer, lost_phone)


def _sign_in(web: Web, login: StaffLogin) -> None:
    page = web.page
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login"))
    page.get_by_label("Email").fill(login.email)
    page.get_by_label("Password").fill(login.password)
    page.get_by_label("One-time code").fill(login.next_code())
    page.get_by_role("button", name="Sign in").click()


def _nav(web: Web, name: str) -> None:
    web.page.get_by_role("navigation", name="Back office").get_by_role("link", name=name).click()


def test_sign_in_page_is_accessible_and_refuses_a_missing_code(web: Web, staff: Staff) -> None:
    page = web.page
    page.goto("/admin/login")
    expect(page.get_by_role("heading", name="Sign in to the back office")).to_be_visible()
    web.check("sign-in")
    page.get_by_label("Email").fill(staff.checker.email)
    page.get_by_label("Password").fill(staff.checker.password)
    web.allow_console_error("401")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("six-digit code")
    web.check("sign-in-code-asked")


def test_an_administrator_walks_every_page_and_acts_once(web: Web, staff: Staff) -> None:
    page = web.page
    _sign_in(web, staff.checker)
    expect(page).to_have_url(re.compile(r"/admin/dashboard$"))
    expect(page.get_by_role("heading", name="Today's funnel")).to_be_visible()
    web.check("dashboard")

    _nav(web, "Applications")
    expect(page.get_by_role("heading", name="Applications", exact=True)).to_be_visible()
    web.check("applications")
    # The fixture's draft (the demo's direct borrower), whatever other tests left.
    page.get_by_label("Reference, borrower name or email").fill("direct@omnifin.demo")
    page.get_by_label("Status").select_option("draft")  # htmx swaps the results in place
    expect(page).to_have_url(re.compile(r"status=draft"))
    page.locator("#results tbody tr a").first.click()
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    web.check("application")
    page.get_by_label("New status").select_option("withdrawn")
    page.get_by_label("Reason").fill("Withdrawn from the back office test")
    page.get_by_role("button", name="Move the application").click()
    expect(page.get_by_role("status").first).to_contain_text("The application was moved.")
    expect(page.get_by_role("cell", name="Withdrawn from the back office test")).to_be_visible()
    web.check("application-moved")

    _nav(web, "Documents")
    expect(page.get_by_role("heading", name="Documents to review")).to_be_visible()
    web.check("documents")

    _nav(web, "People")
    page.get_by_label("Name or email").fill("broker@harbor.demo")
    page.get_by_role("button", name="Search").click()
    page.locator("#results").get_by_role("link", name="Blake Broker").click()
    expect(page.get_by_role("heading", name="Blake Broker")).to_be_visible()
    web.check("person")
    page.get_by_role("button", name="Deactivate").click()
    expect(page.get_by_role("status").first).to_contain_text("deactivated")
    page.get_by_role("button", name="Reactivate").click()
    expect(page.get_by_role("status").first).to_contain_text("reactivated")
    page.get_by_role("button", name="Unlock sign-in").click()
    expect(page.get_by_role("status").first).to_contain_text("unlocked")

    _nav(web, "Audit log")
    page.get_by_role("button", name="Verify the chain").click()
    expect(page.get_by_text("The chain is intact")).to_be_visible()
    page.get_by_label("Action").fill("user.deactivated")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#results").get_by_role("cell", name="user.deactivated")).to_be_visible()
    web.check("audit")

    _nav(web, "Lenders")
    expect(page.get_by_role("heading", name="Lenders", exact=True)).to_be_visible()
    web.check("lenders")
    page.get_by_label("Slug").fill("back-office-test-lender")
    page.get_by_label("Name", exact=True).fill("Back Office Test Lender")
    page.get_by_label("Note").fill("Created by the back office test")
    page.get_by_role("button", name="Create the lender").click()
    expect(page.get_by_role("status").first).to_contain_text("The lender was created.")
    expect(page.get_by_role("heading", name="Back Office Test Lender")).to_be_visible()
    web.check("lender")
    page.goto("/admin/lenders/performance")
    expect(page.get_by_role("heading", name="Lender performance")).to_be_visible()
    web.check("lender-performance")

    _nav(web, "Prompts")
    expect(page.get_by_role("heading", name="Prompts")).to_be_visible()
    web.check("prompts")

    _nav(web, "Knowledge")
    expect(page.get_by_role("heading", name="Knowledge base")).to_be_visible()
    web.check("knowledge")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/admin/login\?signed_out=1$"))
    page.goto("/admin/people")
    expect(page).to_have_url(re.compile(r"/admin/login"))


def test_maker_checker_with_two_administrators(web: Web, staff: Staff) -> None:
    page = web.page
    _sign_in(web, staff.maker)
    _nav(web, "Commissions")
    expect(page.get_by_role("heading", name="Payout batches")).to_be_visible()
    web.check("batches")
    page.get_by_text("Draft a new batch").click()
    page.get_by_label("Cut-off date").fill("2030-12-31")
    page.get_by_role("button", name="Draft the batch").click()
    drafted = page.get_by_role("status").first
    expect(drafted).to_contain_text("Another administrator must approve it")
    batch_url = page.url.split("?")[0]
    web.allow_console_error("403")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("alert")).to_contain_text("Maker-checker")
    web.check("batch-maker-refused")
    page.get_by_role("button", name="Sign out").click()

    _sign_in(web, staff.checker)
    page.goto(batch_url)
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status").first).to_contain_text("approved")
    with page.expect_download() as download:
        page.get_by_role("button", name="Export the payment CSV").click()
    assert download.value.suggested_filename.endswith(".csv")
    page.goto(batch_url)
    page.get_by_label("Bank payment reference").fill("BANK-RUN-1")
    page.get_by_role("button", name="Mark paid").click()
    expect(page.get_by_role("status").first).to_contain_text("paid")
    web.check("batch-paid")
    # Each payee's statement of the paid batch, as a PDF.
    with page.expect_download() as statement:
        page.get_by_role("link", name=re.compile("^PDF statement of")).first.click()
    assert statement.value.suggested_filename.endswith(".pdf")
    pdf = statement.value.path().read_bytes()
    assert pdf.startswith(b"%PDF")


def test_a_prompt_engineer_sees_prompts_only_and_is_refused_admin_pages(
    web: Web, staff: Staff
) -> None:
    page = web.page
    _sign_in(web, staff.engineer)
    expect(page).to_have_url(re.compile(r"/admin/prompts$"))
    nav = page.get_by_role("navigation", name="Back office")
    expect(nav.get_by_role("link", name="Prompts")).to_be_visible()
    expect(nav.get_by_role("link", name="People")).to_have_count(0)
    web.check("engineer-prompts")
    page.locator("#results tbody tr a").first.click()  # the demo seeds the assistant's prompts
    expect(page.get_by_role("heading", name="Compare versions")).to_be_visible()
    page.get_by_role("button", name="Show the diff").click()
    web.check("engineer-prompt")
    page.get_by_role("button", name="Point the label at this version").click()
    expect(page.get_by_role("status").first).to_contain_text("The label was moved")

    _nav(web, "Evals")
    expect(page.get_by_role("heading", name="Eval runs")).to_be_visible()
    web.check("engineer-evals")
    # One scenario, run by the server's own job worker; the page follows it, then it is blessed.
    page.get_by_label("knowledge").check()
    page.get_by_label("Tags (any of, separated by spaces)").fill("zh")
    page.get_by_label("Name of the run").fill("from the browser")
    page.get_by_role("button", name="Start the run").click()
    expect(page.get_by_role("heading", name=re.compile("Eval run asked"))).to_be_visible()
    web.check("engineer-eval-request")
    # The page refreshes its progress itself (the template database is made on a first run).
    expect(page.locator("#progress")).to_contain_text(
        "finished. 1 of 1 scenario runs done", timeout=180_000
    )
    page.get_by_role("link", name="The run's report").click()
    expect(page.get_by_text("knowledge-chinese-apr[guided]")).to_be_visible()
    page.get_by_role("button", name="Bless this run as the baseline").click()
    expect(page.get_by_role("status").first).to_contain_text("now the baseline")
    web.check("engineer-eval-blessed")

    _nav(web, "Conversations")
    expect(page.get_by_role("heading", name="Conversations")).to_be_visible()
    web.check("engineer-conversations")

    _nav(web, "Knowledge")
    page.get_by_role("link", name="Search preview").click()
    page.get_by_label("Question").fill("What is a soft credit pull?")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("Question language: en")).to_be_visible()
    web.check("engineer-knowledge-search")

    web.allow_console_error("403")
    for path in (
        "/admin/people",
        "/admin/dashboard",
        "/admin/commissions/batches",
        "/admin/lenders",
    ):
        answer = page.goto(path)
        assert answer is not None
        assert answer.status == 403, path
        expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    web.check("engineer-refused")


def test_an_administrator_walks_the_commission_people_voice_and_privacy_pages(
    web: Web, staff: Staff
) -> None:
    """The pages added with commission rules, funded loans, reconciliation, firms, invitations,
    two-factor resets, voice metrics and erasure requests: each opens and passes axe; creating a
    firm is done once."""
    page = web.page
    _sign_in(web, staff.checker)
    expect(page).to_have_url(re.compile(r"/admin/dashboard$"))
    for path, heading, step in (
        ("/admin/commissions/rules", "Commission rules", "commission-rules"),
        ("/admin/commissions/loans", "Funded loans", "funded-loans"),
        ("/admin/commissions/statements", "Lender statement reconciliation", "reconciliation"),
        ("/admin/invitations", "Invitations", "invitations"),
        ("/admin/mfa-resets", "Two-factor resets", "mfa-resets"),
        ("/admin/voice", "Voice", "voice"),
        ("/admin/privacy", "Erasure requests", "privacy"),
        ("/admin/firms", "Firms", "firms"),
    ):
        answer = page.goto(path)
        assert answer is not None, path
        assert answer.status == 200, path
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        web.check(step)
    name = f"Walked Firm {uuid.uuid4().hex[:6]}"
    page.get_by_text("New broker firm").click()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Slug (lower case letters, digits and dashes)").fill(
        name.lower().replace(" ", "-")
    )
    page.get_by_role("button", name="Create the firm").click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    web.check("firm")


# Each commission, reconciliation and people action once, through the pages; its audit rows are
# read from the server's database (tests/e2e/database.py), where its setup is written too.


def _admin_user(session: AsyncSession) -> Awaitable[User | None]:
    return session.scalar(select(User).where(User.email == "admin@omnifin.demo"))


async def _firm_rule_and_loan(session: AsyncSession, tag: str) -> tuple[uuid.UUID, str]:
    """A firm of its own with a firm-scoped rule (so a new version touches no other test's
    amounts) and an active funded loan: the rule's id and the loan's reference."""
    admin = await _admin_user(session)
    assert admin is not None
    firm = await create_organization(session, name=f"Servicing Firm {tag}", slug=f"servicing-{tag}")
    rule = await create_rule(
        session,
        admin,
        name=f"Servicing firm rule {tag}",
        scope=RuleScope.FIRM,
        scope_id=firm.id,
        splits={"firm": "100"},
    )
    loan = await create_loan(
        session, firm, reference=f"OMF-SRV-{tag.upper()}", borrower_name="Sam Servicing"
    )
    return rule.id, loan.reference


async def _lender_with_a_loan(session: AsyncSession, tag: str) -> tuple[str, str]:
    """A lender of its own (no catalog version: the pages show its slug) with one funded loan
    whose upfront commission is accrued under the demo rule (0.65% of 100,000: 650.00)."""
    lender = Lender(slug=f"recon-{tag}", name=f"Recon Bank {tag}")
    session.add(lender)
    await session.flush()
    firm = await create_organization(session, name=f"Recon Firm {tag}", slug=f"recon-firm-{tag}")
    loan = await create_loan(
        session,
        firm,
        lender_id=lender.id,
        reference=f"OMF-REC-{tag.upper()}",
        borrower_name="Rita Recon",
        funded_on=date(2026, 3, 2),
        amount="100000.00",
    )
    await accrual_service.accrue_pending(session)
    return lender.slug, loan.reference


def _staff_id(database_url: str, email: str) -> str:
    async def read(session: AsyncSession) -> str:
        found = await session.scalar(select(User.id).where(User.email == email))
        assert found is not None, email
        return str(found)

    return in_database(database_url, read)


def _id_in(url: str, after: str) -> str:
    found = re.search(after + r"/([0-9a-f-]{36})", url)
    assert found is not None, url
    return found.group(1)


def test_a_rule_version_is_saved_a_guard_refusal_shown_and_a_servicing_event_recorded(
    web: Web, staff: Staff
) -> None:
    page = web.page
    tag = uuid.uuid4().hex[:6]
    database = web.server.database_url
    rule_id, reference = in_database(database, lambda s: _firm_rule_and_loan(s, tag))
    _sign_in(web, staff.checker)
    _nav(web, "Commissions")
    page.goto("/admin/commissions/rules")
    page.get_by_role("link", name=f"Servicing firm rule {tag}").click()
    expect(page.get_by_role("heading", name=f"Servicing firm rule {tag}")).to_be_visible()
    web.check("rule")

    # US rules may not depend on the loan's rate (Reg Z): refused in the service's words.
    web.allow_console_error("422")
    page.get_by_label("Effective from").fill("2027-01-01")
    terms = page.get_by_label("Terms (JSON, from the latest version)")
    terms.fill(
        json.dumps(
            {
                "upfront_percent": "0.65",
                "splits": {"firm": "100"},
                "conditions": [{"field": "note_rate", "op": "gte", "value": "7"}],
            }
        )
    )
    page.get_by_role("button", name="Save the new version").click()
    expect(page.get_by_role("alert")).to_contain_text("rate or terms")
    expect(terms).to_have_value(re.compile("note_rate"))  # what was typed is kept
    web.check("rule-guard-refused")
    demo_admin_id = _staff_id(database, "admin@omnifin.demo")  # the setup made the rule
    assert audited(database, rule_id) == [("commission.rule_created", demo_admin_id)]

    page.get_by_label("Effective from").fill("2027-01-01")
    terms.fill(json.dumps({"upfront_percent": "0.80", "splits": {"firm": "100"}}))
    page.get_by_role("button", name="Save the new version").click()
    expect(page.get_by_role("status").first).to_contain_text("The new version was saved")
    versions = page.get_by_role("table", name=re.compile("Versions, newest first"))
    expect(versions.locator("tbody tr").first).to_contain_text("2027-01-01")
    expect(versions.locator("tbody tr")).to_have_count(2)
    web.check("rule-versioned")
    checker_id = _staff_id(database, staff.checker.email)
    assert audited(database, rule_id) == [
        ("commission.rule_created", demo_admin_id),
        ("commission.rule_versioned", checker_id),
    ]

    page.get_by_role("navigation", name="Commissions").get_by_role(
        "link", name="Funded loans"
    ).click()
    page.get_by_label("Reference starts with").fill(reference.lower())
    page.get_by_role("button", name="Search").click()
    page.locator("#results").get_by_role("link", name=reference).click()
    expect(page.get_by_role("heading", name=f"Loan {reference}")).to_be_visible()
    loan_id = _id_in(page.url, "/admin/commissions/loans")
    page.get_by_label("Event", exact=True).select_option("discharged")
    page.get_by_label("Occurred on").fill("2026-11-30")
    page.get_by_label("Note").fill("Paid off early: the clawback applies")
    page.get_by_role("button", name="Record the event").click()
    expect(page.get_by_role("status").first).to_contain_text("The servicing event was recorded.")
    expect(page.get_by_role("cell", name="Paid off early: the clawback applies")).to_be_visible()
    expect(page.get_by_text("discharged on 2026-11-30")).to_be_visible()
    expect(page.get_by_role("heading", name="Record a servicing event")).to_have_count(0)
    web.check("loan-discharged")
    assert audited(database, loan_id) == [("commission.loan_discharged", checker_id)]


def test_a_lender_statement_is_uploaded_paged_and_a_mismatch_resolved(
    web: Web, staff: Staff
) -> None:
    page = web.page
    tag = uuid.uuid4().hex[:6]
    database = web.server.database_url
    lender, reference = in_database(database, lambda s: _lender_with_a_loan(s, tag))
    # The loan paid 50.00 short, then 55 lines of loans this platform never made.
    statement = "loan_reference,borrower_name,funding_date,amount\n" + (
        f"{reference},Rita Recon,2026-03-02,600.00\n"
        + "".join(f"LN-{n:03d},Somebody Else,2026-03-10,{n}.00\n" for n in range(1, 56))
    )
    _sign_in(web, staff.checker)
    page.goto("/admin/commissions/statements")
    page.get_by_text("Import a lender's statement").click()
    upload = page.locator("form[enctype='multipart/form-data']")
    upload.get_by_label("Lender").select_option(label=lender)
    upload.get_by_label("Period from").fill("2026-03-01")
    upload.get_by_label("Period to").fill("2026-03-31")
    upload.get_by_label("Statement (CSV)").set_input_files(
        files=FilePayload(name="march.csv", mimeType="text/csv", buffer=statement.encode())
    )
    upload.get_by_role("button", name="Import and reconcile").click()
    expect(page.get_by_role("status").first).to_contain_text("imported and reconciled")
    expect(
        page.get_by_role("heading", name=re.compile(f"{lender}: 2026-03-01 to 2026-03-31"))
    ).to_be_visible()
    statement_id = _id_in(page.url, "/admin/commissions/statements")
    lines = page.locator("#results tbody tr")
    expect(lines).to_have_count(50)
    expect(lines.first).to_contain_text(reference)
    expect(lines.first).to_contain_text("underpaid")
    expect(lines.first).to_contain_text("-50.00")
    web.check("statement")

    # 56 lines: the rest on the next page, through the cursor.
    page.get_by_role("link", name="Next page").click()
    expect(lines).to_have_count(6)
    expect(lines.first).to_contain_text("LN-050")
    expect(lines.last).to_contain_text("LN-055")
    expect(page.get_by_text("End of the list")).to_be_visible()
    web.check("statement-page-2")

    # The mismatch, found by its outcome (htmx swaps the lines in place), resolved with a reason.
    page.get_by_label("Outcome").select_option("underpaid")
    expect(page).to_have_url(re.compile(r"status=underpaid"))
    expect(lines).to_have_count(1)
    line = lines.first
    line.get_by_label("Reason").fill("The lender pays the 50.00 with April's statement")
    line.get_by_role("button", name="Resolve").click()
    expect(page.get_by_role("status").first).to_contain_text("The line was resolved")
    expect(lines.first).to_contain_text("The lender pays the 50.00 with April's statement")
    expect(page.get_by_label("Outcome")).to_have_value("underpaid")
    web.check("statement-line-resolved")
    checker_id = _staff_id(database, staff.checker.email)
    assert audited(database, statement_id) == [
        ("commission.statement_imported", checker_id),
        ("commission.statement_line_resolved", checker_id),
    ]


def test_an_invitation_is_created_resent_and_revoked(web: Web, staff: Staff) -> None:
    page = web.page
    email = f"invitee-{uuid.uuid4().hex[:6]}@harbor.demo"
    database = web.server.database_url
    _sign_in(web, staff.checker)
    _nav(web, "People")
    page.get_by_role("navigation", name="People").get_by_role("link", name="Invitations").click()
    expect(page.get_by_role("heading", name="Invitations", exact=True)).to_be_visible()
    page.get_by_text("Invite someone").click()
    page.get_by_label("Organization").select_option(label="Harbor Brokers")
    page.get_by_label("Role").select_option("broker")
    page.get_by_label("Only for this email address (optional)").fill(email)
    page.get_by_label("Valid for (hours, optional)").fill("48")
    page.get_by_role("button", name="Create the invitation").click()
    ready = page.get_by_role("status").first
    expect(ready).to_contain_text(f"Invitation ready: give this link to {email}")
    first_link = ready.locator("code").inner_text()
    assert "/register?invitation=" in first_link
    rows = page.get_by_role("row").filter(has_text=email)
    pending = rows.filter(has_text="pending")
    expect(rows).to_have_count(1)
    first_id = _invitation_id(pending)
    web.check("invitation-created")

    # Resending replaces the invitation: the old code stops working, a new one is shown once.
    pending.get_by_role("button", name=re.compile("Resend the invitation")).click()
    expect(ready).to_contain_text(f"Invitation ready: give this link to {email}")
    resent_link = ready.locator("code").inner_text()
    assert resent_link != first_link
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="revoked")).to_have_count(1)
    resent_id = _invitation_id(pending)
    assert resent_id != first_id
    web.check("invitation-resent")

    pending.get_by_role("button", name=re.compile("Revoke the invitation")).click()
    expect(rows.filter(has_text="revoked")).to_have_count(2)
    expect(rows.get_by_role("button")).to_have_count(0)
    web.check("invitation-revoked")
    checker_id = _staff_id(database, staff.checker.email)
    assert audited(database, first_id) == [
        ("invitation.created", checker_id),
        ("invitation.revoked", checker_id),
    ]
    assert audited(database, resent_id) == [
        ("invitation.created", checker_id),
        ("invitation.resent", checker_id),
        ("invitation.revoked", checker_id),
    ]


def _invitation_id(row: Locator) -> str:
    """The invitation a row's revoke form acts on."""
    action = row.locator("form[action$='/revoke']").get_attribute("action")
    return _id_in(action or "", "/admin/invitations")


def test_an_administrators_two_factor_reset_needs_a_second_administrator(
    web: Web, second_web: Web, staff: Staff
) -> None:
    page = web.page
    database = web.server.database_url
    _sign_in(web, staff.maker)
    _nav(web, "People")
    page.get_by_label("Name or email").fill(staff.lost_phone.email)
    page.get_by_role("button", name="Search").click()
    page.locator("#results").get_by_role("link", name="Lostphone").click()
    expect(page.get_by_role("heading", name="Lostphone")).to_be_visible()
    person_url = page.url.split("?")[0]
    lost_phone_id = _id_in(person_url, "/admin/people")
    page.get_by_label("Why (for the approver and the audit log)").fill(
        "Lost phone and recovery codes; identity checked on a video call"
    )
    page.get_by_role("button", name="Ask for a two-factor reset").click()
    expect(page.get_by_role("status").first).to_contain_text(
        "another administrator must approve it"
    )
    expect(page.get_by_text(re.compile(r"A reset was asked for on .* by you"))).to_be_visible()
    web.check("mfa-reset-asked")

    # The maker is offered no approval of his own request (the server refuses one anyway:
    # tests/admin/test_mfa_reset.py), and the queue says it waits for someone else.
    expect(page.get_by_role("button", name="Approve the reset")).to_have_count(0)
    page.goto("/admin/mfa-resets")
    mine = page.get_by_role("row").filter(has_text="identity checked on a video call")
    expect(mine).to_contain_text("Waiting for another administrator")
    expect(mine.get_by_role("button", name=re.compile("Approve reset"))).to_have_count(0)
    web.check("mfa-reset-maker-waits")
    maker_id = _staff_id(database, staff.maker.email)
    assert audited(database, lost_phone_id, prefix="mfa_reset.") == [
        ("mfa_reset.requested", maker_id)
    ]

    # Another administrator, in a browser of their own, approves it from the queue.
    other = second_web.page
    _sign_in(second_web, staff.checker)
    other.goto("/admin/mfa-resets")
    waiting = other.get_by_role("row").filter(has_text="identity checked on a video call")
    expect(waiting).to_contain_text("another administrator")
    second_web.check("mfa-reset-queue")
    waiting.get_by_role("button", name=re.compile("Approve reset")).click()
    expect(other.get_by_role("status").first).to_contain_text(
        "The second factor was removed and every session ended."
    )
    expect(other).to_have_url(re.compile(re.escape(person_url)))
    expect(other.get_by_role("row", name=re.compile("Two-factor"))).to_contain_text("off")
    second_web.check("mfa-reset-approved")
    assert audited(database, lost_phone_id, prefix="mfa_reset.") == [
        ("mfa_reset.requested", maker_id),
        ("mfa_reset.approved", _staff_id(database, staff.checker.email)),
    ]


def test_a_prompt_engineer_makes_a_scenario_from_a_borrower_s_conversation(
    web: Web, staff: Staff
) -> None:
    """A borrower's guided conversation, had through the API, becomes an eval scenario file from
    its transcript page; the capture is audited against the conversation."""
    url = web.server.url
    email = f"scenario.{uuid.uuid4().hex[:8]}@example.com"
    registered = _post(
        url,
        "/api/v1/auth/register",
        {"email": email, "password": DEMO_PASSWORD, "full_name": "Sam Scenario"},
    )
    assert registered.status_code == 201, registered.text
    token = _post(url, "/api/v1/auth/token", {"email": email, "password": DEMO_PASSWORD})
    assert token.status_code == 200, token.text
    bearer = token.json()["access_token"]
    thread = _post(url, "/api/v1/chat/threads", {}, bearer)
    assert thread.status_code == 201, thread.text
    thread_id = thread.json()["id"]
    turn = _post(
        url,
        f"/api/v1/chat/threads/{thread_id}/runs",
        {"message": "I'd like a personal loan"},
        bearer,
    )
    assert turn.status_code == 200, turn.text
    assert "event: run.completed" in turn.text

    page = web.page
    _sign_in(web, staff.engineer)
    page.goto(f"/admin/conversations/{thread_id}")
    expect(page.get_by_text("I'd like a personal loan")).to_be_visible()
    scenario_id = f"browser-{uuid.uuid4().hex[:6]}"
    page.get_by_label(re.compile("^Scenario id")).fill(scenario_id)
    page.get_by_role("button", name="Make the scenario file").click()
    expect(page.get_by_role("heading", name=f"Scenario {scenario_id}")).to_be_visible()
    expect(page.get_by_label("The scenario file")).to_contain_text("I'd like a personal loan")
    web.check("conversation-scenario")
    engineer = _staff_id(web.server.database_url, staff.engineer.email)
    assert ("evals.conversation_captured", engineer) in audited(
        web.server.database_url, thread_id, prefix="evals."
    )


def test_a_lender_is_versioned_connected_given_a_product_and_retired(
    web: Web, staff: Staff
) -> None:
    """The lender catalog's actions beyond creating: a new version of the details, the
    integration settings, a webhook secret rotation, a product, and the retirement."""
    page = web.page
    tag = uuid.uuid4().hex[:6]
    database = web.server.database_url
    _sign_in(web, staff.checker)
    _nav(web, "Lenders")
    page.get_by_label("Slug").fill(f"catalog-{tag}")
    page.get_by_label("Name", exact=True).fill(f"Catalog Bank {tag}")
    page.get_by_label("Note").fill("A lender for the catalog test")
    page.get_by_role("button", name="Create the lender").click()
    expect(page.get_by_role("status").first).to_contain_text("The lender was created.")
    lender_id = _id_in(page.url, "/admin/lenders")

    details = page.get_by_role("region", name="New version of the details")
    details.get_by_label("Website").fill("https://catalog.example")
    details.get_by_label("Note").fill("Website added")
    details.get_by_role("button", name="Save a new version").click()
    expect(page.get_by_role("status").first).to_contain_text("A new version of the lender's")
    expect(page.get_by_role("row", name=re.compile("^Website"))).to_contain_text(
        "https://catalog.example"
    )

    integration = page.get_by_role("region", name="Integration")
    integration.get_by_label("Adapter", exact=True).select_option("none")
    integration.get_by_role("button", name="Save the integration").click()
    expect(page.get_by_role("status").first).to_contain_text("The integration settings were saved.")
    expect(integration.get_by_label("Adapter", exact=True)).to_have_value("none")
    integration.get_by_role("button", name="Rotate the webhook secret").click()
    secret = page.get_by_role("region", name="New webhook secret")
    expect(secret).to_contain_text("shown this once")
    hint = page.locator("#new-secret").inner_text().strip()[-4:]
    expect(page.get_by_role("region", name="Integration")).to_contain_text(f"…{hint}")
    web.check("lender-secret-rotated")

    products = page.get_by_role("region", name="Products")
    products.get_by_text("New product").click()
    products.get_by_label("Code").fill(f"personal-{tag}")
    # The terms start from an example whose name is left to fill in.
    product_terms = products.get_by_label("Terms (JSON: the fields of the REST API's product body)")
    example = json.loads(product_terms.input_value())
    product_terms.fill(json.dumps({**example, "name": f"Personal loan {tag}"}))
    products.get_by_role("button", name="Create the product").click()
    expect(page.get_by_role("status").first).to_contain_text("The product was created.")
    expect(page.get_by_role("link", name=f"personal-{tag}")).to_be_visible()

    # The product's own page: a new version of its terms, then its retirement.
    page.get_by_role("link", name=f"personal-{tag}").click()
    expect(
        page.get_by_role("heading", name=re.compile(f"Product Personal loan {tag}"))
    ).to_be_visible()
    product_url = page.url.split("?")[0]
    product_id = product_url.rstrip("/").rsplit("/", 1)[-1]
    page.get_by_label("Terms (JSON; only the fields that change need to be given)").fill(
        json.dumps({"name": f"Personal loan {tag} plus"})
    )
    page.get_by_label("Note", exact=True).fill("Renamed for the spring campaign")
    page.get_by_role("button", name="Save a new version").click()
    expect(page.get_by_role("status").first).to_contain_text("new version")
    expect(
        page.get_by_role("heading", name=re.compile(f"Personal loan {tag} plus"))
    ).to_be_visible()
    page.get_by_label("Why it is retired").fill("Replaced by the lender's new range")
    page.get_by_role("button", name="Retire the product").click()
    expect(page.get_by_role("status").first).to_contain_text("The product's retirement was saved.")
    expect(page.get_by_text("its terms can no longer change")).to_be_visible()
    web.check("product-retired")
    assert [action for action, _ in audited(database, product_id)] == [
        "lender_product.created",
        "lender_product.version_created",
        "lender_product.retired",
    ]
    page.goto(f"/admin/lenders/{lender_id}")

    details = page.get_by_role("region", name="New version of the details")
    details.get_by_label("Why it is retired").fill("The lender left the panel")
    details.get_by_role("button", name="Retire the lender").click()
    expect(page.get_by_role("status").first).to_contain_text("The lender's retirement was saved.")
    expect(details).to_contain_text("its details can no longer change")
    web.check("lender-retired")
    checker_id = _staff_id(database, staff.checker.email)
    assert audited(database, lender_id) == [
        ("lender.created", checker_id),
        ("lender.version_created", checker_id),
        ("lender.integration_changed", checker_id),
        ("lender.webhook_secret_rotated", checker_id),
        ("lender.retired", checker_id),
    ]


async def _broker(session: AsyncSession, tag: str) -> None:
    firm = await create_organization(session, name=f"Role Firm {tag}", slug=f"role-firm-{tag}")
    await create_user(
        session,
        organization=firm,
        role=Role.BROKER,
        email=f"rhea-{tag}@role.demo",
        full_name=f"Rhea Role {tag}",
    )


def test_a_brokers_role_is_changed(web: Web, staff: Staff) -> None:
    page = web.page
    tag = uuid.uuid4().hex[:6]
    database = web.server.database_url
    in_database(database, lambda s: _broker(s, tag))
    _sign_in(web, staff.checker)
    _nav(web, "People")
    page.get_by_label("Name or email").fill(f"rhea-{tag}@role.demo")
    page.get_by_role("button", name="Search").click()
    page.locator("#results").get_by_role("link", name=f"Rhea Role {tag}").click()
    person_id = _id_in(page.url, "/admin/people")
    page.get_by_label("Role", exact=True).select_option("broker_manager")
    page.get_by_role("button", name="Change the role").click()
    expect(page.get_by_role("status").first).to_contain_text("The role was changed")
    expect(page.get_by_role("row", name=re.compile("^Role"))).to_contain_text("broker manager")
    web.check("person-role-changed")
    assert audited(database, person_id, prefix="user.role") == [
        ("user.role_granted", _staff_id(database, staff.checker.email))
    ]


def test_a_prompt_engineer_creates_starts_and_stops_an_experiment(web: Web, staff: Staff) -> None:
    """On the staging label (the running assistant serves production), so no other test's
    conversation meets an arm."""
    page = web.page
    title = f"Shorter greeting {uuid.uuid4().hex[:6]}"
    database = web.server.database_url
    _sign_in(web, staff.engineer)
    expect(page).to_have_url(re.compile(r"/admin/prompts$"))
    page.locator("#results tbody tr a").first.click()
    page.get_by_role("link", name="A/B experiments").click()
    new = page.get_by_role("region", name="New experiment")
    new.get_by_label("Name", exact=True).fill(title)
    new.get_by_label("On the traffic of the label").select_option("staging")
    new.get_by_label("What it tests").fill("Whether a shorter greeting keeps people talking")
    versions = new.get_by_label("Arm 2 version").locator("option").all_inner_texts()
    new.get_by_label("Arm 1 name").fill("control")
    new.get_by_label("Arm 1 version").select_option("1")
    new.get_by_label("Arm 1 weight").fill("50")
    new.get_by_label("Arm 2 name").fill("challenger")
    new.get_by_label("Arm 2 version").select_option(label=versions[-1])
    new.get_by_label("Arm 2 weight").fill("50")
    new.get_by_role("button", name="Create the experiment (a draft)").click()
    expect(page.get_by_role("status").first).to_contain_text("created as a draft")
    web.check("experiment-created")
    page.get_by_role("link", name=title).click()
    experiment_id = _id_in(page.url, "/experiments")
    page.get_by_role("button", name="Start serving its arms").click()
    expect(page.get_by_role("status").first).to_contain_text("The experiment is running")
    expect(page.get_by_text("On staging, running")).to_be_visible()
    web.check("experiment-running")
    page.get_by_role("button", name="Stop the experiment").click()
    expect(page.get_by_role("status").first).to_contain_text("The experiment was stopped")
    web.check("experiment-stopped")
    engineer_id = _staff_id(database, staff.engineer.email)
    assert audited(database, experiment_id) == [
        ("prompt.experiment_created", engineer_id),
        ("prompt.experiment_started", engineer_id),
        ("prompt.experiment_stopped", engineer_id),
    ]


def _uploaded_pay_stubs(url: str, names: tuple[str, ...]) -> None:
    """Pay stubs the demo's direct borrower uploads through the REST API to a new draft (the
    server's job worker then extracts them into the review queue)."""
    token = _post(
        url, "/api/v1/auth/token", {"email": "direct@omnifin.demo", "password": DEMO_PASSWORD}
    )
    assert token.status_code == 200, token.text
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    started = _post(
        url,
        "/api/v1/applications",
        {"product_type": "auto", "amount": "18000.00", "term_months": 48},
        token.json()["access_token"],
    )
    assert started.status_code == 201, started.text
    for seed, name in enumerate(names, start=11):
        pay_stub = generate(DocumentType.PAY_STUB, seed=seed, today=date.today()).data
        uploaded = httpx.post(
            f"{url}/api/v1/documents",
            data={"application_id": started.json()["id"], "document_type": "pay_stub"},
            files={"file": (name, pay_stub, "application/pdf")},
            headers=headers,
            timeout=30,
        )
        assert uploaded.status_code == 201, uploaded.text


def test_documents_are_verified_and_rejected_with_a_reason_from_the_queue(
    web: Web, staff: Staff
) -> None:
    page = web.page
    tag = uuid.uuid4().hex[:6]
    good, bad = f"paystub-{tag}-good.pdf", f"paystub-{tag}-bad.pdf"
    database = web.server.database_url
    _uploaded_pay_stubs(web.server.url, (good, bad))
    _sign_in(web, staff.checker)
    _nav(web, "Documents")
    reload_until(page, page.get_by_role("link", name=bad), seconds=90)
    reload_until(page, page.get_by_role("link", name=good), seconds=30)

    page.get_by_role("link", name=good).click()
    expect(page.get_by_role("heading", name="Extracted fields")).to_be_visible()
    good_id = _id_in(page.url, "/admin/documents")
    web.check("document")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("status").first).to_contain_text("The document was verified.")
    expect(page.get_by_role("link", name=good)).to_have_count(0)  # out of the queue

    page.get_by_role("link", name=bad).click()
    bad_id = _id_in(page.url, "/admin/documents")
    page.get_by_label("Reason for rejecting (the borrower sees it)").fill(
        "The pay stub is for another employer than the application says"
    )
    page.get_by_role("button", name="Reject").click()
    expect(page.get_by_role("status").first).to_contain_text("The document was rejected.")
    expect(page.get_by_role("link", name=bad)).to_have_count(0)
    web.check("documents-decided")
    checker = _staff_id(database, staff.checker.email)
    assert audited(database, good_id, prefix="document.verified") == [
        ("document.verified", checker)
    ]
    assert audited(database, bad_id, prefix="document.rejected") == [("document.rejected", checker)]
    assert audited(database, good_id, prefix="document.rejected") == []


def test_a_knowledge_file_is_uploaded_ingested_published_and_archived(
    web: Web, staff: Staff
) -> None:
    """The upload is queued for the server's job worker, which parses and embeds it; the page
    shows its ingestion, then the version is published (searched) and the entry archived."""
    page = web.page
    tag = uuid.uuid4().hex[:6]
    key = f"e2e-prepayment-{tag}"
    database = web.server.database_url
    guide = (
        f"---\ntitle: Prepayment {tag}\n---\n\n# Prepayment\n\n"
        "You may repay a personal loan early at no cost; interest stops on the day you repay.\n"
    )
    _sign_in(web, staff.engineer)
    _nav(web, "Knowledge")
    page.get_by_text("Upload a file").click()
    page.get_by_label("File", exact=True).set_input_files(
        files=FilePayload(name=f"{key}.md", mimeType="text/markdown", buffer=guide.encode())
    )
    page.get_by_label("Key (optional: from the file's front matter or name)").fill(key)
    page.get_by_label("Change note (optional)").fill("First version, from the browser")
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("status").first).to_contain_text("the worker is parsing")
    expect(page.get_by_role("heading", name=f"Prepayment {tag}")).to_be_visible()
    entry_id = _id_in(page.url, "/admin/knowledge")
    versions = page.get_by_role("table", name="Newest first")
    reload_until(page, versions.get_by_role("cell", name="ready", exact=True), seconds=90)
    web.check("knowledge-ingested")

    page.get_by_role("button", name="Publish v1").click()
    expect(page.get_by_role("status").first).to_contain_text("The version is the one searched now.")
    expect(versions.get_by_role("cell", name="searched", exact=True)).to_be_visible()
    page.get_by_role("button", name="Archive: take it out of search").click()
    expect(page.get_by_role("status").first).to_contain_text("The entry is out of search")
    expect(page.get_by_role("row", name=re.compile("^Status"))).to_contain_text("archived")
    web.check("knowledge-archived")
    engineer = _staff_id(database, staff.engineer.email)
    assert audited(database, entry_id) == [
        ("knowledge.version_uploaded", engineer),
        ("knowledge.version_published", engineer),
        ("knowledge.entry_archived", engineer),
    ]

    # Re-indexing with the model already serving every search changes nothing, and says so.
    page.goto("/admin/knowledge")
    page.get_by_text("Embeddings and re-indexing").click()
    expect(page.get_by_role("table", name="Embedding sets")).to_contain_text("active")
    page.get_by_role("button", name=re.compile("^Re-index with")).click()
    expect(page.get_by_role("status").first).to_contain_text("already serves every search")
    web.check("knowledge-reindex")


async def _firm_bonus(session: AsyncSession, tag: str) -> None:
    """A manual commission adjustment for a firm of its own: something for a batch to pay."""
    admin = await _admin_user(session)
    assert admin is not None
    firm = await create_organization(session, name=f"Bonus Firm {tag}", slug=f"bonus-{tag}")
    await commission_entry_service.adjust(
        session,
        actor_of(admin),
        data=AdjustmentCreate(
            payee_kind="organization",
            payee_id=firm.id,
            party=Party.FIRM,
            amount=Decimal("120.00"),
            effective_on=date.today(),
            reason="A bonus for the failed batch test",
        ),
    )


def test_a_draft_batch_is_marked_failed_with_a_reason(web: Web, staff: Staff) -> None:
    page = web.page
    database = web.server.database_url
    in_database(database, lambda s: _firm_bonus(s, uuid.uuid4().hex[:6]))
    _sign_in(web, staff.maker)
    _nav(web, "Commissions")
    page.get_by_text("Draft a new batch").click()
    page.get_by_label("Cut-off date").fill(date.today().isoformat())
    page.get_by_role("button", name="Draft the batch").click()
    expect(page.get_by_role("status").first).to_contain_text("Another administrator must approve")
    batch_id = _id_in(page.url, "/admin/commissions/batches")
    page.get_by_label("Why it failed or is dropped").fill("The bank rejected the payment file")
    page.get_by_role("button", name="Mark failed").click()
    expect(page.get_by_role("status").first).to_contain_text("The batch was marked failed")
    expect(page.get_by_role("row", name=re.compile("^Failed"))).to_contain_text(
        "The bank rejected the payment file"
    )
    expect(page.get_by_role("button", name="Mark failed")).to_have_count(0)
    web.check("batch-failed")
    maker = _staff_id(database, staff.maker.email)
    assert audited(database, batch_id) == [
        ("commission.batch_created", maker),
        ("commission.batch_failed", maker),
    ]
