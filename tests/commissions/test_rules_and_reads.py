"""Rules: guards, versions, most specific resolution; reads: explanations, statements and
tenant isolation (a broker sees their own, a manager their firm's, the platform all)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lending.commissions.accrual import accrual_service
from lending.commissions.commission_rules import commission_rule_service
from lending.commissions.entries import commission_entry_service
from lending.commissions.errors import GuardRejected
from lending.commissions.schemas import RuleTerms, ServicingEventCreate
from lending.commissions.servicing import servicing_service
from lending.errors import NotFound, PermissionDenied
from lending.models.commissions import CommissionEntry, Party, RuleScope, ServicingEventKind
from lending.models.identity import Role
from tests.commissions.factories import create_admin, create_loan, create_rule
from tests.identity.factories import actor_of, create_organization, create_user


async def _upfront(session: AsyncSession, loan_id: uuid.UUID) -> list[CommissionEntry]:
    return list(
        await session.scalars(
            select(CommissionEntry).where(
                CommissionEntry.loan_id == loan_id, CommissionEntry.component == "upfront"
            )
        )
    )


async def test_a_rule_depending_on_the_rate_is_rejected_in_the_us(session: AsyncSession) -> None:
    admin = await create_admin(session)
    with pytest.raises(GuardRejected) as refused:
        await create_rule(
            session,
            admin,
            conditions=[{"field": "note_rate", "op": "gte", "value": "7"}],
        )
    detail = refused.value.detail
    assert isinstance(detail, dict)
    assert "rate or terms" in detail["message"]
    assert detail["violations"][0]["loc"] == ["body", "conditions.0.field"]
    count = await session.scalar(text("SELECT count(*) FROM commission_rule"))
    assert count == 0


async def test_volume_bonuses_follow_the_jurisdiction_switch(session: AsyncSession) -> None:
    admin = await create_admin(session)
    bonus = {"min_loans_in_month": 2, "extra_percent": "0.10"}
    with pytest.raises(GuardRejected, match="volume"):
        await create_rule(session, admin, jurisdiction="AU", volume_bonus=bonus)
    # Switched on for the US (the default): a rule with a bonus is accepted and applied.
    await session.execute(
        text("UPDATE commission_jurisdiction SET bans_volume_bonuses = false WHERE code = 'US'")
    )
    await create_rule(session, admin, volume_bonus=bonus)
    firm = await create_organization(session)
    broker = await create_user(session, organization=firm, role=Role.BROKER)
    first = await create_loan(session, firm, broker=broker, funded_on=date(2026, 3, 2))
    second = await create_loan(session, firm, broker=broker, funded_on=date(2026, 3, 9))
    await accrual_service.accrue_pending(session)
    [one] = await _upfront(session, first.id)
    [two] = await _upfront(session, second.id)
    assert one.amount == Decimal("3250.00")
    assert two.amount == Decimal("3750.00")  # 0.65% + 0.10% from the 2nd loan of the month
    # Switched off again: a new rule with a bonus is refused with the reason.
    await session.execute(
        text("UPDATE commission_jurisdiction SET bans_volume_bonuses = true WHERE code = 'US'")
    )
    with pytest.raises(GuardRejected, match="switched off in United States"):
        await create_rule(session, admin, name="Another", volume_bonus=bonus)


async def test_a_clawback_longer_than_the_law_allows_is_rejected(session: AsyncSession) -> None:
    admin = await create_admin(session)
    with pytest.raises(GuardRejected, match="at most 24 months"):
        await create_rule(session, admin, clawback_schedule=[{"to_month": 36, "percent": "100"}])


async def test_splits_must_sum_to_100(session: AsyncSession) -> None:
    admin = await create_admin(session)
    with pytest.raises(ValueError, match="sum to 100"):
        await create_rule(session, admin, splits={"broker": "70", "firm": "20"})

    async def insert_directly() -> None:
        async with session.begin_nested():
            await session.execute(
                text(
                    "INSERT INTO commission_rule (id, name, scope, jurisdiction, currency) "
                    "VALUES (gen_random_uuid(), 'x', 'platform', 'US', 'USD')"
                )
            )
            await session.execute(
                text(
                    "INSERT INTO commission_rule_version (id, rule_id, version, effective_from, "
                    "basis, splits, clawback_schedule) SELECT gen_random_uuid(), id, 1, "
                    "'2026-01-01', 'funded_amount', '{\"broker\": \"90\"}', '[]' "
                    "FROM commission_rule WHERE name = 'x'"
                )
            )

    with pytest.raises(IntegrityError, match="splits_total"):
        await insert_directly()


async def test_only_platform_admins_write_rules(session: AsyncSession) -> None:
    firm = await create_organization(session)
    manager = await create_user(session, organization=firm, role=Role.BROKER_MANAGER)
    with pytest.raises(PermissionDenied):
        await create_rule(session, manager)


async def test_the_most_specific_rule_in_force_on_the_funding_date_wins(
    session: AsyncSession,
) -> None:
    admin = await create_admin(session)
    firm = await create_organization(session)
    broker = await create_user(session, organization=firm, role=Role.BROKER)
    other_broker = await create_user(session, organization=firm, role=Role.BROKER)
    await create_rule(session, admin)  # platform 0.65%
    firm_rule = await create_rule(
        session,
        admin,
        name="Harbor",
        scope=RuleScope.FIRM,
        scope_id=firm.id,
        upfront_percent="0.60",
    )
    await create_rule(
        session,
        admin,
        name="Star broker",
        scope=RuleScope.BROKER,
        scope_id=broker.id,
        upfront_percent="0.70",
    )
    # The firm's terms change from July: earlier loans keep version 1.
    versioned = await commission_rule_service.add_version(
        session,
        actor_of(admin),
        rule_id=firm_rule.id,
        data=RuleTerms(
            effective_from=date(2026, 7, 1),
            upfront_percent=Decimal("0.62"),
            splits={Party.BROKER: Decimal(100)},
        ),
    )
    by_broker = await create_loan(session, firm, broker=broker)
    before = await create_loan(session, firm, broker=other_broker, funded_on=date(2026, 6, 30))
    after = await create_loan(session, firm, broker=other_broker, funded_on=date(2026, 7, 1))
    elsewhere = await create_loan(session, await create_organization(session))
    await accrual_service.accrue_pending(session)

    amounts = {
        loan.id: (await _upfront(session, loan.id))[0]
        for loan in (by_broker, before, after, elsewhere)
    }
    assert amounts[by_broker.id].amount == Decimal("3500.00")
    assert amounts[before.id].amount == Decimal("3000.00")
    assert amounts[after.id].amount == Decimal("3100.00")
    assert amounts[elsewhere.id].amount == Decimal("3250.00")
    versions = {v.version: v.id for v in versioned.versions}
    assert amounts[before.id].rule_version_id == versions[1]
    assert amounts[after.id].rule_version_id == versions[2]
    assert amounts[after.id].rule_id == firm_rule.id


async def test_caps_floors_and_flat_fees(session: AsyncSession) -> None:
    admin = await create_admin(session)
    firm = await create_organization(session)
    await create_rule(
        session,
        admin,
        upfront_percent="0.65",
        upfront_flat="100",
        upfront_cap="3000",
        upfront_floor="500",
    )
    big = await create_loan(session, firm, amount="1000000.00")
    small = await create_loan(session, firm, amount="20000.00")
    await accrual_service.accrue_pending(session)
    assert (await _upfront(session, big.id))[0].amount == Decimal("3000.00")  # capped
    assert (await _upfront(session, small.id))[0].amount == Decimal("500.00")  # 230 → floor


async def test_the_amount_drawn_net_of_offset_is_a_basis(session: AsyncSession) -> None:
    admin = await create_admin(session)
    firm = await create_organization(session)
    await create_rule(
        session, admin, jurisdiction="AU", currency="USD", basis="drawn_net_of_offset"
    )
    loan = await create_loan(session, firm, amount="500000.00", offset="100000.00")
    loan.jurisdiction = "AU"
    await session.flush()
    await accrual_service.accrue_pending(session)
    assert (await _upfront(session, loan.id))[0].amount == Decimal("2600.00")


async def test_trail_stops_in_arrears_and_after_discharge(session: AsyncSession) -> None:
    admin = await create_admin(session)
    firm = await create_organization(session)
    await create_rule(session, admin, trail_percent="0.20")
    loan = await create_loan(session, firm, amount="600000.00", outstanding="580000.00")
    actor = actor_of(admin)

    async def trail_count() -> int:
        count = await session.scalar(
            select(text("count(*)"))
            .select_from(CommissionEntry)
            .where(CommissionEntry.loan_id == loan.id, CommissionEntry.component == "trail")
        )
        return int(count or 0)

    await accrual_service.accrue_trail(session, month=date(2026, 2, 1))
    assert await trail_count() == 1
    await servicing_service.record_servicing_event(
        session,
        actor,
        loan_id=loan.id,
        data=ServicingEventCreate(kind=ServicingEventKind.ARREARS, occurred_on=date(2026, 3, 5)),
    )
    await accrual_service.accrue_trail(session, month=date(2026, 3, 1))
    assert await trail_count() == 1
    await servicing_service.record_servicing_event(
        session,
        actor,
        loan_id=loan.id,
        data=ServicingEventCreate(
            kind=ServicingEventKind.ARREARS_CURED,
            occurred_on=date(2026, 4, 2),
            outstanding_balance=Decimal("570000.00"),
        ),
    )
    await accrual_service.accrue_trail(session, month=date(2026, 4, 1))
    assert await trail_count() == 2
    await servicing_service.record_servicing_event(
        session,
        actor,
        loan_id=loan.id,
        data=ServicingEventCreate(kind=ServicingEventKind.REFINANCED, occurred_on=date(2026, 5, 3)),
    )
    await accrual_service.accrue_trail(session, month=date(2026, 5, 1))
    assert await trail_count() == 2


async def test_an_explanation_answers_why_from_the_ledger(session: AsyncSession) -> None:
    admin = await create_admin(session)
    firm = await create_organization(session)
    broker = await create_user(session, organization=firm, role=Role.BROKER)
    await create_rule(
        session, admin, splits={"platform": "20", "firm": "10", "broker": "70"}, tax_percent="10"
    )
    loan = await create_loan(session, firm, broker=broker, reference="OMF-2026-000042")
    await accrual_service.accrue_pending(session)
    entry = next(e for e in await _upfront(session, loan.id) if e.payee_id == broker.id)

    explanation = await commission_entry_service.explain(
        session, actor_of(broker), entry_id=entry.id
    )

    assert explanation.rule_name == "Platform default"
    assert explanation.rule_version == 1
    assert "OMF-2026-000042" in explanation.text
    assert (
        "0.650000% of the funded_amount 500,000.00 = 3,250.00 (half up to the cent)."
        in explanation.text
    )
    assert "broker (Test Person) gets 70% of 3,250.00 = 2,275.00" in explanation.text
    assert "2,275.00" in explanation.text
    assert "total 2,502.50 USD" in explanation.text


async def test_each_role_sees_its_own_reach(session: AsyncSession) -> None:
    admin = await create_admin(session)
    firm = await create_organization(session)
    other_firm = await create_organization(session)
    broker = await create_user(session, organization=firm, role=Role.BROKER)
    colleague = await create_user(session, organization=firm, role=Role.BROKER)
    manager = await create_user(session, organization=firm, role=Role.BROKER_MANAGER)
    other_broker = await create_user(session, organization=other_firm, role=Role.BROKER)
    await create_rule(session, admin, splits={"platform": "20", "firm": "10", "broker": "70"})
    await create_loan(session, firm, broker=broker)
    await create_loan(session, firm, broker=colleague)
    await create_loan(session, other_firm, broker=other_broker)
    await accrual_service.accrue_pending(session)

    def payees(summary: object) -> set[object]:
        return {p.payee_id for p in summary.payees}  # type: ignore[attr-defined]

    mine = await commission_entry_service.summary(session, actor_of(broker))
    firms = await commission_entry_service.summary(session, actor_of(manager))
    everything = await commission_entry_service.summary(session, actor_of(admin))

    assert payees(mine) == {broker.id}
    assert payees(firms) == {broker.id, colleague.id, firm.id}
    assert {broker.id, colleague.id, firm.id, other_broker.id, other_firm.id} <= payees(everything)
    other_entry = (
        await session.scalars(
            select(CommissionEntry.id).where(CommissionEntry.payee_id == other_broker.id)
        )
    ).one()
    for outsider in (broker, manager):
        with pytest.raises(NotFound):
            await commission_entry_service.explain(
                session, actor_of(outsider), entry_id=other_entry
            )
    with pytest.raises(NotFound):
        await commission_entry_service.statement_for_payee(
            session,
            actor_of(broker),
            payee_id=colleague.id,
            period_start=date(2026, 1, 1),
            period_end=date(2026, 12, 31),
        )
    with pytest.raises(NotFound):
        await commission_entry_service.statement_for_firm(
            session,
            actor_of(manager),
            organization_id=other_firm.id,
            period_start=date(2026, 1, 1),
            period_end=date(2026, 12, 31),
        )
    borrower = await create_user(session, organization=firm, role=Role.BORROWER)
    with pytest.raises(PermissionDenied):
        await commission_entry_service.summary(session, actor_of(borrower))


async def test_statements_carry_opening_lines_and_closing(session: AsyncSession) -> None:
    admin = await create_admin(session)
    firm = await create_organization(session)
    broker = await create_user(session, organization=firm, role=Role.BROKER)
    manager = await create_user(session, organization=firm, role=Role.BROKER_MANAGER)
    await create_rule(session, admin, splits={"platform": "20", "firm": "10", "broker": "70"})
    january = await create_loan(session, firm, broker=broker, funded_on=date(2026, 1, 15))
    later = await create_loan(
        session, firm, broker=broker, funded_on=date(2026, 2, 10), amount="100000.00"
    )
    await accrual_service.accrue_pending(session)
    await servicing_service.record_servicing_event(
        session,
        actor_of(admin),
        loan_id=january.id,
        data=ServicingEventCreate(
            kind=ServicingEventKind.DISCHARGED, occurred_on=date(2026, 2, 20)
        ),
    )
    await servicing_service.claw_back(
        session,
        servicing_event_id=int(
            await session.scalar(text("SELECT max(id) FROM loan_servicing_event")) or 0
        ),
    )

    february = await commission_entry_service.statement_for_payee(
        session,
        actor_of(broker),
        payee_id=broker.id,
        period_start=date(2026, 2, 1),
        period_end=date(2026, 2, 28),
    )
    assert february.opening_balance == Decimal("2275.00")
    assert february.accruals == Decimal("455.00")
    assert february.clawbacks == Decimal("-2275.00")
    assert february.closing_balance == Decimal("455.00")
    assert {(line.loan_reference, line.kind.value) for line in february.lines} == {
        (later.reference, "accrual"),
        (january.reference, "clawback"),
    }
    firm_statement = await commission_entry_service.statement_for_firm(
        session,
        actor_of(manager),
        organization_id=firm.id,
        period_start=date(2026, 1, 1),
        period_end=date(2026, 2, 28),
    )
    assert firm_statement.opening_balance == Decimal(0)
    # Broker 70% + firm 10% of 3,250 + 650, less the January loan's clawback.
    assert firm_statement.closing_balance == Decimal("520.00")
    assert {line.party.value for line in firm_statement.lines} == {"broker", "firm"}


async def test_a_discharge_reported_before_the_accrual_is_still_clawed_back(
    session: AsyncSession,
) -> None:
    admin = await create_admin(session)
    firm = await create_organization(session)
    await create_rule(session, admin)
    loan = await create_loan(session, firm, funded_on=date(2026, 1, 15))
    event = await servicing_service.record_servicing_event(
        session,
        actor_of(admin),
        loan_id=loan.id,
        data=ServicingEventCreate(kind=ServicingEventKind.DISCHARGED, occurred_on=date(2026, 3, 1)),
    )
    assert await servicing_service.claw_back(session, servicing_event_id=event.id) == 0

    await accrual_service.accrue_pending(session)

    totals = {
        entry.kind.value: entry.total_amount
        for entry in await session.scalars(
            select(CommissionEntry).where(CommissionEntry.loan_id == loan.id)
        )
    }
    assert totals == {"accrual": Decimal("3250.00"), "clawback": Decimal("-3250.00")}
