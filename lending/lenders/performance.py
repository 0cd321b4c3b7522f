"""Lender performance for catalog managers: approval rate, time to decision, funded volume."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lending.errors import InvalidInput, NotFound
from lending.identity.actor import Actor
from lending.identity.scopes import Scope
from lending.lenders.repository import LenderRepository
from lending.lenders.schemas import LenderPerformance

# The longest window one query covers (a year and a day, for leap years).
MAX_WINDOW = timedelta(days=366)
DEFAULT_WINDOW = timedelta(days=90)
_RATE_PLACES = Decimal("0.0001")
_HOURS_PLACES = Decimal("0.01")


class PerformanceService:
    async def lenders(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        since: date | None = None,
        until: date | None = None,
        lender_id: uuid.UUID | None = None,
    ) -> list[LenderPerformance]:
        """Every lender's figures (or one lender's) for the days [since, until] (UTC), by name.

        Default: the 90 days to today. Submissions count by the day they were made, funded
        loans by their funding day.

        Raises:
            InvalidInput: until before since, or a window longer than 366 days.
            NotFound: `lender_id` names no lender.
        """
        actor.require(Scope.LENDERS_MANAGE)
        until = until or datetime.now(UTC).date()
        since = since or until - DEFAULT_WINDOW
        if until < since:
            raise InvalidInput([_problem("until", "is before since")])
        if until - since > MAX_WINDOW:
            longest = f"the window is longer than {MAX_WINDOW.days} days"
            raise InvalidInput([_problem("since", longest)])
        rows = await LenderRepository.from_session(session).performance(
            start=datetime.combine(since, time.min, UTC),
            end=datetime.combine(until + timedelta(days=1), time.min, UTC),
            since=since,
            until=until,
        )
        found = [_figures(row, since, until) for row in rows if lender_id in (None, row.id)]
        if lender_id is not None and not found:
            raise NotFound("No such lender.")
        return found


def _problem(name: str, message: str) -> dict[str, Any]:
    return {"loc": ["query", name], "msg": message, "type": "value_error"}


def _figures(row: Any, since: date, until: date) -> LenderPerformance:
    approved = (row.approved or 0) + (row.funded or 0)
    declined = row.declined or 0
    decided = approved + declined
    return LenderPerformance(
        lender_id=row.id,
        lender_name=row.name,
        since=since,
        until=until,
        submissions=row.submissions or 0,
        approved=row.approved or 0,
        declined=declined,
        referred=row.referred or 0,
        funded=row.funded or 0,
        pending=sum(
            getattr(row, status) or 0 for status in ("queued", "pending", "sent", "received")
        ),
        approval_rate=(Decimal(approved) / Decimal(decided)).quantize(_RATE_PLACES, ROUND_HALF_UP)
        if decided
        else None,
        median_hours_to_decision=_hours(row.median_hours),
        mean_hours_to_decision=_hours(row.mean_hours),
        funded_loans=row.funded_loans or 0,
        funded_volume=row.funded_volume or Decimal("0.00"),
    )


def _hours(value: Any) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(_HOURS_PLACES, ROUND_HALF_UP)


performance_service = PerformanceService()
