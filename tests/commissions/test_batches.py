"""Payout batches: maker-checker, one open batch per entry, paying twice impossible, exports."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lending.commissions.accrual import accrual_service
from lending.commissions.errors import BatchStateConflict, MakerCheckerRefused
from lending.commissions.payout_batches import payout_batch_service
from lending.commissions.schemas import BatchCreate
from lending.errors import Conflict
from lending.models.commissions import BatchStatus, CommissionEntry, EntryKind, PayoutBatchItem
from lending.models.identity import Role, User
from tests.commissions.factories import create_admin, create_loan, create_rule
from tests.identity.factories import actor_of, create_organization, create_user

CUTOFF = date(2026, 12, 31)


async def _world(session: AsyncSession) -> tuple[User, User, User]:
    """Two admins (maker, checker) and a broker with 3,250.00 accrued (70/20/10 split)."""
    maker = await create_admin(session)
    checker = await create_admin(session)
    firm = await create_organization(session)
    broker = await create_user(session, organization=firm, role=Role.BROKER)
    await create_rule(session, maker, splits={"platform": "20", "firm": "10", "broker": "70"})
    await create_loan(session, firm, broker=broker)
    await accrual_service.accrue_pending(session)
    return maker, checker, broker


async def test_a_batch_pays_each_payee_but_the_platform(session: AsyncSession) -> None:
    maker, checker, broker = await _world(session)

    batch = await payout_batch_service.create_batch(
        session, actor_of(maker), data=BatchCreate(cutoff_on=CUTOFF)
    )

    amounts = {payee.payee_id: payee.amount for payee in batch.payees}
    assert amounts[broker.id] == Decimal("2275.00")
    assert Decimal("325.00") in amounts.values()  # the firm's 10%
    assert batch.total_amount == Decimal("2600.00")
    assert batch.status is BatchStatus.DRAFT


async def test_the_maker_cannot_approve_their_own_batch(session: AsyncSession) -> None:
    maker, checker, _ = await _world(session)
    batch = await payout_batch_service.create_batch(
        session, actor_of(maker), data=BatchCreate(cutoff_on=CUTOFF)
    )

    with pytest.raises(MakerCheckerRefused):
        await payout_batch_service.approve_batch(session, actor_of(maker), batch_id=batch.id)
    approved = await payout_batch_service.approve_batch(
        session, actor_of(checker), batch_id=batch.id
    )

    assert approved.status is BatchStatus.APPROVED
    assert approved.approved_by_user_id == checker.id


async def test_the_database_refuses_a_self_approval_too(session: AsyncSession) -> None:
    maker, _, _ = await _world(session)
    batch = await payout_batch_service.create_batch(
        session, actor_of(maker), data=BatchCreate(cutoff_on=CUTOFF)
    )
    with pytest.raises(IntegrityError, match="maker_checker"):
        async with session.begin_nested():
            await session.execute(
                text(
                    "UPDATE payout_batch SET approved_by_user_id = created_by_user_id "
                    "WHERE id = :id"
                ),
                {"id": batch.id},
            )


async def test_an_entry_is_never_in_two_open_batches(session: AsyncSession) -> None:
    maker, _, _ = await _world(session)
    await payout_batch_service.create_batch(
        session, actor_of(maker), data=BatchCreate(cutoff_on=CUTOFF)
    )

    with pytest.raises(Conflict, match="Nothing to pay"):
        await payout_batch_service.create_batch(
            session, actor_of(maker), data=BatchCreate(cutoff_on=CUTOFF)
        )


async def test_paying_twice_is_impossible_by_construction(session: AsyncSession) -> None:
    maker, checker, broker = await _world(session)
    batch = await payout_batch_service.create_batch(
        session, actor_of(maker), data=BatchCreate(cutoff_on=CUTOFF)
    )
    await payout_batch_service.approve_batch(session, actor_of(checker), batch_id=batch.id)
    await payout_batch_service.export_csv(session, actor_of(checker), batch_id=batch.id)
    paid = await payout_batch_service.mark_paid(
        session, actor_of(checker), batch_id=batch.id, reference="ACH-2026-001"
    )
    assert paid.status is BatchStatus.PAID

    # Through the service: the state machine refuses.
    with pytest.raises(BatchStateConflict):
        await payout_batch_service.mark_paid(
            session, actor_of(checker), batch_id=batch.id, reference="ACH-2026-002"
        )
    # Around it, straight into the tables: the constraints refuse.
    entry_id = (
        await session.scalars(
            select(PayoutBatchItem.entry_id).where(PayoutBatchItem.batch_id == batch.id)
        )
    ).first()

    async def add_item_again() -> None:
        async with session.begin_nested():
            session.add(
                PayoutBatchItem(
                    batch_id=batch.id,
                    entry_id=entry_id,
                    payee_kind="user",
                    payee_id=broker.id,
                    amount=Decimal("1.00"),
                )
            )
            await session.flush()

    async def pay_again() -> None:
        async with session.begin_nested():
            await session.execute(
                text(
                    "INSERT INTO commission_entry (event_key, kind, component, party, payee_kind,"
                    " payee_id, organization_id, amount, currency, effective_on) "
                    "SELECT event_key, kind, component, party, payee_kind, payee_id, "
                    "organization_id, amount, currency, effective_on FROM commission_entry "
                    "WHERE kind = 'payout' AND payee_id = :payee"
                ),
                {"payee": broker.id},
            )

    with pytest.raises(IntegrityError, match="uq_payout_batch_item_entry_id_unreleased"):
        await add_item_again()
    with pytest.raises(IntegrityError, match="uq_commission_entry_event_rule_party"):
        await pay_again()
    # And a new batch finds nothing left to pay.
    with pytest.raises(Conflict, match="Nothing to pay"):
        await payout_batch_service.create_batch(
            session, actor_of(maker), data=BatchCreate(cutoff_on=CUTOFF)
        )
    balance = await session.scalar(
        select(CommissionEntry.total_amount).where(
            CommissionEntry.payee_id == broker.id, CommissionEntry.kind == EntryKind.PAYOUT
        )
    )
    assert balance == Decimal("-2275.00")


async def test_a_failed_batch_releases_its_entries(session: AsyncSession) -> None:
    maker, checker, broker = await _world(session)
    batch = await payout_batch_service.create_batch(
        session, actor_of(maker), data=BatchCreate(cutoff_on=CUTOFF)
    )
    await payout_batch_service.approve_batch(session, actor_of(checker), batch_id=batch.id)
    failed = await payout_batch_service.mark_failed(
        session, actor_of(checker), batch_id=batch.id, reason="bank rejected the file"
    )
    assert failed.status is BatchStatus.FAILED

    again = await payout_batch_service.create_batch(
        session, actor_of(maker), data=BatchCreate(cutoff_on=CUTOFF)
    )
    assert again.total_amount == batch.total_amount


async def test_export_needs_approval_and_gives_csv_and_pdf(session: AsyncSession) -> None:
    maker, checker, broker = await _world(session)
    batch = await payout_batch_service.create_batch(
        session, actor_of(maker), data=BatchCreate(cutoff_on=CUTOFF)
    )
    with pytest.raises(BatchStateConflict):
        await payout_batch_service.export_csv(session, actor_of(checker), batch_id=batch.id)
    await payout_batch_service.approve_batch(session, actor_of(checker), batch_id=batch.id)
    with pytest.raises(BatchStateConflict):
        await payout_batch_service.statement_pdf(
            session, actor_of(checker), batch_id=batch.id, payee_id=broker.id
        )

    csv_text = await payout_batch_service.export_csv(session, actor_of(checker), batch_id=batch.id)
    pdf = await payout_batch_service.statement_pdf(
        session, actor_of(checker), batch_id=batch.id, payee_id=broker.id
    )

    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("batch_id,payee_kind,payee_id")
    assert any(f"{broker.id}" in line and "2275.00" in line for line in lines[1:])
    assert pdf.startswith(b"%PDF")
    read = await payout_batch_service.get_batch(session, actor_of(checker), batch_id=batch.id)
    assert read.status is BatchStatus.EXPORTED


async def test_the_ledger_refuses_update_and_delete(session: AsyncSession) -> None:
    await _world(session)
    for statement in (
        "UPDATE commission_entry SET amount = amount + 1",
        "DELETE FROM commission_entry",
        "DELETE FROM funded_loan",
        "UPDATE commission_rule_version SET upfront_percent = 9",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with session.begin_nested():
                await session.execute(text(statement))
