"""Queries of the commissions domain. Reads for an actor go through `entry_reach`: a broker
sees what is paid to them, a broker manager their firm's entries (not the platform's share),
a platform admin everything."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Self

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    false,
    func,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from lending.identity.actor import Actor
from lending.identity.scopes import Scope
from lending.models.applications import (
    Application,
    ApplicationEvent,
    ApplicationStatus,
    BorrowerProfile,
)
from lending.models.commissions import (
    BatchStatus,
    CommissionEntry,
    CommissionJurisdiction,
    CommissionRule,
    CommissionRuleVersion,
    EntryKind,
    FundedLoan,
    LenderStatement,
    LenderStatementLine,
    LineStatus,
    LoanServicingEvent,
    LoanStatus,
    Party,
    PayoutBatch,
    PayoutBatchItem,
    ServicingEventKind,
)
from lending.models.identity import Organization, User
from lending.models.offers import Offer, OfferStatus
from lending.pagination import Page, fetch_page

READ_SCOPES = (
    Scope.COMMISSIONS_READ_ALL,
    Scope.COMMISSIONS_READ_FIRM,
    Scope.COMMISSIONS_READ_OWN,
)


def entry_reach(actor: Actor) -> ColumnElement[bool]:
    if actor.has(Scope.COMMISSIONS_READ_ALL):
        return true()
    conditions: list[ColumnElement[bool]] = []
    if actor.has(Scope.COMMISSIONS_READ_FIRM):
        conditions.append(
            and_(
                CommissionEntry.organization_id == actor.organization_id,
                CommissionEntry.party != Party.PLATFORM,
            )
        )
    if actor.has(Scope.COMMISSIONS_READ_OWN):
        conditions.append(CommissionEntry.payee_id == actor.user_id)
    return or_(*conditions) if conditions else false()


def payee_name() -> ColumnElement[str]:
    """The payee's display name: the user's full name or the organization's name."""
    user_name = select(User.full_name).where(User.id == CommissionEntry.payee_id).scalar_subquery()
    org_name = (
        select(Organization.name)
        .where(Organization.id == CommissionEntry.payee_id)
        .scalar_subquery()
    )
    return case((CommissionEntry.payee_kind == "user", user_name), else_=org_name)


class CommissionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: AsyncSession) -> Self:
        return cls(session)

    async def flush(self) -> None:
        await self.session.flush()

    # Rules

    async def jurisdiction(
        self, code: str, *, for_update: bool = False
    ) -> CommissionJurisdiction | None:
        return await self.session.get(CommissionJurisdiction, code, with_for_update=for_update)

    async def jurisdictions(self) -> Sequence[CommissionJurisdiction]:
        statement = select(CommissionJurisdiction).order_by(CommissionJurisdiction.code)
        return (await self.session.scalars(statement)).all()

    async def add(self, row: Any) -> None:
        self.session.add(row)
        await self.session.flush()

    async def rule(self, rule_id: uuid.UUID, *, for_update: bool = False) -> CommissionRule | None:
        return await self.session.get(CommissionRule, rule_id, with_for_update=for_update)

    async def rules(self) -> Sequence[CommissionRule]:
        statement = select(CommissionRule).order_by(CommissionRule.created_at, CommissionRule.id)
        return (await self.session.scalars(statement)).all()

    async def versions(self, rule_ids: Sequence[uuid.UUID]) -> Sequence[CommissionRuleVersion]:
        statement = (
            select(CommissionRuleVersion)
            .where(CommissionRuleVersion.rule_id.in_(rule_ids))
            .order_by(CommissionRuleVersion.rule_id, CommissionRuleVersion.version)
        )
        return (await self.session.scalars(statement)).all()

    async def version(self, version_id: uuid.UUID) -> CommissionRuleVersion | None:
        return await self.session.get(CommissionRuleVersion, version_id)

    # Loans

    async def loan(self, loan_id: uuid.UUID, *, for_update: bool = False) -> FundedLoan | None:
        return await self.session.get(FundedLoan, loan_id, with_for_update=for_update)

    async def loan_for_application(self, application_id: uuid.UUID) -> FundedLoan | None:
        statement = select(FundedLoan).where(FundedLoan.application_id == application_id)
        return (await self.session.scalars(statement)).one_or_none()

    async def application(self, application_id: uuid.UUID) -> Application | None:
        return await self.session.get(Application, application_id)

    async def accepted_offer(self, application_id: uuid.UUID) -> Offer | None:
        statement = select(Offer).where(
            Offer.application_id == application_id, Offer.status == OfferStatus.ACCEPTED
        )
        return (await self.session.scalars(statement)).first()

    async def funding_event(
        self, application_id: uuid.UUID
    ) -> tuple[datetime | None, uuid.UUID | None]:
        """When the application was (last) funded, and the lender that reported it."""
        statement = (
            select(ApplicationEvent.occurred_at, ApplicationEvent.lender_id)
            .where(
                ApplicationEvent.application_id == application_id,
                ApplicationEvent.to_status == ApplicationStatus.FUNDED,
            )
            .order_by(ApplicationEvent.id.desc())
            .limit(1)
        )
        row = (await self.session.execute(statement)).first()
        return (row.occurred_at, row.lender_id) if row else (None, None)

    async def borrower_profile(self, user_id: uuid.UUID) -> BorrowerProfile | None:
        statement = select(BorrowerProfile).where(BorrowerProfile.user_id == user_id)
        return (await self.session.scalars(statement)).one_or_none()

    async def user(self, user_id: uuid.UUID) -> User | None:
        return await self.session.get(User, user_id)

    async def add_loan_once(self, values: dict[str, Any]) -> None:
        """Insert a funded loan unless its application already has one (a job run twice)."""
        await self.session.execute(
            insert(FundedLoan)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["application_id"])
        )

    async def loans_without_upfront(self) -> int:
        upfront = select(CommissionEntry.id).where(
            CommissionEntry.event_key == func.concat("funded:", FundedLoan.id)
        )
        statement = select(func.count()).select_from(FundedLoan).where(~upfront.exists())
        return int(await self.session.scalar(statement) or 0)

    async def unclawed_closures(self) -> list[int]:
        """Discharge or refinance events of loans with upfront entries and no clawback yet."""
        loan = LoanServicingEvent.loan_id
        upfront = select(CommissionEntry.id).where(
            CommissionEntry.event_key == func.concat("funded:", loan)
        )
        clawback = select(CommissionEntry.id).where(
            CommissionEntry.event_key == func.concat("clawback:", loan)
        )
        statement = select(LoanServicingEvent.id).where(
            LoanServicingEvent.kind.in_(
                [ServicingEventKind.DISCHARGED, ServicingEventKind.REFINANCED]
            ),
            upfront.exists(),
            ~clawback.exists(),
        )
        return list((await self.session.scalars(statement)).all())

    async def servicing_event(self, event_id: int) -> LoanServicingEvent | None:
        return await self.session.get(LoanServicingEvent, event_id)

    async def servicing_event_from_lender(
        self, loan_id: uuid.UUID, lender_event_id: str
    ) -> LoanServicingEvent | None:
        statement = select(LoanServicingEvent).where(
            LoanServicingEvent.loan_id == loan_id,
            LoanServicingEvent.lender_event_id == lender_event_id,
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def loan_by_reference(self, reference: str) -> FundedLoan | None:
        statement = select(FundedLoan).where(FundedLoan.reference == reference)
        return (await self.session.scalars(statement)).one_or_none()

    async def loans(
        self, *, status: LoanStatus | None, reference: str | None, cursor: str | None, limit: int
    ) -> Page[FundedLoan]:
        """Funded loans by reference, newest first (references are numbered by year); a
        reference prefix narrows the range of the reference's unique index."""
        statement = select(FundedLoan)
        if status is not None:
            statement = statement.where(FundedLoan.status == status)
        if reference:
            prefix = reference.upper()
            statement = statement.where(
                FundedLoan.reference >= prefix, FundedLoan.reference < prefix + "\uffff"
            )
        return await fetch_page(
            self.session, statement, [FundedLoan.reference], cursor=cursor, limit=limit
        )

    async def servicing_events(self, loan_id: uuid.UUID) -> Sequence[LoanServicingEvent]:
        statement = (
            select(LoanServicingEvent)
            .where(LoanServicingEvent.loan_id == loan_id)
            .order_by(LoanServicingEvent.occurred_on.desc(), LoanServicingEvent.id.desc())
        )
        return (await self.session.scalars(statement)).all()

    # Entries

    def scoped_entries(self, actor: Actor) -> Select[CommissionEntry]:
        return select(CommissionEntry).where(entry_reach(actor))

    async def entry_scoped(self, actor: Actor, entry_id: int) -> CommissionEntry | None:
        statement = self.scoped_entries(actor).where(CommissionEntry.id == entry_id)
        return (await self.session.scalars(statement)).one_or_none()

    async def list_entries(
        self,
        actor: Actor,
        *,
        loan_id: uuid.UUID | None,
        payee_id: uuid.UUID | None,
        kind: EntryKind | None,
        period_start: date | None,
        period_end: date | None,
        limit: int,
        offset: int,
    ) -> Sequence[tuple[CommissionEntry, str | None]]:
        statement = (
            select(CommissionEntry, FundedLoan.reference)
            .outerjoin(FundedLoan, FundedLoan.id == CommissionEntry.loan_id)
            .where(entry_reach(actor))
        )
        if loan_id is not None:
            statement = statement.where(CommissionEntry.loan_id == loan_id)
        if payee_id is not None:
            statement = statement.where(CommissionEntry.payee_id == payee_id)
        if kind is not None:
            statement = statement.where(CommissionEntry.kind == kind)
        if period_start is not None:
            statement = statement.where(CommissionEntry.effective_on >= period_start)
        if period_end is not None:
            statement = statement.where(CommissionEntry.effective_on <= period_end)
        statement = (
            statement.order_by(CommissionEntry.effective_on.desc(), CommissionEntry.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [(row[0], row[1]) for row in (await self.session.execute(statement)).all()]

    async def balances(
        self, actor: Actor, *, period_start: date | None, period_end: date | None
    ) -> Sequence[Any]:
        """Per payee and currency: accrued, clawed back, adjusted (adjustments and reversals),
        paid, and the balance (the sum of every entry)."""
        kind = CommissionEntry.kind
        total = CommissionEntry.total_amount

        def of(*kinds: EntryKind) -> Any:
            return func.coalesce(func.sum(total).filter(kind.in_(kinds)), 0)

        statement = select(
            CommissionEntry.payee_kind,
            CommissionEntry.payee_id,
            payee_name().label("payee_name"),
            CommissionEntry.currency,
            of(EntryKind.ACCRUAL).label("accrued"),
            of(EntryKind.CLAWBACK).label("clawed_back"),
            of(EntryKind.ADJUSTMENT, EntryKind.REVERSAL).label("adjusted"),
            of(EntryKind.PAYOUT).label("paid"),
            func.sum(total).label("balance"),
            func.count().label("entries"),
        ).where(entry_reach(actor))
        if period_start is not None:
            statement = statement.where(CommissionEntry.effective_on >= period_start)
        if period_end is not None:
            statement = statement.where(CommissionEntry.effective_on <= period_end)
        statement = statement.group_by(
            CommissionEntry.payee_kind, CommissionEntry.payee_id, CommissionEntry.currency
        ).order_by(CommissionEntry.currency, CommissionEntry.payee_id)
        return (await self.session.execute(statement)).all()

    async def trend(
        self, actor: Actor, *, period: str, date_from: date, date_to: date
    ) -> tuple[Sequence[Any], datetime | None]:
        """Per period (date_trunc's unit) and currency: accrued, clawed back, adjusted and paid,
        over the entries the actor may see, effective in [date_from, date_to]; and as of when.

        A platform admin or a broker manager reads the daily rollup of the ledger (by firm and
        party, refreshed with the analytics rollups: `as_of` says when); a broker reads their
        own entries from the ledger itself (`as_of` None: now)."""
        firm_wide = actor.has(Scope.COMMISSIONS_READ_ALL) or actor.has(Scope.COMMISSIONS_READ_FIRM)
        params: dict[str, Any] = {"period": period, "date_from": date_from, "date_to": date_to}
        if firm_wide:
            reach = ""
            if not actor.has(Scope.COMMISSIONS_READ_ALL):
                reach = " AND organization_id = :org AND party <> 'platform'"
                params["org"] = actor.organization_id
            source, amount = "analytics_commission_daily", "amount"
            as_of = await self.session.scalar(
                text("SELECT refreshed_at FROM analytics_refresh WHERE id = 1")
            )
        else:
            reach, source, amount = " AND payee_id = :payee", "commission_entry", "total_amount"
            params["payee"] = actor.user_id
            as_of = None
        kinds = {
            "accrued": "('accrual')",
            "clawed_back": "('clawback')",
            "adjusted": "('adjustment', 'reversal')",
            "paid": "('payout')",
        }
        sums = ", ".join(
            f"coalesce(sum({amount}) FILTER (WHERE kind IN {kinds_}), 0) AS {name}"
            for name, kinds_ in kinds.items()
        )
        day = "day" if firm_wide else "effective_on"
        rows = await self.session.execute(
            text(
                f"SELECT date_trunc(:period, {day}::timestamp)::date AS period_start, currency, "
                f"{sums} FROM {source} WHERE {day} BETWEEN :date_from AND :date_to{reach} "
                "GROUP BY 1, 2 ORDER BY 1, 2"
            ),
            params,
        )
        return rows.all(), as_of if isinstance(as_of, datetime) else None

    async def statement_rows(
        self,
        actor: Actor,
        subject: ColumnElement[bool],
        *,
        currency: str,
        period_start: date,
        period_end: date,
    ) -> tuple[Any, Sequence[Any]]:
        """The opening balance before the period and every entry in it, with loan and rule."""
        base = and_(entry_reach(actor), subject, CommissionEntry.currency == currency)
        opening = await self.session.scalar(
            select(func.coalesce(func.sum(CommissionEntry.total_amount), 0)).where(
                base, CommissionEntry.effective_on < period_start
            )
        )
        rule_label = func.concat(CommissionRule.name, " v", CommissionRuleVersion.version)
        statement = (
            select(
                CommissionEntry,
                payee_name().label("payee_name"),
                FundedLoan.reference,
                FundedLoan.borrower_name,
                rule_label.label("rule"),
            )
            .outerjoin(FundedLoan, FundedLoan.id == CommissionEntry.loan_id)
            .outerjoin(CommissionRule, CommissionRule.id == CommissionEntry.rule_id)
            .outerjoin(
                CommissionRuleVersion,
                CommissionRuleVersion.id == CommissionEntry.rule_version_id,
            )
            .where(
                base,
                CommissionEntry.effective_on >= period_start,
                CommissionEntry.effective_on <= period_end,
            )
            .order_by(CommissionEntry.effective_on, CommissionEntry.id)
        )
        return opening, (await self.session.execute(statement)).all()

    async def reversal_of(self, entry_id: int) -> CommissionEntry | None:
        statement = select(CommissionEntry).where(CommissionEntry.reverses_entry_id == entry_id)
        return (await self.session.scalars(statement)).first()

    async def in_unreleased_batch(self, entry_id: int) -> bool:
        statement = select(PayoutBatchItem.id).where(
            PayoutBatchItem.entry_id == entry_id, PayoutBatchItem.released_at.is_(None)
        )
        return (await self.session.scalar(statement)) is not None

    async def name_of(self, payee_kind: str, payee_id: uuid.UUID) -> str:
        if payee_kind == "user":
            name = await self.session.scalar(select(User.full_name).where(User.id == payee_id))
        else:
            name = await self.session.scalar(
                select(Organization.name).where(Organization.id == payee_id)
            )
        return name or str(payee_id)

    # Batches

    async def batches(
        self, *, status: BatchStatus | None, cursor: str | None, limit: int
    ) -> Page[PayoutBatch]:
        """Payout batches, newest first, optionally of one status."""
        statement = select(PayoutBatch)
        if status is not None:
            statement = statement.where(PayoutBatch.status == status)
        return await fetch_page(
            self.session,
            statement,
            [PayoutBatch.created_at, PayoutBatch.id],
            cursor=cursor,
            limit=limit,
        )

    async def batch(self, batch_id: uuid.UUID, *, for_update: bool = False) -> PayoutBatch | None:
        return await self.session.get(PayoutBatch, batch_id, with_for_update=for_update)

    async def release_items(self, batch_id: uuid.UUID, at: datetime) -> None:
        """A failed batch lets go of its entries (they can go into the next batch)."""
        await self.session.execute(
            update(PayoutBatchItem)
            .where(PayoutBatchItem.batch_id == batch_id, PayoutBatchItem.released_at.is_(None))
            .values(released_at=at)
        )

    async def batch_payees(self, batch_id: uuid.UUID) -> Sequence[Any]:
        name = case(
            (
                PayoutBatchItem.payee_kind == "user",
                select(User.full_name).where(User.id == PayoutBatchItem.payee_id).scalar_subquery(),
            ),
            else_=select(Organization.name)
            .where(Organization.id == PayoutBatchItem.payee_id)
            .scalar_subquery(),
        )
        statement = (
            select(
                PayoutBatchItem.payee_kind,
                PayoutBatchItem.payee_id,
                name.label("payee_name"),
                func.sum(PayoutBatchItem.amount).label("amount"),
                func.count().label("entries"),
            )
            .where(PayoutBatchItem.batch_id == batch_id)
            .group_by(PayoutBatchItem.payee_kind, PayoutBatchItem.payee_id)
            .order_by(PayoutBatchItem.payee_id)
        )
        return (await self.session.execute(statement)).all()

    async def batch_items(
        self, batch_id: uuid.UUID, payee_id: uuid.UUID | None = None
    ) -> Sequence[Any]:
        rule_label = func.concat(CommissionRule.name, " v", CommissionRuleVersion.version)
        statement = (
            select(
                PayoutBatchItem.payee_id,
                CommissionEntry,
                FundedLoan.reference,
                FundedLoan.borrower_name,
                rule_label.label("rule"),
            )
            .join(CommissionEntry, CommissionEntry.id == PayoutBatchItem.entry_id)
            .outerjoin(FundedLoan, FundedLoan.id == CommissionEntry.loan_id)
            .outerjoin(CommissionRule, CommissionRule.id == CommissionEntry.rule_id)
            .outerjoin(
                CommissionRuleVersion,
                CommissionRuleVersion.id == CommissionEntry.rule_version_id,
            )
            .where(PayoutBatchItem.batch_id == batch_id)
            .order_by(PayoutBatchItem.payee_id, CommissionEntry.effective_on, CommissionEntry.id)
        )
        if payee_id is not None:
            statement = statement.where(PayoutBatchItem.payee_id == payee_id)
        return (await self.session.execute(statement)).all()

    # Reconciliation

    async def statements(
        self, *, lender_id: uuid.UUID | None, cursor: str | None, limit: int
    ) -> Page[LenderStatement]:
        """Imported lender statements, newest first."""
        statement = select(LenderStatement)
        if lender_id is not None:
            statement = statement.where(LenderStatement.lender_id == lender_id)
        return await fetch_page(
            self.session,
            statement,
            [LenderStatement.created_at, LenderStatement.id],
            cursor=cursor,
            limit=limit,
        )

    async def statement(self, statement_id: uuid.UUID) -> LenderStatement | None:
        return await self.session.get(LenderStatement, statement_id)

    async def statement_lines(self, statement_id: uuid.UUID) -> Sequence[LenderStatementLine]:
        statement = (
            select(LenderStatementLine)
            .where(LenderStatementLine.statement_id == statement_id)
            .order_by(LenderStatementLine.line_number.nulls_last(), LenderStatementLine.id)
        )
        return (await self.session.scalars(statement)).all()

    async def statement_line_page(
        self,
        statement_id: uuid.UUID,
        *,
        status: LineStatus | None,
        resolved: bool | None,
        cursor: str | None,
        limit: int,
    ) -> Page[LenderStatementLine]:
        """A statement's lines in the order they were imported (the CSV's, then the expected
        loans it left out), by the line id: an index range scan however deep the page."""
        statement = select(LenderStatementLine).where(
            LenderStatementLine.statement_id == statement_id
        )
        if status is not None:
            statement = statement.where(LenderStatementLine.status == status)
        if resolved is not None:
            resolved_at = LenderStatementLine.resolved_at
            statement = statement.where(
                resolved_at.is_not(None) if resolved else resolved_at.is_(None)
            )
        return await fetch_page(
            self.session,
            statement,
            [LenderStatementLine.id],
            cursor=cursor,
            limit=limit,
            descending=False,
        )

    async def statement_line_counts(self, statement_id: uuid.UUID) -> dict[LineStatus, int]:
        """How many of a statement's lines have each outcome (outcomes without lines left out)."""
        statement = (
            select(LenderStatementLine.status, func.count())
            .where(LenderStatementLine.statement_id == statement_id)
            .group_by(LenderStatementLine.status)
        )
        return {row[0]: int(row[1]) for row in await self.session.execute(statement)}

    async def statement_line(
        self, statement_id: uuid.UUID, line_id: int
    ) -> LenderStatementLine | None:
        statement = (
            select(LenderStatementLine)
            .where(
                LenderStatementLine.statement_id == statement_id,
                LenderStatementLine.id == line_id,
            )
            .with_for_update()
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def expected_upfront(self, lender_id: uuid.UUID, currency: str) -> Sequence[Any]:
        """Every loan of the lender with what the lender should pay for it (all parties' upfront
        accruals, tax included), and the references it may be quoted by."""
        from lending.models.lenders import LenderSubmission

        external = (
            select(LenderSubmission.external_reference)
            .where(
                LenderSubmission.application_id == FundedLoan.application_id,
                LenderSubmission.lender_id == lender_id,
            )
            .limit(1)
            .scalar_subquery()
        )
        expected = (
            select(func.coalesce(func.sum(CommissionEntry.total_amount), 0))
            .where(
                # The upfront entries of a loan, by the unique key's leading column.
                CommissionEntry.event_key == func.concat("funded:", FundedLoan.id),
                CommissionEntry.kind == EntryKind.ACCRUAL,
            )
            .scalar_subquery()
        )
        statement = select(
            FundedLoan.id,
            FundedLoan.reference,
            external.label("external_reference"),
            FundedLoan.borrower_name,
            FundedLoan.funded_on,
            expected.label("expected"),
        ).where(FundedLoan.lender_id == lender_id, FundedLoan.currency == currency)
        return (await self.session.execute(statement)).all()
