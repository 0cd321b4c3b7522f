"""What the back office added to the services: unlocking sign-in (audited in the caller's
transaction) and keyset pages (cursors that cannot be forged into another query)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.errors import InvalidInput, PermissionDenied
from lending.identity import throttle
from lending.identity.sign_in import sign_in_service
from lending.identity.users import user_service
from lending.kv import Store
from lending.models.audit import AuditEvent
from lending.models.identity import Role, User
from lending.pagination import decode_cursor, encode_cursor
from tests.identity.factories import actor_of, create_organization, create_user, unique


async def test_unlocking_lifts_a_lockout_and_is_audited(
    session: AsyncSession, settings: Settings, store: Store
) -> None:
    admin = await create_user(session, role=Role.PLATFORM_ADMIN)
    locked = await create_user(session, role=Role.BORROWER)
    for _ in range(settings.login_max_failures_per_account):
        await throttle.record_failure(store, settings, email=locked.email, ip=None)
    assert await throttle.is_locked(store, email=locked.email)

    was_locked = await sign_in_service.unlock_sign_in(
        session, actor_of(admin), store=store, user_id=locked.id
    )

    assert was_locked
    assert not await throttle.is_locked(store, email=locked.email)
    event = (
        await session.execute(
            select(AuditEvent).where(
                AuditEvent.action == "auth.sign_in_unlocked",
                AuditEvent.subject_id == str(locked.id),
            )
        )
    ).scalar_one()
    assert event.actor_user_id == admin.id
    assert event.details == {"was_locked": True}


async def test_a_broker_cannot_unlock_anyone(session: AsyncSession, store: Store) -> None:
    firm = await create_organization(session)
    broker = await create_user(session, role=Role.BROKER, organization=firm)
    other = await create_user(session, role=Role.BORROWER, organization=firm)
    with pytest.raises(PermissionDenied):
        await sign_in_service.unlock_sign_in(
            session, actor_of(broker), store=store, user_id=other.id
        )


async def test_user_pages_follow_each_other_without_overlap(session: AsyncSession) -> None:
    admin = await create_user(session, role=Role.PLATFORM_ADMIN)
    marker = unique("pager")
    made = {
        (
            await create_user(
                session,
                role=Role.BROKER,
                full_name=f"{marker} {n}",
                organization=await create_organization(session),
            )
        ).id
        for n in range(5)
    }
    seen: list[User] = []
    cursor = None
    while True:
        page = await user_service.page(
            session, actor_of(admin), search=marker, cursor=cursor, limit=2
        )
        seen.extend(page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert [u.id for u in seen if u.id in made] == [u.id for u in seen]
    assert {u.id for u in seen} == made
    assert len(seen) == 5


@pytest.mark.parametrize(
    "cursor", ["", "!!!", encode_cursor(["not a time", "x"]), encode_cursor([1])]
)
def test_a_forged_cursor_is_invalid_input(cursor: str) -> None:
    with pytest.raises(InvalidInput):
        decode_cursor(cursor, [User.created_at, User.id])
