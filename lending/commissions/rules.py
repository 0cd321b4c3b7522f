"""Commission arithmetic in plain Python: the named rounding rules, splits, clawback tiers and
the jurisdiction guards. The set-based SQL in `ledger.py` applies the same rules; tests hold the
two to each other."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from lending.models.commissions import CommissionJurisdiction, Party

CENT = Decimal("0.01")
# Amounts are rounded half up to the cent (PostgreSQL's round(numeric, 2) does the same).
AMOUNT_ROUNDING = "half_up"
# Splits: each party gets its share rounded down to the cent; the cents left over go one each to
# the parties with the largest discarded fractions, ties in PARTY_ORDER (Hamilton's method).
SPLIT_ROUNDING = "largest_remainder"
PARTY_ORDER: tuple[Party, ...] = (Party.BROKER, Party.REFERRER, Party.FIRM, Party.PLATFORM)


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def split(amount: Decimal, percents: Mapping[Party, Decimal]) -> dict[Party, Decimal]:
    """`amount` (whole cents) shared by `percents` (summing to 100); the shares sum to it."""
    sign = Decimal(-1) if amount < 0 else Decimal(1)
    magnitude = abs(amount)
    parties = [party for party in PARTY_ORDER if percents.get(party, Decimal(0)) > 0]
    exact = {party: magnitude * percents[party] / 100 for party in parties}
    shares = {party: exact[party].quantize(CENT, rounding=ROUND_DOWN) for party in parties}
    leftover = int((magnitude - sum(shares.values(), Decimal(0))) / CENT)
    by_fraction = sorted(
        parties, key=lambda party: (-(exact[party] - shares[party]), PARTY_ORDER.index(party))
    )
    for party in by_fraction[:leftover]:
        shares[party] += CENT
    return {party: sign * share for party, share in shares.items()}


def months_since_funding(funded_on: date, on: date) -> int:
    """The loan month `on` falls in: 1 from the funding date to the day before its one-month
    anniversary, and so on (what `age()` gives in SQL, plus one)."""
    months = (on.year - funded_on.year) * 12 + (on.month - funded_on.month)
    if on.day < funded_on.day:
        months -= 1
    return max(months, 0) + 1


def clawback_percent(schedule: Sequence[Mapping[str, Any]], month: int, max_months: int) -> Decimal:
    """The percent of the upfront commission given back for a discharge in loan month `month`."""
    if month > max_months:
        return Decimal(0)
    for tier in sorted(schedule, key=lambda tier: int(tier["to_month"])):
        if month <= int(tier["to_month"]):
            return Decimal(str(tier["percent"]))
    return Decimal(0)


@dataclass(frozen=True)
class GuardViolation:
    guard: str
    field: str
    reason: str

    def as_error(self) -> dict[str, Any]:
        return {"loc": ["body", self.field], "msg": self.reason, "type": f"guard.{self.guard}"}


def guard_violations(
    jurisdiction: CommissionJurisdiction,
    *,
    conditions: Sequence[Mapping[str, Any]],
    volume_bonus: Mapping[str, Any] | None,
    clawback_schedule: Sequence[Mapping[str, Any]],
) -> list[GuardViolation]:
    """What in a rule the jurisdiction's active guards forbid (empty: the rule may be saved)."""
    found: list[GuardViolation] = []
    if jurisdiction.bans_rate_or_terms_dependence:
        forbidden = set(jurisdiction.forbidden_condition_fields)
        for index, condition in enumerate(conditions):
            if condition["field"] in forbidden:
                found.append(
                    GuardViolation(
                        "rate_or_terms",
                        f"conditions.{index}.field",
                        f"compensation may not depend on the loan's rate or terms or a proxy "
                        f"for them ({condition['field']}) in {jurisdiction.name} "
                        "(Reg Z § 1026.36(d)); a fixed percentage of the amount or a fixed "
                        "amount per loan is allowed",
                    )
                )
    if volume_bonus is not None and jurisdiction.bans_volume_bonuses:
        found.append(
            GuardViolation(
                "volume_bonus",
                "volume_bonus",
                f"volume-based bonuses are switched off in {jurisdiction.name}",
            )
        )
    longest = max((int(tier["to_month"]) for tier in clawback_schedule), default=0)
    if longest > jurisdiction.max_clawback_months:
        found.append(
            GuardViolation(
                "clawback_period",
                "clawback_schedule",
                f"a clawback may reach back at most {jurisdiction.max_clawback_months} months "
                f"in {jurisdiction.name}, not {longest}",
            )
        )
    return found
