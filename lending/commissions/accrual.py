"""Accrual: the upfront commission of funded loans and the monthly trail, written to the
ledger by set-based statements (safe to run again)."""

from __future__ import annotations

import calendar
import uuid
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from lending.analytics.recorder import analytics
from lending.audit.schemas import Origin
from lending.audit.service import audit_service
from lending.commissions import ledger
from lending.commissions.common import platform_id
from lending.commissions.repository import CommissionRepository
from lending.commissions.schemas import AccrualRun, TrailRun
from lending.commissions.servicing import servicing_service
from lending.identity.actor import Actor
from lending.identity.scopes import Scope
from lending.models.analytics import EventName


class AccrualService:
    """Upfront and trail accrual (the jobs take no actor; a person's early run is audited)."""

    async def accrue_funded(
        self, session: AsyncSession, *, application_id: uuid.UUID
    ) -> AccrualRun:
        """The job behind a `funded` transition: record the loan, accrue its upfront commission."""
        loan = await servicing_service.record_funding(session, application_id=application_id)
        if loan is None:
            return AccrualRun(loans=0, entries_written=0)
        written = await ledger.accrue_upfront(
            session, platform_id=await platform_id(session), loan_ids=[loan.id]
        )
        written += await self._late_clawbacks(session)
        analytics.record(
            session,
            EventName.COMMISSION_ACCRUED,
            organization_id=loan.organization_id,
            application_id=loan.application_id,
            lender_id=loan.lender_id,
            broker_id=loan.broker_user_id,
            product=loan.product_type,
            amount=loan.funded_amount,
            properties={"entries": written, "component": "upfront"},
        )
        return AccrualRun(loans=1, entries_written=written)

    async def accrue_pending(self, session: AsyncSession) -> AccrualRun:
        """Upfront commission for every funded loan that has none yet (one statement)."""
        loans = await CommissionRepository.from_session(session).loans_without_upfront()
        written = await ledger.accrue_upfront(
            session, platform_id=await platform_id(session), loan_ids=None
        )
        written += await self._late_clawbacks(session)
        return AccrualRun(loans=loans, entries_written=written)

    async def _late_clawbacks(self, session: AsyncSession) -> int:
        """Clawbacks of loans that were closed before their upfront commission accrued (a
        discharge reported before the accrual ran): the clawback job found nothing then."""
        events = await CommissionRepository.from_session(session).unclawed_closures()
        written = 0
        for event_id in events:
            written += await servicing_service.claw_back(session, servicing_event_id=event_id)
        return written

    async def accrue_trail(self, session: AsyncSession, *, month: date) -> TrailRun:
        """A month's trail on every active loan funded before it (safe to run again)."""
        start = month.replace(day=1)
        end = start.replace(day=calendar.monthrange(start.year, start.month)[1])
        written = await ledger.accrue_trail(
            session, platform_id=await platform_id(session), month_start=start, month_end=end
        )
        return TrailRun(month=start.strftime("%Y-%m"), entries_written=written)

    async def accrue_trail_now(
        self, session: AsyncSession, actor: Actor, *, month: date, origin: Origin | None = None
    ) -> TrailRun:
        """A person runs a month's trail before the monthly job does (audited; the job is not)."""
        actor.require(Scope.COMMISSIONS_APPROVE)
        run = await self.accrue_trail(session, month=month)
        await audit_service.record_change(
            session, actor, "commission.trail_accrued", origin=origin, fields=["month"]
        )
        return run


accrual_service = AccrualService()
