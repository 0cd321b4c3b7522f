"""Commission rules, servicing events and lender statement reconciliation in the back office:
each action through the commission services (audit, guards, state checks), refusals shown as
messages with nothing changed, CSRF on every form, and the section closed to prompt engineers."""

from __future__ import annotations

import json
import re
import uuid
from datetime import date

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from lending.commissions.accrual import accrual_service
from lending.config import Settings
from lending.models.audit import AuditEvent
from lending.models.commissions import (
    CommissionRuleVersion,
    FundedLoan,
    LenderStatementLine,
    LineStatus,
    LoanStatus,
)
from lending.models.identity import Role
from lending.models.lenders import Lender
from tests.admin.conftest import Signed, signed_in
from tests.commissions.factories import create_loan, create_rule
from tests.identity.factories import create_organization


async def _actions(session: AsyncSession, subject_id: uuid.UUID | str) -> list[str]:
    rows = await session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.subject_id == str(subject_id))
        .order_by(AuditEvent.id)
    )
    return list(rows)


async def _versions(session: AsyncSession, rule_id: uuid.UUID) -> list[int]:
    rows = await session.scalars(
        select(CommissionRuleVersion.version)
        .where(CommissionRuleVersion.rule_id == rule_id)
        .order_by(CommissionRuleVersion.version)
    )
    return list(rows)


async def _admin(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> Signed:
    return await signed_in(admin_app, session, settings, Role.PLATFORM_ADMIN)


# Rules


async def test_a_rule_is_created_and_versioned_from_the_page_and_both_are_audited(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    admin = await _admin(admin_app, session, settings)
    terms = {
        "name": "Brokers 0.7%",
        "effective_from": "2026-01-01",
        "upfront_percent": "0.70",
        "splits": {"platform": "20", "broker": "80"},
    }
    created = await admin.post("/admin/commissions/rules", {"terms": json.dumps(terms)})
    assert created.status_code == 303, created.text
    rule_id = uuid.UUID(created.headers["location"].split("/")[-1].split("?")[0])

    page = await admin.http.get(f"/admin/commissions/rules/{rule_id}")
    assert page.status_code == 200
    assert "Brokers 0.7%" in page.text
    # The new version's form starts from the latest version's terms.
    assert re.search(r"&#34;upfront_percent&#34;: &#34;0\.70*&#34;", page.text), page.text

    newer = dict(terms, upfront_percent="0.80")
    for key in ("name", "effective_from"):
        newer.pop(key)
    versioned = await admin.post(
        f"/admin/commissions/rules/{rule_id}/versions",
        {"effective_from": "2026-07-01", "terms": json.dumps(newer)},
    )
    assert versioned.status_code == 303, versioned.text
    assert await _versions(session, rule_id) == [1, 2]
    assert await _actions(session, rule_id) == [
        "commission.rule_created",
        "commission.rule_versioned",
    ]
    listed = await admin.http.get("/admin/commissions/rules")
    assert f"/admin/commissions/rules/{rule_id}" in listed.text
    assert "2026-07-01" in listed.text


async def test_a_guard_refusal_and_bad_json_are_shown_and_save_nothing(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    admin = await _admin(admin_app, session, settings)
    rule = await create_rule(session, admin.user)
    rate_dependent = {
        "upfront_percent": "0.65",
        "splits": {"broker": "100"},
        "conditions": [{"field": "note_rate", "op": "gte", "value": "7"}],
    }
    refused = await admin.post(
        f"/admin/commissions/rules/{rule.id}/versions",
        {"effective_from": "2026-06-01", "terms": json.dumps(rate_dependent)},
    )
    assert refused.status_code == 422
    assert "rate or terms" in refused.text
    assert "Reg Z" in refused.text
    # The form keeps what was typed.
    assert "note_rate" in refused.text

    broken = await admin.post(
        f"/admin/commissions/rules/{rule.id}/versions",
        {"effective_from": "2026-06-01", "terms": "{not json"},
    )
    assert broken.status_code == 422
    assert "not valid JSON" in broken.text

    no_splits = await admin.post(
        "/admin/commissions/rules",
        {"terms": json.dumps({"name": "x", "effective_from": "2026-01-01", "upfront_flat": "5"})},
    )
    assert no_splits.status_code == 422
    assert "splits" in no_splits.text

    assert await _versions(session, rule.id) == [1]
    count = await session.scalar(text("SELECT count(*) FROM commission_rule"))
    assert count == 1


# Funded loans and servicing events


async def test_a_discharge_is_recorded_from_the_page_and_the_closed_loan_refuses_more(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    admin = await _admin(admin_app, session, settings)
    firm = await create_organization(session)
    loan = await create_loan(session, firm, reference="OMF-2026-900001")
    other = await create_loan(session, firm, reference="OMF-2025-000001")

    found = await admin.http.get("/admin/commissions/loans?q=omf-2026-9")
    assert found.status_code == 200
    assert "OMF-2026-900001" in found.text
    assert "OMF-2025-000001" not in found.text
    active = await admin.http.get("/admin/commissions/loans?status=active")
    assert str(other.id) in active.text

    recorded = await admin.post(
        f"/admin/commissions/loans/{loan.id}/events",
        {"kind": "discharged", "occurred_on": "2026-05-02", "note": "paid off"},
    )
    assert recorded.status_code == 303, recorded.text
    await session.refresh(loan)
    assert (loan.status, loan.closed_on) == (LoanStatus.DISCHARGED, date(2026, 5, 2))
    assert await _actions(session, loan.id) == ["commission.loan_discharged"]
    queued = await session.scalar(
        text("SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'commissions.claw_back'")
    )
    assert queued == 1

    page = await admin.http.get(f"/admin/commissions/loans/{loan.id}")
    assert "paid off" in page.text
    assert "Record a servicing event" not in page.text

    again = await admin.post(
        f"/admin/commissions/loans/{loan.id}/events",
        {"kind": "balance", "occurred_on": "2026-06-01", "outstanding_balance": "10.00"},
    )
    assert again.status_code == 409
    assert "no further events" in again.text


async def test_an_event_before_funding_is_refused_with_its_field_named(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    admin = await _admin(admin_app, session, settings)
    loan = await create_loan(session, await create_organization(session))
    refused = await admin.post(
        f"/admin/commissions/loans/{loan.id}/events",
        {"kind": "arrears", "occurred_on": "2020-01-01"},
    )
    assert refused.status_code == 422
    assert "occurred_on: before the loan was funded" in refused.text
    fresh = await session.get(FundedLoan, loan.id, populate_existing=True)
    assert fresh is not None
    assert fresh.status is LoanStatus.ACTIVE
    assert await _actions(session, loan.id) == []


# Reconciliation


async def test_a_statement_is_uploaded_reconciled_and_a_mismatch_resolved_with_a_reason(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    admin = await _admin(admin_app, session, settings)
    lender = Lender(slug="recon-page-bank", name="Recon Page Bank")
    session.add(lender)
    await session.flush()
    firm = await create_organization(session)
    await create_rule(session, admin.user, splits={"platform": "20", "firm": "10", "broker": "70"})
    for reference, name, day in (("OMF-P1", "Ann Able", 2), ("OMF-P2", "Ben Best", 3)):
        await create_loan(
            session,
            firm,
            lender_id=lender.id,
            reference=reference,
            borrower_name=name,
            funded_on=date(2026, 3, day),
            amount="100000.00",
        )
    await accrual_service.accrue_pending(session)
    csv_text = (
        "loan_reference,borrower_name,funding_date,amount\n"
        "OMF-P1,Ann Able,2026-03-02,650.00\n"
        "OMF-P2,Ben Best,2026-03-03,600.00\n"
    )
    form = {
        "csrf_token": admin.csrf,
        "lender_id": str(lender.id),
        "period_start": "2026-03-01",
        "period_end": "2026-03-31",
    }
    files = {"statement": ("march.csv", csv_text.encode(), "text/csv")}
    imported = await admin.http.post("/admin/commissions/statements", data=form, files=files)
    assert imported.status_code == 303, imported.text
    statement_id = imported.headers["location"].split("/")[-1].split("?")[0]

    page = await admin.http.get(f"/admin/commissions/statements/{statement_id}")
    assert page.status_code == 200
    assert "recon-page-bank" in page.text  # a lender without catalog versions shows its slug
    underpaid = await admin.http.get(
        f"/admin/commissions/statements/{statement_id}?status=underpaid"
    )
    assert "OMF-P2" in underpaid.text
    assert "-50.00" in underpaid.text
    assert "OMF-P1" not in underpaid.text
    listed = await admin.http.get(f"/admin/commissions/statements?lender={lender.id}")
    assert statement_id in listed.text

    line = (
        await session.scalars(
            select(LenderStatementLine).where(LenderStatementLine.status == LineStatus.UNDERPAID)
        )
    ).one()
    resolve = f"/admin/commissions/statements/{statement_id}/lines/{line.id}/resolve"
    blank = await admin.post(resolve, {"reason": "  "})
    assert blank.status_code == 422
    resolved = await admin.post(resolve, {"reason": "Lender pays the rest in April"})
    assert resolved.status_code == 303
    await session.refresh(line)
    assert line.resolution_reason == "Lender pays the rest in April"
    assert line.resolved_by_user_id == admin.user.id
    assert await _actions(session, statement_id) == [
        "commission.statement_imported",
        "commission.statement_line_resolved",
    ]


async def test_a_bad_statement_is_refused_with_its_problems_and_imports_nothing(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    admin = await _admin(admin_app, session, settings)
    lender = Lender(slug="recon-bad-bank", name="Recon Bad Bank")
    session.add(lender)
    await session.flush()
    form = {
        "csrf_token": admin.csrf,
        "lender_id": str(lender.id),
        "period_start": "2026-03-01",
        "period_end": "2026-03-31",
    }
    bad = "loan_reference,borrower_name,funding_date,amount\nOMF-1,Ann,2026-03-02,12.345\n"
    refused = await admin.http.post(
        "/admin/commissions/statements",
        data=form,
        files={"statement": ("bad.csv", bad.encode(), "text/csv")},
    )
    assert refused.status_code == 422
    assert "not an amount with at most 2 decimals" in refused.text
    binary = await admin.http.post(
        "/admin/commissions/statements",
        data=form,
        files={"statement": ("bad.csv", b"\xff\xfe\x00", "text/csv")},
    )
    assert binary.status_code == 422
    assert "not a UTF-8 CSV file" in binary.text
    no_csrf = await admin.http.post(
        "/admin/commissions/statements",
        data={k: v for k, v in form.items() if k != "csrf_token"},
        files={"statement": ("ok.csv", b"loan_reference,borrower_name,funding_date,amount\n")},
    )
    assert no_csrf.status_code == 403
    count = await session.scalar(text("SELECT count(*) FROM lender_statement"))
    assert count == 0


async def test_a_prompt_engineer_cannot_open_the_commission_pages(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    engineer = await signed_in(admin_app, session, settings, Role.PROMPT_ENGINEER)
    for path in (
        "/admin/commissions/rules",
        "/admin/commissions/loans",
        "/admin/commissions/statements",
    ):
        answer = await engineer.http.get(path)
        assert answer.status_code == 403, path
    posted = await engineer.post(
        "/admin/commissions/rules", {"terms": json.dumps({"name": "sneaky"})}
    )
    assert posted.status_code == 403
    count = await session.scalar(text("SELECT count(*) FROM commission_rule"))
    assert count == 0


async def test_a_long_statement_is_paged_filtered_and_a_forged_cursor_is_refused(
    admin_app: httpx.ASGITransport, session: AsyncSession, settings: Settings
) -> None:
    """The statement's page shows 50 lines at a time: the next page through the cursor in the
    address, every line once; a line resolved on page 2 brings the reviewer back to page 2."""
    admin = await _admin(admin_app, session, settings)
    lender = Lender(slug="recon-long-bank", name="Recon Long Bank")
    session.add(lender)
    await session.flush()
    # 60 lines and no loan of this lender: each line is unexpected.
    csv_text = "loan_reference,borrower_name,funding_date,amount\n" + "".join(
        f"LN-{n:03d},Someone,2026-03-10,{n}.00\n" for n in range(1, 61)
    )
    form = {
        "csrf_token": admin.csrf,
        "lender_id": str(lender.id),
        "period_start": "2026-03-01",
        "period_end": "2026-03-31",
    }
    imported = await admin.http.post(
        "/admin/commissions/statements",
        data=form,
        files={"statement": ("long.csv", csv_text.encode(), "text/csv")},
    )
    assert imported.status_code == 303, imported.text
    detail = imported.headers["location"].split("?")[0]

    def references(html: str) -> list[str]:
        return re.findall(r"<td>(LN-\d{3})</td>", html)

    def next_link(html: str) -> str | None:
        found = re.search(r'<a href="([^"]+)" rel="next">Next page</a>', html)
        return found.group(1).replace("&amp;", "&") if found else None

    first = await admin.http.get(detail)
    assert first.status_code == 200
    assert references(first.text) == [f"LN-{n:03d}" for n in range(1, 51)]
    assert ">60</td>" in first.text  # the count of unexpected lines is the statement's
    second_url = next_link(first.text)
    assert second_url is not None
    assert "cursor=" in second_url
    second = await admin.http.get(second_url)
    assert second.status_code == 200
    assert references(second.text) == [f"LN-{n:03d}" for n in range(51, 61)]
    assert next_link(second.text) is None
    assert "End of the list" in second.text
    assert f'href="{detail}"' in second.text  # back to the first page

    # The outcome filter pages too, and keeps its own cursor.
    filtered = await admin.http.get(detail, params={"status": "unexpected", "limit": "25"})
    assert references(filtered.text) == [f"LN-{n:03d}" for n in range(1, 26)]
    filtered_next = next_link(filtered.text)
    assert filtered_next is not None
    assert "status=unexpected" in filtered_next
    none_matched = await admin.http.get(detail, params={"status": "match"})
    assert references(none_matched.text) == []
    assert "No line with this outcome." in none_matched.text

    # Resolving a line of page 2 comes back to page 2, where the line shows resolved.
    line = (
        await session.scalars(
            select(LenderStatementLine).where(LenderStatementLine.loan_reference == "LN-055")
        )
    ).one()
    cursor = second_url.split("cursor=")[1]
    resolved = await admin.post(
        f"{detail}/lines/{line.id}/resolve",
        {"reason": "Another firm's loan, sent to the lender", "cursor": cursor},
    )
    assert resolved.status_code == 303, resolved.text
    back = resolved.headers["location"]
    assert f"cursor={cursor}" in back
    assert "done=resolved" in back
    page_two = await admin.http.get(back)
    assert "Another firm&#39;s loan, sent to the lender" in page_two.text
    assert references(page_two.text)[0] == "LN-051"
    only_resolved = await admin.http.get(detail, params={"resolution": "resolved"})
    assert references(only_resolved.text) == ["LN-055"]

    for forged in ("not-a-cursor", "WyJ4Il0", "W10"):
        refused = await admin.http.get(detail, params={"cursor": forged})
        assert refused.status_code == 422, forged
        assert "The page cursor is not valid: start again from the first page." in refused.text
    unknown = await admin.http.get(detail, params={"status": "settled"})
    assert unknown.status_code == 422
    assert "Unknown outcome: settled." in unknown.text
    assert await _actions(session, detail.rsplit("/", 1)[1]) == [
        "commission.statement_imported",
        "commission.statement_line_resolved",
    ]
