"""Reconciling a lender's statement: match by reference, then by borrower and funding date;
underpaid, overpaid, unexpected, needs_review, missing_expected; resolution with a reason."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from lending.commissions.accrual import accrual_service
from lending.commissions.reconciliation import reconciliation_service
from lending.commissions.schemas import LineResolution, LineResolve, StatementImport
from lending.errors import InvalidInput
from lending.models.commissions import LineStatus
from lending.models.lenders import Lender
from lending.pagination import encode_cursor
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
    await accrual_service.accrue_pending(session)

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
    result = await reconciliation_service.import_statement(
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

    resolved = await reconciliation_service.resolve(
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
        await reconciliation_service.import_statement(
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


async def test_a_statements_lines_are_paged_by_keyset_and_filtered(session: AsyncSession) -> None:
    """Page by page, every line once in import order (the CSV's, then the expected loans it
    left out), whatever the filter; a forged cursor is refused as bad input."""
    admin = await create_admin(session)
    lender = Lender(slug="recon-paged-bank", name="Recon Paged Bank")
    session.add(lender)
    await session.flush()
    firm = await create_organization(session)
    await create_rule(session, admin, splits={"broker": "100"})
    for reference, day in (("OMF-Q1", 2), ("OMF-Q2", 3)):
        await create_loan(
            session,
            firm,
            lender_id=lender.id,
            reference=reference,
            borrower_name=f"Borrower {reference}",
            funded_on=date(2026, 3, day),
            amount="100000.00",
        )
    await accrual_service.accrue_pending(session)
    unknown = "".join(f"LN-{n:03d},Someone {n},2026-03-10,{n}.00\n" for n in range(1, 10))
    imported = await reconciliation_service.import_statement(
        session,
        actor_of(admin),
        data=StatementImport(
            lender_id=lender.id,
            period_start=date(2026, 3, 1),
            period_end=date(2026, 3, 31),
            # OMF-Q1 paid short, nine lines of no loan, OMF-Q2 left out (missing_expected).
            csv_text="loan_reference,borrower_name,funding_date,amount\n"
            "OMF-Q1,Borrower OMF-Q1,2026-03-02,600.00\n" + unknown,
        ),
    )
    actor = actor_of(admin)

    async def every_page(
        status: LineStatus | None = None, resolution: LineResolution | None = None
    ) -> list[list[int | None]]:
        pages: list[list[int | None]] = []
        cursor = None
        while True:
            page = await reconciliation_service.page_lines(
                session,
                actor,
                statement_id=imported.id,
                status=status,
                resolution=resolution,
                cursor=cursor,
                limit=4,
            )
            pages.append([line.line_number for line in page.items])
            if page.next_cursor is None:
                return pages
            cursor = page.next_cursor

    assert await every_page() == [[2, 3, 4, 5], [6, 7, 8, 9], [10, 11, None]]
    assert [line.line_number for line in imported.lines] == [2, *range(3, 12), None]
    unexpected = await every_page(status=LineStatus.UNEXPECTED)
    assert unexpected == [[3, 4, 5, 6], [7, 8, 9, 10], [11]]
    assert imported.counts["unexpected"] == 9
    overview = await reconciliation_service.overview(session, actor, statement_id=imported.id)
    assert overview.counts == imported.counts
    assert (overview.counts["underpaid"], overview.counts["missing_expected"]) == (1, 1)

    short = (
        await reconciliation_service.page_lines(session, actor, statement_id=imported.id)
    ).items[0]
    await reconciliation_service.resolve(
        session,
        actor,
        statement_id=imported.id,
        line_id=short.id,
        data=LineResolve(reason="The lender pays the rest next month."),
    )
    assert await every_page(resolution=LineResolution.RESOLVED) == [[2]]
    still_open = await every_page(resolution=LineResolution.OPEN)
    assert still_open == [[3, 4, 5, 6], [7, 8, 9, 10], [11, None]]
    assert await every_page(status=LineStatus.MATCH) == [[]]

    for forged in ("!!!", encode_cursor(["not a number"]), encode_cursor([1, 2])):
        with pytest.raises(InvalidInput, match="page cursor is not valid"):
            await reconciliation_service.page_lines(
                session, actor, statement_id=imported.id, cursor=forged
            )
