"""Commission rows for the authorization matrix: entries, payees, loans, rules, batches and
lender statements, in the caller's own firm ("own") or in the other firm ("other").

Builders take the matrix's World (typed loosely here, to keep this module free of the matrix's
own imports) and return the path of the call.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from lending.commissions.accrual import accrual_service
from lending.commissions.commission_rules import commission_rule_service
from lending.commissions.payout_batches import payout_batch_service
from lending.commissions.reconciliation import reconciliation_service
from lending.commissions.schemas import BatchCreate, RuleCreate, StatementImport
from lending.models.commissions import CommissionEntry, FundedLoan, Party
from lending.models.identity import Role, User
from lending.models.lenders import Lender
from tests.commissions.factories import create_loan
from tests.identity.factories import actor_of, create_user, unique

PERIOD = {"period_start": "2026-01-01", "period_end": "2026-12-31"}


async def _admin(w: Any) -> User:
    user: User = w.users[("home", "platform_admin")]
    return user


async def _ensure_rule(w: Any) -> None:
    """One platform rule per world (0.65% upfront, trail 0.20%; broker 70, firm 10, platform 20)."""
    if getattr(w, "_commission_rule", None) is None:
        w._commission_rule = await commission_rule_service.create_rule(
            w.session,
            actor_of(await _admin(w)),
            data=RuleCreate.model_validate(
                {
                    "name": unique("rule"),
                    "effective_from": "2026-01-01",
                    "upfront_percent": "0.65",
                    "trail_percent": "0.20",
                    "splits": {"platform": "20", "firm": "10", "broker": "70"},
                }
            ),
        )


def _broker_for(w: Any, who: str, where: str) -> User | None:
    """The broker of a loan in the target organization: the caller when they are a broker
    there, the home broker in the own firm, the other firm's broker there."""
    if where == "other":
        user: User = w.users[("other", "broker")]
        return user
    if who in ("broker", "broker_manager"):
        caller: User = w.users[("home", who)]
        return caller
    if w.home(who) is w.platform:
        return None
    broker: User = w.users[("home", "broker")]
    return broker


async def funded_loan(w: Any, who: str, where: str) -> FundedLoan:
    await _ensure_rule(w)
    return await create_loan(
        w.session,
        w.org(who, where),
        broker=_broker_for(w, who, where),
        amount="200000.00",
        funded_on=date(2026, 2, 2),
    )


async def entry_id(w: Any, who: str, where: str) -> int:
    """The broker share of a freshly accrued loan in the target organization."""
    loan = await funded_loan(w, who, where)
    await accrual_service.accrue_pending(w.session)
    found = await w.session.scalar(
        select(CommissionEntry.id).where(
            CommissionEntry.loan_id == loan.id, CommissionEntry.party == Party.BROKER
        )
    )
    assert found is not None
    return int(found)


async def payee_id(w: Any, who: str, where: str) -> str:
    if where == "other":
        return str(w.users[("other", "broker")].id)
    if who == "broker":
        return str(w.users[("home", "broker")].id)
    return str(w.users[("home", "broker")].id)


async def batch_id(w: Any, state: str) -> tuple[str, str]:
    """A batch made by another admin, in `state` (draft, approved, exported); and a payee."""
    loan = await funded_loan(w, "broker", "own")
    await accrual_service.accrue_pending(w.session)
    maker = await create_user(w.session, role=Role.PLATFORM_ADMIN)
    checker = await create_user(w.session, role=Role.PLATFORM_ADMIN)
    batch = await payout_batch_service.create_batch(
        w.session,
        actor_of(maker),
        data=BatchCreate(cutoff_on=date(2026, 12, 31), minimum_amount=Decimal(0)),
    )
    if state in ("approved", "exported"):
        await payout_batch_service.approve_batch(w.session, actor_of(checker), batch_id=batch.id)
    if state == "exported":
        await payout_batch_service.export_csv(w.session, actor_of(checker), batch_id=batch.id)
    assert loan.broker_user_id is not None
    return str(batch.id), str(loan.broker_user_id)


async def lender(w: Any) -> Lender:
    row = Lender(slug=unique("recon"), name="Recon Lender")
    w.session.add(row)
    await w.session.flush()
    return row


def statement_body(lender_id: Any) -> dict[str, str]:
    return {
        "lender_id": str(lender_id),
        "period_start": "2026-02-01",
        "period_end": "2026-02-28",
        "csv_text": "loan_reference,borrower_name,funding_date,amount\nX-1,Ann,2026-02-02,10.00\n",
    }


async def reconciliation_id(w: Any) -> tuple[str, int]:
    row = await lender(w)
    result = await reconciliation_service.import_statement(
        w.session,
        actor_of(await _admin(w)),
        data=StatementImport.model_validate(statement_body(row.id)),
    )
    return str(result.id), result.lines[0].id
