"""The commissions trend: accrued, clawed back, adjusted and paid per week, month or quarter,
for the entries the reader may see (a broker their own, a manager their firm's, an admin all),
as the broker dashboard and the back office chart it."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from lending.commissions.repository import READ_SCOPES, CommissionRepository
from lending.commissions.schemas import CommissionTrend, CommissionTrendPoint, TrendPeriod
from lending.identity.actor import Actor

MAX_TREND_DAYS = 3 * 366


class TrendRange(BaseModel):
    """Days of effect, both ends included (at most three years), and the period to sum by."""

    date_from: date
    date_to: date
    period: TrendPeriod = "month"

    @model_validator(mode="after")
    def _range(self) -> TrendRange:
        if self.date_to < self.date_from:
            raise ValueError("date_to is before date_from")
        if (self.date_to - self.date_from).days > MAX_TREND_DAYS:
            raise ValueError(f"a range is at most {MAX_TREND_DAYS} days")
        return self


class CommissionTrendService:
    async def trend(
        self, session: AsyncSession, actor: Actor, asked: TrendRange
    ) -> CommissionTrend:
        """Per period and currency (ordered by period): a broker's own entries from the ledger
        as they stand; a firm's or the platform's from the ledger's daily rollup (`as_of`).

        Raises:
            PermissionDenied: the actor may read no commissions (a borrower).
        """
        actor.require_any(*READ_SCOPES)
        rows, as_of = await CommissionRepository.from_session(session).trend(
            actor, period=asked.period, date_from=asked.date_from, date_to=asked.date_to
        )
        return CommissionTrend(
            as_of=as_of,
            period=asked.period,
            date_from=asked.date_from,
            date_to=asked.date_to,
            points=[
                CommissionTrendPoint(
                    period_start=row.period_start,
                    currency=row.currency,
                    accrued=row.accrued,
                    clawed_back=row.clawed_back,
                    adjusted=row.adjusted,
                    paid=-row.paid,
                    net=row.accrued + row.clawed_back + row.adjusted,
                )
                for row in rows
            ],
        )


commission_trend_service = CommissionTrendService()
