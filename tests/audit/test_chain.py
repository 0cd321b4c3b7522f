"""The audit log: append-only in the database, hash-chained, and a verifier that finds tampering."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from lending.audit.schemas import Origin
from lending.audit.service import audit_service, chain_hash, verify_chain
from lending.models.audit import GENESIS_HASH, AuditEvent
from lending.models.identity import Role
from tests.identity.factories import actor_of, create_user


async def _record_three(session: AsyncSession) -> list[AuditEvent]:
    actor = actor_of(await create_user(session, role=Role.BORROWER))
    return [
        await audit_service.record(
            session,
            actor,
            action=f"test.step_{n}",
            origin=Origin(ip="203.0.113.7", request_id=f"req-{n}"),
            subject_type="thing",
            subject_id=uuid.uuid4(),
            details={"n": n, "nested": {"b": [1, 2.5, "x"], "a": None}, "when": "2026-11-27"},
        )
        for n in range(3)
    ]


async def test_each_event_links_to_the_one_before(session: AsyncSession) -> None:
    events = await _record_three(session)

    assert events[1].prev_hash == events[0].hash
    assert events[2].prev_hash == events[1].hash
    assert all(event.hash == chain_hash(event.prev_hash, event) for event in events)
    report = await verify_chain(session)
    assert report.intact
    assert report.head_hash == events[2].hash
    assert report.events_checked >= 3


async def test_the_first_event_links_to_the_genesis_hash(session: AsyncSession) -> None:
    await _record_three(session)

    first = (
        await session.execute(select(AuditEvent).order_by(AuditEvent.id).limit(1))
    ).scalar_one()

    assert first.prev_hash == GENESIS_HASH


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET action = 'rewritten' WHERE id = :id",
        "DELETE FROM audit_event WHERE id = :id",
        "TRUNCATE audit_event",
    ],
)
async def test_the_database_refuses_to_change_history(
    session: AsyncSession, statement: str
) -> None:
    events = await _record_three(session)

    with pytest.raises(DBAPIError, match="append-only"):
        async with session.begin_nested():
            await session.execute(text(statement), {"id": events[1].id})


async def test_verify_reports_an_event_altered_by_sql(session: AsyncSession) -> None:
    events = await _record_three(session)
    # The table owner can switch the guard off (inside this rolled-back test transaction):
    # that is what the hash chain is there to catch.
    await session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
    await session.execute(
        text("UPDATE audit_event SET details = '{\"n\": 99}' WHERE id = :id"), {"id": events[1].id}
    )

    report = await verify_chain(session)

    assert not report.intact
    assert report.broken_at_id == events[1].id
    assert report.reason is not None
    assert "altered" in report.reason


async def test_verify_reports_a_removed_event_at_its_successor(session: AsyncSession) -> None:
    events = await _record_three(session)
    await session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
    await session.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": events[1].id})

    report = await verify_chain(session)

    assert not report.intact
    assert report.broken_at_id == events[2].id
    assert report.reason is not None
    assert "removed" in report.reason


async def test_a_rewritten_event_with_a_recomputed_hash_is_caught_at_the_next_link(
    session: AsyncSession,
) -> None:
    events = await _record_three(session)
    forged = events[1]
    forged.details = {"n": 1, "forged": True}
    forged_hash = chain_hash(forged.prev_hash, forged)
    await session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
    await session.execute(
        text("UPDATE audit_event SET details = CAST(:d AS jsonb), hash = :h WHERE id = :id"),
        {"d": '{"n": 1, "forged": true}', "h": forged_hash, "id": forged.id},
    )

    report = await verify_chain(session)

    assert report.broken_at_id == events[2].id
