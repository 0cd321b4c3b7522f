"""Matching with reasons, priced offers (APR from the finance-charge fees), ranking, and the
anti-steering set; then prequalification recorded against the real catalog."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.applications.schemas import ApplicationUpdate
from lending.applications.service import ConsentRequired, application_service
from lending.config import Settings
from lending.lenders.catalog import FeeTerms, ProductTerms
from lending.models.applications import ProductType
from lending.models.lenders import CreditBand
from lending.models.offers import Offer, OfferKind, OfferStatus, Prequalification
from lending.offers.matching import BorrowerFacts, match_product
from lending.offers.math import DayCount, LoanMathError, RoundingMode, apr_within_tolerance
from lending.offers.prequalification import prequalify
from lending.offers.pricing import FeeLine, price_offer
from lending.offers.ranking import (
    ADDITIONAL_LENDER,
    LOWEST_POINTS_AND_FEES,
    LOWEST_RATE,
    LOWEST_RATE_WITHOUT_RISKY_FEATURES,
    anti_steering_set,
)
from lending.offers.service import OfferNotAcceptable, offer_service
from tests.identity.factories import actor_of
from tests.lending.factories import (
    create_application,
    create_borrower,
    create_catalog,
    give_consent,
)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def product(
    name: str = "Plain Personal",
    *,
    lender: str | None = None,
    rate: str = "8.0000",
    fee_percent: str | None = None,
    risky: tuple[str, ...] = (),
    **changes: object,
) -> ProductTerms:
    lender_name = lender or f"{name} Bank"
    fees: tuple[FeeTerms, ...] = ()
    if fee_percent is not None:
        fees = (
            FeeTerms("origination", "Origination fee", "percent", Decimal(fee_percent), None, True),
        )
    terms = ProductTerms(
        id=uuid.uuid5(uuid.NAMESPACE_DNS, name),
        lender_id=uuid.uuid5(uuid.NAMESPACE_DNS, lender_name),
        lender_slug=lender_name.lower().replace(" ", "-"),
        lender_name=lender_name,
        code=name.lower().replace(" ", "-"),
        name=name,
        product_type=ProductType.PERSONAL,
        min_amount=Decimal("1000.00"),
        max_amount=Decimal("50000.00"),
        min_term_months=12,
        max_term_months=60,
        rate_table={CreditBand.EXCELLENT: Decimal(rate), CreditBand.GOOD: Decimal(rate) + 2},
        min_credit_band=CreditBand.GOOD,
        max_dti=Decimal("45"),
        max_ltv=None,
        allowed_purposes=frozenset(),
        allowed_states=frozenset(),
        fees=fees,
        risky_features=risky,
    )
    return replace(terms, **changes)  # type: ignore[arg-type]


FACTS = BorrowerFacts(
    product_type=ProductType.PERSONAL,
    purpose="home_improvement",
    amount=Decimal("15000.00"),
    term_months=36,
    credit_band=CreditBand.EXCELLENT,
    state="CA",
    annual_income=Decimal("96000.00"),
    monthly_debt_payments=Decimal("450.00"),
    monthly_housing_payment=Decimal("1800.00"),
    as_of=date(2026, 11, 28),
)


def test_every_excluded_product_says_why() -> None:
    cases = {
        "state": product(allowed_states=frozenset({"TX"})),
        "amount": product(max_amount=Decimal("10000.00")),
        "term": product(min_term_months=48),
        "credit_band": product(
            min_credit_band=CreditBand.EXCELLENT, rate_table={CreditBand.EXCELLENT: Decimal(7)}
        ),
        "purpose": product(allowed_purposes=frozenset({"medical"})),
        "dti": product(max_dti=Decimal("30")),
        "product_type": product(product_type=ProductType.AUTO),
        "income": product(conditions={"min_annual_income": "120000.00"}),
    }
    for code, terms in cases.items():
        facts = FACTS if code != "credit_band" else replace(FACTS, credit_band=CreditBand.GOOD)
        result = match_product(terms, facts)
        assert not result.eligible, code
        assert [reason.code for reason in result.exclusions] == [code]
        assert result.exclusions[0].message
    assert match_product(product(), FACTS).eligible


def test_dti_exclusion_uses_the_new_payment_and_the_exact_ratio() -> None:
    result = match_product(product(max_dti=Decimal("30")), FACTS)
    assert result.dti is not None
    # 450 + 1800 + the new payment, over 8000 a month.
    assert result.dti.numerator == Decimal("2250.00") + result.monthly_payment  # type: ignore[operator]
    assert "above" in result.exclusions[0].message


def test_a_secured_product_needs_the_collateral_value() -> None:
    secured = product(max_ltv=Decimal("80"))
    assert [r.code for r in match_product(secured, FACTS).exclusions] == ["collateral_value"]
    valued = replace(FACTS, collateral_value=Decimal("15000.00"))
    assert [r.code for r in match_product(secured, valued).exclusions] == ["ltv"]
    assert match_product(secured, replace(FACTS, collateral_value=Decimal("20000.00"))).eligible


def _price(rate: Decimal, fee: Decimal, amount: Decimal, months: int) -> tuple[Decimal, Decimal]:
    fees = (FeeLine("origination", "Origination", fee, True),) if fee else ()
    priced = price_offer(
        lender_id=uuid.uuid4(),
        lender_name="L",
        product_id=None,
        product_name="P",
        amount=amount,
        term_months=months,
        note_rate=rate,
        fees=fees,
        rounding=RoundingMode.half_up,
        day_count=DayCount.thirty_360,
        now=NOW,
        validity_days=30,
    )
    return priced.apr, priced.apr_exact


@settings(max_examples=60, deadline=None)
@given(
    amount=st.decimals(min_value=1000, max_value=500000, places=2),
    rate=st.decimals(min_value=Decimal("0.5"), max_value=Decimal("30"), places=3),
    months=st.integers(min_value=6, max_value=360),
    fee_share=st.decimals(min_value=Decimal("0.001"), max_value=Decimal("0.08"), places=3),
)
def test_an_offers_apr_is_its_note_rate_without_fees_and_rises_with_them(
    amount: Decimal, rate: Decimal, months: int, fee_share: Decimal
) -> None:
    try:
        plain, plain_exact = _price(rate, Decimal(0), amount, months)
    except LoanMathError:
        # The loan math refuses terms whose rounded payment repays early; no offer is made.
        reject()
    assert apr_within_tolerance(plain, rate, regular=True)
    fee = (amount * fee_share).quantize(Decimal("0.01"))
    _, with_fee_exact = _price(rate, fee, amount, months)
    assert with_fee_exact > plain_exact
    _, bigger_exact = _price(rate, fee * 2, amount, months)
    assert bigger_exact > with_fee_exact


def test_offer_figures_follow_truth_in_lending() -> None:
    result = prequalify([product(fee_percent="3.00")], FACTS, now=NOW)
    [offer] = result.offers
    assert offer.prepaid_finance_charges == Decimal("450.00")
    assert offer.amount_financed == Decimal("14550.00")
    assert offer.finance_charge == offer.total_of_payments - offer.amount_financed
    assert offer.total_cost == offer.finance_charge + offer.other_fees
    assert offer.apr > offer.note_rate
    assert offer.expires_at == datetime(2026, 12, 28, 12, 0, tzinfo=UTC)


def test_terms_the_loan_math_refuses_are_excluded_not_a_crash() -> None:
    # At 30% over 300 months the rounded payment on 1,000 repays the loan early.
    long = product("Long Haul", rate="30.0000", max_term_months=300, min_amount=Decimal("500"))
    facts = replace(FACTS, amount=Decimal("1000.00"), term_months=300)
    result = prequalify([long, product("Short", max_term_months=300)], facts, now=NOW)
    assert [o.product_name for o in result.offers] == ["Short"]
    [refused] = result.excluded
    assert [r.code for r in refused.exclusions] == ["pricing"]
    assert "repays" in refused.exclusions[0].message


def test_offers_rank_by_apr_and_by_total_cost() -> None:
    cheap_rate_big_fee = product("Fee Heavy", rate="6.0000", fee_percent="8.00")
    plain = product("Plain", rate="7.5000")
    result = prequalify([cheap_rate_big_fee, plain], FACTS, now=NOW)
    assert [o.product_name for o in result.offers] == ["Plain", "Fee Heavy"]
    assert result.offers[0].apr_exact < result.offers[1].apr_exact


def test_the_anti_steering_set_spans_three_lenders_when_three_qualify() -> None:
    products = [
        product("Lowest Rate Balloon", rate="5.0000", risky=("balloon_payment",)),
        product("Plain Low", lender="Lowest Rate Balloon Bank", rate="5.5000", fee_percent="1.00"),
        product("Second", rate="9.0000"),
        product("Third", rate="10.0000"),
        product("Fourth", rate="11.0000"),
    ]
    result = prequalify(products, FACTS, now=NOW)
    chosen = result.anti_steering
    by_id = {offer.id: offer for offer in result.offers}
    assert by_id[chosen.lowest_rate].product_name == "Lowest Rate Balloon"  # type: ignore[index]
    assert by_id[chosen.lowest_rate_without_risky_features].product_name == "Plain Low"  # type: ignore[index]
    assert by_id[chosen.lowest_points_and_fees].product_name == "Lowest Rate Balloon"  # type: ignore[index]
    assert chosen.qualifying_lenders == 4
    assert len(set(chosen.lenders)) == 3
    assert {by_id[i].lender_name for i in chosen.offer_ids} == set(
        by_id[i].lender_name for i in chosen.offer_ids
    )
    assert len({by_id[i].lender_id for i in chosen.offer_ids}) == 3
    assert chosen.labels(chosen.additional[0]) == [ADDITIONAL_LENDER]
    assert chosen.labels(chosen.lowest_rate) == [LOWEST_RATE, LOWEST_POINTS_AND_FEES]  # type: ignore[arg-type]


def test_with_fewer_than_three_lenders_the_set_takes_them_all() -> None:
    products = [product("One", rate="6.0000"), product("Two", rate="7.0000")]
    chosen = anti_steering_set(prequalify(products, FACTS, now=NOW).offers)
    assert chosen.qualifying_lenders == 2
    assert len(chosen.lenders) == 2
    assert anti_steering_set([]).lowest_rate is None


async def test_prequalification_against_the_demo_catalog_is_recorded_with_its_safe_harbor(
    session: AsyncSession, settings: Settings
) -> None:
    await create_catalog(session)
    borrower = await create_borrower(session, settings)
    actor = actor_of(borrower)
    started = await create_application(session, borrower)
    with pytest.raises(ConsentRequired):
        await offer_service.get_offers(session, actor, application_id=started.id)
    await give_consent(session, borrower)

    offers = await offer_service.get_offers(session, actor, application_id=started.id)

    assert offers.offers, "a Californian with excellent credit qualifies somewhere"
    assert {o.kind for o in offers.offers} == {OfferKind.PREQUALIFIED}
    assert [o.rank_by_apr for o in offers.offers] == list(range(1, len(offers.offers) + 1))
    aprs = [o.apr for o in offers.offers]
    assert aprs == sorted(aprs)
    costs = {o.id: o.total_cost for o in offers.offers}
    assert [costs[i] for i in offers.ranked_by_total_cost] == sorted(costs.values())
    anti = offers.anti_steering
    assert anti is not None
    assert anti.qualifying_lenders >= 3
    assert len(anti.lenders) == 3
    labelled = {o.lender_id for o in offers.offers if o.anti_steering}
    assert labelled == set(anti.lenders)
    for offer in offers.offers:
        assert offer.amount == Decimal("15000.00")
        assert offer.term_months == 36
        assert offer.expires_at > datetime.now(UTC)
        assert offer.debt_to_income is not None
        if offer.prepaid_finance_charges == 0:
            assert offer.apr == offer.note_rate.quantize(Decimal("0.01"))
        else:
            assert offer.apr > offer.note_rate
    # Every other catalog product is accounted for, each with a reason.
    assert len(offers.offers) + len(offers.excluded) == 20
    assert all(item.reasons for item in offers.excluded)
    assert any(r.code == "state" for item in offers.excluded for r in item.reasons)

    stored = (
        await session.execute(
            select(Prequalification).where(Prequalification.application_id == started.id)
        )
    ).scalar_one()
    assert stored.anti_steering[LOWEST_RATE] is not None
    assert LOWEST_RATE_WITHOUT_RISKY_FEATURES in stored.anti_steering
    assert stored.inputs["credit_band"] == "excellent"


async def test_a_read_does_not_reprice_but_a_change_does(
    session: AsyncSession, settings: Settings
) -> None:
    await create_catalog(session)
    borrower = await create_borrower(session, settings)
    await give_consent(session, borrower)
    actor = actor_of(borrower)
    started = await create_application(session, borrower)
    first = await offer_service.get_offers(session, actor, application_id=started.id)
    again = await offer_service.get_offers(session, actor, application_id=started.id)
    assert again.prequalification_id == first.prequalification_id

    await application_service.update(
        session, actor, application_id=started.id, data=ApplicationUpdate(term_months=48)
    )
    repriced = await offer_service.get_offers(session, actor, application_id=started.id)
    assert repriced.prequalification_id != first.prequalification_id
    assert {o.term_months for o in repriced.offers} == {48}
    old = (
        await session.execute(
            select(Offer).where(Offer.prequalification_id == first.prequalification_id)
        )
    ).scalars()
    assert {offer.status for offer in old} == {OfferStatus.SUPERSEDED}


async def test_a_prequalified_offer_cannot_be_accepted(
    session: AsyncSession, settings: Settings
) -> None:
    await create_catalog(session)
    borrower = await create_borrower(session, settings)
    await give_consent(session, borrower)
    actor = actor_of(borrower)
    started = await create_application(session, borrower)
    offers = await offer_service.get_offers(session, actor, application_id=started.id)
    with pytest.raises(OfferNotAcceptable) as raised:
        await offer_service.accept(session, actor, offer_id=offers.offers[0].id)
    assert raised.value.status_code == 409


async def test_find_lenders_explains_without_recording(
    session: AsyncSession, settings: Settings
) -> None:
    await create_catalog(session)
    borrower = await create_borrower(session, settings, credit_score=600)
    started = await create_application(session, borrower)
    matches = await offer_service.find_lenders(
        session, actor_of(borrower), application_id=started.id
    )
    assert matches.credit_band is CreditBand.POOR
    eligible = {m.product_name for m in matches.eligible}
    assert eligible == {"BrightPath Personal Loan", "Lotus Newcomer Personal Loan"}
    harbor = next(e for e in matches.excluded if e.product_name == "Harbor Personal Loan")
    assert [r.code for r in harbor.reasons] == ["credit_band"]
    recorded = await session.scalar(
        select(Prequalification.id).where(Prequalification.application_id == started.id)
    )
    assert recorded is None
