"""The dashboard's counts: today's funnel from its tables, and the job queue's health."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.dashboard.service import dashboard_service
from lending.errors import PermissionDenied
from lending.jobs import enqueue
from lending.models.identity import Role
from tests.identity.factories import actor_of, create_user
from tests.lending.factories import create_application, create_borrower


async def test_the_funnel_counts_what_started_today_and_waiting_jobs(
    session: AsyncSession, settings: Settings
) -> None:
    admin = actor_of(await create_user(session, role=Role.PLATFORM_ADMIN))
    before = await dashboard_service.today(session, admin)

    await create_application(session, await create_borrower(session, settings))
    await enqueue(session, "bench.nothing", args={})  # due now
    await enqueue(
        session, "bench.later", args={}, scheduled_at=datetime.now(UTC) + timedelta(hours=1)
    )
    after = await dashboard_service.today(session, admin)

    assert after.funnel.applications_started == before.funnel.applications_started + 1
    assert after.jobs.waiting == before.jobs.waiting + 1  # the scheduled one is not late
    assert after.jobs.oldest_waiting_seconds is not None


async def test_only_a_platform_administrator_sees_the_dashboard(session: AsyncSession) -> None:
    engineer = actor_of(await create_user(session, role=Role.PROMPT_ENGINEER))
    with pytest.raises(PermissionDenied):
        await dashboard_service.today(session, engineer)
