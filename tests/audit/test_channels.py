"""A domain change is audited by its service, the same way whichever channel asked for it."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.db import SessionMaker
from lending.models.audit import AuditEvent
from tests.identity.factories import bearer, issue_token
from tests.lending.factories import create_borrower
from tests.tools.support import context_for
from tools.registry import registry


async def _events_after(session: AsyncSession, first_id: int) -> list[AuditEvent]:
    rows = await session.execute(
        select(AuditEvent).where(AuditEvent.id > first_id).order_by(AuditEvent.id)
    )
    return list(rows.scalars())


async def test_rest_and_a_tool_record_the_same_profile_change(
    session: AsyncSession,
    sessionmaker: SessionMaker,
    settings: Settings,
    client: httpx.AsyncClient,
) -> None:
    borrower = await create_borrower(session, settings)
    headers = bearer(await issue_token(session, borrower, settings=settings))
    start = int(await session.scalar(select(func.coalesce(func.max(AuditEvent.id), 0))) or 0)

    answer = await client.patch(
        "/api/v1/profile", json={"phone": "+1 212 555 0100", "city": "Albany"}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    over_rest = await _events_after(session, start)
    middle = over_rest[-1].id
    await registry.execute(
        "update_borrower_profile",
        {"phone": "+1 212 555 0101", "city": "Troy"},
        context_for(borrower, sessionmaker, settings),
    )
    by_tool = await _events_after(session, middle)

    def change(event: AuditEvent) -> dict[str, Any]:
        return {
            "action": event.action,
            "actor": event.actor_user_id,
            "subject": (event.subject_type, event.subject_id),
            "fields": event.details["fields"],
        }

    assert [change(e) for e in over_rest] == [
        {
            "action": "profile.updated",
            "actor": borrower.id,
            "subject": ("user_account", str(borrower.id)),
            "fields": ["city", "phone"],
        }
    ]
    assert over_rest[0].details["channel"] == "api"
    assert over_rest[0].request_id is not None
    # The tool's call records the same change, then the call itself: a separate fact, which
    # names no subject when the arguments do not (the borrower's own profile).
    assert [change(e) for e in by_tool] == [
        change(over_rest[0]),
        {
            **change(over_rest[0]),
            "action": "tool.update_borrower_profile",
            "subject": (None, None),
        },
    ]
    assert "Albany" not in str([e.details for e in over_rest + by_tool])
