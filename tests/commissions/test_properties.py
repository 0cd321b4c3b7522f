"""Properties of the ledger, over generated rules, loans and servicing histories: it balances,
clawbacks never exceed what was accrued, replaying every event changes nothing, and splits of
any amount sum to the amount to the cent (largest remainder assigns the leftover cents)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from lending.commissions import ledger
from lending.commissions.accrual import accrual_service
from lending.commissions.entries import commission_entry_service
from lending.commissions.payout_batches import payout_batch_service
from lending.commissions.rules import PARTY_ORDER, split
from lending.commissions.schemas import BatchCreate, ServicingEventCreate
from lending.commissions.servicing import servicing_service
from lending.errors import Conflict
from lending.models.commissions import (
    CommissionEntry,
    EntryKind,
    LoanServicingEvent,
    Party,
    ServicingEventKind,
)
from lending.models.identity import Role
from tests.commissions.factories import create_admin, create_loan, create_rule
from tests.identity.factories import (
    actor_of,
    create_organization,
    create_user,
    platform_organization,
)

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999.99"), places=2)


@st.composite
def percent_splits(draw: st.DrawFn) -> dict[Party, Decimal]:
    """Percentages with up to 4 places over 1-4 parties, summing to exactly 100."""
    parties = draw(st.lists(st.sampled_from(PARTY_ORDER), min_size=1, max_size=4, unique=True))
    cuts = sorted(
        draw(
            st.lists(
                st.integers(min_value=0, max_value=1_000_000),
                min_size=len(parties) - 1,
                max_size=len(parties) - 1,
            )
        )
    )
    bounds = [0, *cuts, 1_000_000]
    return {party: Decimal(bounds[i + 1] - bounds[i]) / 10_000 for i, party in enumerate(parties)}


@given(amount=amounts, splits=percent_splits(), negative=st.booleans())
def test_splits_of_any_amount_sum_to_it_to_the_cent(
    amount: Decimal, splits: dict[Party, Decimal], negative: bool
) -> None:
    total = -amount if negative else amount
    shares = split(total, splits)
    assert sum(shares.values(), Decimal(0)) == total
    for party, share in shares.items():
        exact = total * splits[party] / 100
        assert abs(share - exact) < Decimal("0.01")
        assert share == share.quantize(Decimal("0.01"))


_SQL_SPLIT = """
WITH priced AS (SELECT CAST(:amount AS numeric) AS commission, CAST(:splits AS jsonb) AS splits,
                       1 AS loan_id),
shares AS (
    SELECT p.*, s.key AS party, {rank} AS party_rank,
           trunc(p.commission * s.value::numeric / 100, 2) AS floor_share,
           p.commission * s.value::numeric / 100
               - trunc(p.commission * s.value::numeric / 100, 2) AS fraction
    FROM priced AS p CROSS JOIN LATERAL jsonb_each_text(p.splits) AS s
    WHERE s.value::numeric > 0
),
ranked AS (
    SELECT sh.*,
           round((sh.commission - sum(sh.floor_share) OVER (PARTITION BY sh.loan_id)) * 100)
               AS leftover_cents,
           row_number() OVER (PARTITION BY sh.loan_id ORDER BY sh.fraction DESC, sh.party_rank)
               AS remainder_rank
    FROM shares AS sh
)
SELECT party, floor_share + CASE WHEN remainder_rank <= leftover_cents THEN 0.01 ELSE 0 END
FROM ranked
"""


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(amount=amounts, splits=percent_splits())
async def test_the_sql_split_is_the_python_split(
    session: AsyncSession, amount: Decimal, splits: dict[Party, Decimal]
) -> None:
    import orjson

    statement = _SQL_SPLIT.format(rank=ledger._PARTY_RANK)
    rows = (
        await session.execute(
            text(statement),
            {
                "amount": amount,
                "splits": orjson.dumps({p.value: str(v) for p, v in splits.items()}).decode(),
            },
        )
    ).all()
    assert {Party(party): share for party, share in rows} == split(amount, splits)


def _snapshot(rows: list[CommissionEntry]) -> list[tuple[object, ...]]:
    return sorted(
        (r.event_key, r.party.value, str(r.payee_id), r.amount, r.tax_amount, str(r.rule_id))
        for r in rows
    )


loan_specs = st.lists(
    st.tuples(
        st.decimals(min_value=Decimal("1000.00"), max_value=Decimal("2000000.00"), places=2),
        st.integers(min_value=0, max_value=330),  # funding day of 2026
        st.one_of(st.none(), st.integers(min_value=0, max_value=800)),  # discharge after days
        st.booleans(),  # in arrears for a while
    ),
    min_size=1,
    max_size=6,
)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    loans=loan_specs,
    upfront=st.decimals(min_value=Decimal("0.05"), max_value=Decimal("1.50"), places=4),
    trail=st.decimals(min_value=Decimal("0"), max_value=Decimal("0.40"), places=4),
    tax=st.sampled_from([Decimal(0), Decimal(10), Decimal("7.5")]),
    splits=percent_splits(),
)
async def test_the_ledger_balances_clawbacks_stay_within_accruals_and_replay_is_idempotent(
    session: AsyncSession,
    loans: list[tuple[Decimal, int, int | None, bool]],
    upfront: Decimal,
    trail: Decimal,
    tax: Decimal,
    splits: dict[Party, Decimal],
) -> None:
    savepoint = await session.begin_nested()
    try:
        admin = await create_admin(session)
        checker = await create_admin(session)
        firm = await create_organization(session)
        broker = await create_user(session, organization=firm, role=Role.BROKER)
        await create_rule(
            session,
            admin,
            upfront_percent=str(upfront),
            trail_percent=str(trail),
            tax_percent=str(tax),
            splits={party.value: str(percent) for party, percent in splits.items()},
        )
        events: list[tuple[uuid.UUID, ServicingEventCreate]] = []
        for amount, day, discharge_after, arrears in loans:
            funded_on = date(2026, 1, 1) + timedelta(days=day)
            loan = await create_loan(
                session, firm, broker=broker, amount=str(amount), funded_on=funded_on
            )
            if arrears:
                events.append(
                    (
                        loan.id,
                        ServicingEventCreate(
                            kind=ServicingEventKind.ARREARS,
                            occurred_on=funded_on + timedelta(days=40),
                        ),
                    )
                )
                events.append(
                    (
                        loan.id,
                        ServicingEventCreate(
                            kind=ServicingEventKind.ARREARS_CURED,
                            occurred_on=funded_on + timedelta(days=100),
                        ),
                    )
                )
            if discharge_after is not None:
                events.append(
                    (
                        loan.id,
                        ServicingEventCreate(
                            kind=ServicingEventKind.DISCHARGED,
                            occurred_on=funded_on + timedelta(days=150 + discharge_after),
                        ),
                    )
                )
        months = [date(2026, m, 1) for m in range(2, 13)] + [date(2027, m, 1) for m in range(1, 7)]

        async def replay_all() -> None:
            await accrual_service.accrue_pending(session)
            for month in months:
                await accrual_service.accrue_trail(session, month=month)
            for event in (await session.scalars(select(LoanServicingEvent))).all():
                await servicing_service.claw_back(session, servicing_event_id=event.id)

        # Events in date order, with the trail months in between.
        await accrual_service.accrue_pending(session)
        pending = sorted(events, key=lambda item: item[1].occurred_on)
        for month in months:
            while pending and pending[0][1].occurred_on < month:
                loan_id, data = pending.pop(0)
                await servicing_service.record_servicing_event(
                    session,
                    actor_of(admin),
                    loan_id=loan_id,
                    data=data,
                )
            await accrual_service.accrue_trail(session, month=month)
        await replay_all()
        first = _snapshot(list((await session.scalars(select(CommissionEntry))).all()))
        await replay_all()
        second = _snapshot(list((await session.scalars(select(CommissionEntry))).all()))
        assert first == second, "replaying every event added or changed entries"

        entries = list((await session.scalars(select(CommissionEntry))).all())
        accrued: dict[tuple[uuid.UUID | None, str], Decimal] = defaultdict(Decimal)
        clawed: dict[tuple[uuid.UUID | None, str], Decimal] = defaultdict(Decimal)
        for entry in entries:
            key = (entry.loan_id, entry.party.value)
            if entry.kind is EntryKind.ACCRUAL and entry.component.value == "upfront":
                accrued[key] += entry.total_amount
            if entry.kind is EntryKind.CLAWBACK:
                clawed[key] += -entry.total_amount
        for key, amount in clawed.items():
            assert Decimal(0) <= amount <= accrued[key], key
        # Each loan's upfront shares sum to its commission, to the cent.
        by_loan: dict[object, list[CommissionEntry]] = defaultdict(list)
        for entry in entries:
            if entry.kind is EntryKind.ACCRUAL:
                by_loan[(entry.event_key)].append(entry)
        for rows in by_loan.values():
            assert sum(r.amount for r in rows) == rows[0].commission_total

        # Pay out what is due, then check every payee's balance is the sum of its entries.
        try:
            batch = await payout_batch_service.create_batch(
                session,
                actor_of(admin),
                data=BatchCreate(cutoff_on=date(2027, 12, 31), minimum_amount=Decimal(0)),
            )
        except Conflict:
            batch = None
        if batch is not None:
            await payout_batch_service.approve_batch(session, actor_of(checker), batch_id=batch.id)
            await payout_batch_service.export_csv(session, actor_of(checker), batch_id=batch.id)
            await payout_batch_service.mark_paid(
                session, actor_of(checker), batch_id=batch.id, reference="ACH-1"
            )
        summary = await commission_entry_service.summary(session, actor_of(admin))
        platform_id = (await platform_organization(session)).id
        raw: dict[uuid.UUID, Decimal] = defaultdict(Decimal)
        for entry in (await session.scalars(select(CommissionEntry))).all():
            raw[entry.payee_id] += entry.total_amount
        for payee in summary.payees:
            assert payee.balance == raw[payee.payee_id]
            assert payee.accrued + payee.clawed_back + payee.adjusted + payee.paid == payee.balance
            if batch is not None and payee.payee_id != platform_id and payee.balance > 0:
                raise AssertionError(f"{payee.payee_name} still owed {payee.balance} after payout")
    finally:
        await savepoint.rollback()
