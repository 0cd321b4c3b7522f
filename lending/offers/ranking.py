"""Ranking offers by APR and by total cost, and the Reg Z § 1026.36(e) anti-steering set."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from lending.offers.pricing import PricedOffer

# How many different lenders the anti-steering set draws from when that many qualify.
ANTI_STEERING_MIN_LENDERS = 3

LOWEST_RATE = "lowest_rate"
LOWEST_RATE_WITHOUT_RISKY_FEATURES = "lowest_rate_without_risky_features"
LOWEST_POINTS_AND_FEES = "lowest_points_and_fees"
ADDITIONAL_LENDER = "additional_lender"


def _by_apr(offer: PricedOffer) -> tuple[Decimal, Decimal, Decimal, str, str]:
    return (
        offer.apr_exact,
        offer.total_cost,
        offer.note_rate,
        offer.lender_name,
        offer.product_name,
    )


def _by_total_cost(offer: PricedOffer) -> tuple[Decimal, Decimal, str, str]:
    return (offer.total_cost, offer.apr_exact, offer.lender_name, offer.product_name)


def _by_rate(offer: PricedOffer) -> tuple[Decimal, Decimal, Decimal, str, str]:
    return (
        offer.note_rate,
        offer.apr_exact,
        offer.total_cost,
        offer.lender_name,
        offer.product_name,
    )


def _by_points_and_fees(offer: PricedOffer) -> tuple[Decimal, Decimal, Decimal, str, str]:
    return (
        offer.points_and_fees,
        offer.note_rate,
        offer.apr_exact,
        offer.lender_name,
        offer.product_name,
    )


def rank_by_apr(offers: Sequence[PricedOffer]) -> list[PricedOffer]:
    """Cheapest APR first; ties go to the lower total cost (then names, for a stable order)."""
    return sorted(offers, key=_by_apr)


def rank_by_total_cost(offers: Sequence[PricedOffer]) -> list[PricedOffer]:
    """Lowest total cost (interest plus every fee) first; ties go to the lower APR."""
    return sorted(offers, key=_by_total_cost)


@dataclass(frozen=True, slots=True)
class AntiSteeringSet:
    """The loan options a broker presents under the Reg Z § 1026.36(e)(3) safe harbor.

    Attributes:
        lowest_rate: The offer with the lowest note rate.
        lowest_rate_without_risky_features: The lowest note rate among offers without a
            prepayment penalty, balloon, interest-only or negative-amortization feature (None
            when every offer has one).
        lowest_points_and_fees: The offer with the lowest origination fees and points.
        additional: Further offers, cheapest APR first, added so that the set spans at least
            three lenders when three qualify (or every qualifying lender when fewer do).
        lenders: The lenders the set draws from.
        qualifying_lenders: How many lenders had at least one eligible offer.
    """

    lowest_rate: uuid.UUID | None
    lowest_rate_without_risky_features: uuid.UUID | None
    lowest_points_and_fees: uuid.UUID | None
    additional: tuple[uuid.UUID, ...]
    lenders: tuple[uuid.UUID, ...]
    qualifying_lenders: int

    def labels(self, offer_id: uuid.UUID) -> list[str]:
        labels = []
        if offer_id == self.lowest_rate:
            labels.append(LOWEST_RATE)
        if offer_id == self.lowest_rate_without_risky_features:
            labels.append(LOWEST_RATE_WITHOUT_RISKY_FEATURES)
        if offer_id == self.lowest_points_and_fees:
            labels.append(LOWEST_POINTS_AND_FEES)
        if offer_id in self.additional:
            labels.append(ADDITIONAL_LENDER)
        return labels

    @property
    def offer_ids(self) -> list[uuid.UUID]:
        ids = [
            self.lowest_rate,
            self.lowest_rate_without_risky_features,
            self.lowest_points_and_fees,
        ]
        return list(dict.fromkeys(i for i in [*ids, *self.additional] if i is not None))

    def as_json(self) -> dict[str, Any]:
        def text(value: uuid.UUID | None) -> str | None:
            return None if value is None else str(value)

        return {
            LOWEST_RATE: text(self.lowest_rate),
            LOWEST_RATE_WITHOUT_RISKY_FEATURES: text(self.lowest_rate_without_risky_features),
            LOWEST_POINTS_AND_FEES: text(self.lowest_points_and_fees),
            "additional": [str(i) for i in self.additional],
            "lenders": [str(i) for i in self.lenders],
            "qualifying_lenders": self.qualifying_lenders,
            "minimum_lenders": ANTI_STEERING_MIN_LENDERS,
        }


def anti_steering_set(offers: Sequence[PricedOffer]) -> AntiSteeringSet:
    """Pick the three safe-harbor options, then widen the set to enough distinct lenders."""
    if not offers:
        return AntiSteeringSet(None, None, None, (), (), 0)
    lowest_rate = min(offers, key=_by_rate)
    plain = [offer for offer in offers if not offer.risky_features]
    lowest_plain = min(plain, key=_by_rate) if plain else None
    lowest_fees = min(offers, key=_by_points_and_fees)
    chosen = [o for o in (lowest_rate, lowest_plain, lowest_fees) if o is not None]
    lenders = list(dict.fromkeys(offer.lender_id for offer in chosen))
    qualifying = len({offer.lender_id for offer in offers})
    wanted = min(ANTI_STEERING_MIN_LENDERS, qualifying)
    additional: list[uuid.UUID] = []
    for offer in rank_by_apr(offers):
        if len(lenders) >= wanted:
            break
        if offer.lender_id not in lenders:
            lenders.append(offer.lender_id)
            additional.append(offer.id)
    return AntiSteeringSet(
        lowest_rate=lowest_rate.id,
        lowest_rate_without_risky_features=lowest_plain.id if lowest_plain else None,
        lowest_points_and_fees=lowest_fees.id,
        additional=tuple(additional),
        lenders=tuple(lenders),
        qualifying_lenders=qualifying,
    )
