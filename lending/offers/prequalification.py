"""Prequalification without I/O: match the catalog, price what fits, rank, pick the safe harbor."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from lending.lenders.catalog import ProductTerms
from lending.offers.matching import BorrowerFacts, Exclusion, MatchResult, match_catalog
from lending.offers.math import LoanMathError
from lending.offers.pricing import PricedOffer, fee_lines, price_offer
from lending.offers.ranking import AntiSteeringSet, anti_steering_set, rank_by_apr


@dataclass(frozen=True, slots=True)
class PrequalificationResult:
    eligible: list[MatchResult]
    excluded: list[MatchResult]
    # Cheapest APR first.
    offers: list[PricedOffer]
    anti_steering: AntiSteeringSet


def price_match(match: MatchResult, facts: BorrowerFacts, *, now: datetime) -> PricedOffer:
    """The prequalified offer of an eligible match."""
    product = match.product
    assert match.note_rate is not None, "only eligible matches are priced"
    fees = fee_lines(
        product.fees, amount=facts.amount, band=facts.credit_band, rounding=product.rounding
    )
    return price_offer(
        lender_id=product.lender_id,
        lender_name=product.lender_name,
        product_id=product.id,
        product_version_id=product.version_id,
        product_name=product.name,
        amount=facts.amount,
        term_months=facts.term_months,
        note_rate=match.note_rate,
        fees=fees,
        rounding=product.rounding,
        day_count=product.day_count,
        now=now,
        validity_days=product.offer_validity_days,
        risky_features=product.risky_features,
        dti=match.dti,
    )


def prequalify(
    products: Iterable[ProductTerms], facts: BorrowerFacts, *, now: datetime
) -> PrequalificationResult:
    eligible: list[MatchResult] = []
    excluded: list[MatchResult] = []
    offers: list[PricedOffer] = []
    for match in match_catalog(products, facts):
        if not match.eligible:
            excluded.append(match)
            continue
        try:
            offers.append(price_match(match, facts, now=now))
        except LoanMathError as error:
            # Terms the loan math refuses (a rounded payment that repays the loan early, say)
            # make no offer; the product is excluded with the reason.
            reason = Exclusion("pricing", f"{match.product.name} cannot be priced: {error}.")
            excluded.append(replace(match, exclusions=(reason,)))
        else:
            eligible.append(match)
    ranked = rank_by_apr(offers)
    return PrequalificationResult(
        eligible=eligible,
        excluded=excluded,
        offers=ranked,
        anti_steering=anti_steering_set(ranked),
    )
