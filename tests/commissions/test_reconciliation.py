"""Reconciling a lender's statement: match by reference, then by borrower and funding date;
underpaid, overpaid, unexpected, needs_review, missing_expected; resolution with a reason."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from lending.commissions.accrual import accrual
from lending.commissions.reconciliation import reconciliation
from lending.commissions.schemas import LineResolve, StatementImport
from lending.errors import InvalidInput
from lending.models.lenders import Lender
from tests.commissions.factories import create_admin, create_loan, create_rule
from tests.identity.factories import actor_of, create_organization


async def test_each_line_gets_its_status_and_difference(session: AsyncSession) -> None:
    admin = await create_admin(session)
    lender = Lender(slug="recon-bank", name="Recon Bank")
    session.add(lender)
    await session.flush()
    firm = await create_organization(session)
    await create_rule(session, admin, splits={"platform": "20", "firm": "10", "broker": "70"})

    def loan(reference: str, name: str, day: int, amount: str = "100000.00"):  # type: ignore[no-untyped-def]
        return create_loan(
            session,
            firm,
            lender_id=lender.id,
            reference=reference,
            borrower_name=name,
            funded_on=date(2026, 3, day),
            amount=amount,
        )

    await loan("OMF-A", "Ann Able", 2)  # 650.00 expected
    await loan("OMF-B", "Ben Best", 3)  # paid short
    await loan("OMF-C", "Cy Cole", 4)  # matched by name and date
    await loan("OMF-D", "Di Dunn", 5)  # paid too much
    await loan("OMF-E", "Ed Twin", 6)  # two loans fit the name and date
    await loan("OMF-F", "Ed Twin", 6)
    await loan("OMF-G", "Gil Gone", 7)  # not on the statement
    await accrual.accrue_pending(session)

    csv_text = (
        "loan_reference,borrower_name,funding_date,amount\n"
        "OMF-A,Ann Able,2026-03-02,650.00\n"
        "omf-b,Ben Best,2026-03-03,600.00\n"
        ",  cy   COLE ,2026-03-04,650.00\n"
        "OMF-D,Di Dunn,2026-03-05,700.00\n"
        ",Ed Twin,2026-03-06,650.00\n"
        "LN-999,Nobody Known,2026-03-08,120.00\n"
        "OMF-A,Ann Able,2026-03-02,650.00\n"
    )
    result = await reconciliation.import_statement(
        session,
        actor_of(admin),
        data=StatementImport(
            lender_id=lender.id,
            period_start=date(2026, 3, 1),
            period_end=date(2026, 3, 31),
            csv_text=csv_text,
            filename="march.csv",
        ),
    )

    by_line = {line.line_number: line for line in result.lines}
    assert by_line[2].status.value == "match"
    assert by_line[3].status.value == "underpaid"
    assert by_line[3].difference == Decimal("-50.00")
    assert by_line[4].status.value == "match"
    assert by_line[4].matched_by == "borrower_and_funding_date"
    assert by_line[5].status.value == "overpaid"
    assert by_line[5].difference == Decimal("50.00")
    assert by_line[6].status.value == "needs_review"
    assert by_line[7].status.value == "unexpected"
    assert by_line[8].status.value == "needs_review"  # OMF-A a second time
    missing = [line for line in result.lines if line.line_number is None]
    assert {line.loan_reference for line in missing} == {"OMF-E", "OMF-F", "OMF-G"}
    assert all(line.status.value == "missing_expected" for line in missing)
    assert result.counts["missing_expected"] == 3

    resolved = await reconciliation.resolve(
        session,
        actor_of(admin),
        statement_id=result.id,
        line_id=by_line[3].id,
        data=LineResolve(reason="Lender confirmed a 50.00 correction next month."),
    )
    assert resolved.resolved_by_user_id == admin.id
    assert resolved.status.value == "underpaid"


async def test_a_bad_csv_is_refused_line_by_line_and_saves_nothing(session: AsyncSession) -> None:
    admin = await create_admin(session)
    lender = Lender(slug="recon-bank-2", name="Recon Bank 2")
    session.add(lender)
    await session.flush()
    with pytest.raises(InvalidInput) as refused:
        await reconciliation.import_statement(
            session,
            actor_of(admin),
            data=StatementImport(
                lender_id=lender.id,
                period_start=date(2026, 3, 1),
                period_end=date(2026, 3, 31),
                csv_text="loan_reference,borrower_name,funding_date,amount\n"
                "OMF-A,Ann,2026-03-02,12.345\nOMF-B,Ben,03/02/2026,1.00\n",
            ),
        )
    problems = refused.value.detail
    assert isinstance(problems, list)
    assert [problem["loc"][2:] for problem in problems] == [
        [2, "amount"],
        [3, "funding_date"],
    ]
    assert await session.scalar(text("SELECT count(*) FROM lender_statement")) == 0
