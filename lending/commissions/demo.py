"""The commissions part of the demo data: a platform default rule, so that funding a demo
application (e.g. one of broker@harbor.demo's clients) shows commissions in the ledger."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.models.commissions import Basis, CommissionRule, CommissionRuleVersion, RuleScope

DEMO_RULE = "Platform default (US)"


_SUMMARY = (
    f"Demo commission rule '{DEMO_RULE}': 0.65% upfront, 0.20% a year trail; broker 70%, "
    "firm 10%, platform 20% (fund an application to see the broker's commission)."
)


async def seed_demo_commissions(session: AsyncSession, settings: Settings) -> str:
    """Create the demo rule when missing (a second run changes nothing)."""
    if settings.environment == "production":
        return "No demo commission rules in production."
    existing = await session.scalar(select(CommissionRule).where(CommissionRule.name == DEMO_RULE))
    if existing is not None:
        return _SUMMARY
    rule = CommissionRule(
        name=DEMO_RULE, scope=RuleScope.PLATFORM, scope_id=None, jurisdiction="US", currency="USD"
    )
    session.add(rule)
    await session.flush()
    session.add(
        CommissionRuleVersion(
            rule_id=rule.id,
            version=1,
            effective_from=date(2026, 1, 1),
            active=True,
            basis=Basis.FUNDED_AMOUNT,
            upfront_percent=Decimal("0.65"),
            trail_percent=Decimal("0.20"),
            tax_percent=Decimal(0),
            splits={"platform": "20", "firm": "10", "broker": "70"},
            clawback_schedule=[
                {"to_month": 12, "percent": "100"},
                {"to_month": 24, "percent": "50"},
            ],
            conditions=[],
            note="Demo: 0.65% upfront and 0.20% a year trail; platform 20%, firm 10%, broker 70%.",
        )
    )
    await session.flush()
    return _SUMMARY
