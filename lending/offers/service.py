"""The offer service: match lenders, prequalify and record offers, accept a firm offer, what-ifs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.analytics.recorder import analytics
from lending.applications.profile import borrower_profile_service
from lending.applications.ratios import Ratio, debt_to_income
from lending.applications.repository import (
    OFFER_SCOPES,
    ApplicationRepository,
    BorrowerRepository,
    StaleVersion,
)
from lending.applications.requirements import (
    credit_band_for,
    field_error,
    missing_fields,
    requirements,
    slot_money,
)
from lending.applications.service import (
    ConsentRequired,
    FirmOfferTerms,
    IncompleteApplication,
    application_service,
)
from lending.audit.schemas import Origin
from lending.audit.service import audit_service
from lending.errors import Conflict, InvalidInput, NotFound
from lending.identity.actor import Actor
from lending.identity.scopes import Scope
from lending.lenders.catalog import BAND_RANK, ProductTerms
from lending.lenders.repository import LenderRepository
from lending.models.analytics import EventName
from lending.models.applications import Application, ApplicationStatus, BorrowerProfile, ProductType
from lending.models.base import new_id
from lending.models.lenders import Lender, LenderProduct
from lending.models.offers import Offer, OfferKind, OfferStatus, Prequalification
from lending.offers.matching import BorrowerFacts, MatchResult, match_catalog
from lending.offers.math import (
    DayCount,
    LoanMathError,
    RoundingMode,
    amortization_schedule,
    schedule_apr,
)
from lending.offers.prequalification import PrequalificationResult, prequalify
from lending.offers.pricing import FeeLine, PricedOffer, fee_lines, price_offer
from lending.offers.ranking import rank_by_total_cost
from lending.offers.repository import OfferRepository
from lending.offers.schemas import (
    AcceptedOffer,
    AntiSteeringRead,
    EligibleProduct,
    ExcludedProduct,
    ExclusionRead,
    ExpiringOffer,
    ExpiringOffers,
    FeeAmount,
    LenderMatches,
    OfferRead,
    OffersRead,
    PaymentAnswer,
    PaymentQuestion,
    ScheduleLine,
)

# Prequalification reprices a draft; after submission the offers on record are what was sent.
_REPRICEABLE = frozenset({ApplicationStatus.DRAFT})


class OfferNotAcceptable(Conflict):
    message = "This offer cannot be accepted."


@dataclass(frozen=True)
class _Named:
    # A stored Offer, or a plain namespace of the same fields for offers just written (the
    # prequalification that wrote them need not read them back).
    offer: Any
    lender_name: str
    product_name: str | None


class OfferService:
    async def find_lenders(
        self, session: AsyncSession, actor: Actor, *, application_id: uuid.UUID
    ) -> LenderMatches:
        """Which catalog products fit the application, and why each other one does not.

        Reads only: nothing is recorded and no credit check is implied.
        """
        application = await self._load(session, actor, application_id)
        profile = await _profile(session, application)
        facts = borrower_facts(application, profile, as_of=datetime.now(UTC).date())
        matches = match_catalog(await catalog_terms(session), facts)
        return LenderMatches(
            application_id=application.id,
            credit_band=facts.credit_band,
            eligible=[_eligible(match) for match in matches if match.eligible],
            excluded=[_excluded(match) for match in matches if not match.eligible],
        )

    async def get_offers(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        application_id: uuid.UUID,
        refresh: bool = False,
    ) -> OffersRead:
        """The application's offers. A draft is prequalified first when it never was, when it
        or the borrower's profile changed since, when its offers expired, or on `refresh`."""
        application = await self._load(session, actor, application_id)
        repository = OfferRepository.from_session(session)
        latest = await repository.latest_prequalification(application.id)
        if application.status in _REPRICEABLE and (
            refresh or await self._stale(session, application, latest)
        ):
            latest, fresh, excluded = await self._prequalify(session, actor, application)
            # A draft has no firm offers: the run's own offers are the whole answer.
            return self._view(application, latest, fresh, excluded)
        return await self._read(session, application, latest)

    async def expiring(
        self, session: AsyncSession, actor: Actor, *, within_days: int, limit: int = 100
    ) -> ExpiringOffers:
        """Active offers on the applications `actor` reaches (a broker's clients, a manager's
        firm) that expire within `within_days` days from now, soonest first."""
        actor.require_any(*OFFER_SCOPES)
        now = datetime.now(UTC)
        rows = await OfferRepository.from_session(session).expiring_scoped(
            actor, now=now, until=now + timedelta(days=within_days), limit=limit
        )
        return ExpiringOffers(
            as_of=now,
            within_days=within_days,
            items=[
                ExpiringOffer(
                    offer_id=offer.id,
                    application_id=application.id,
                    application_reference=application.reference,
                    borrower_user_id=application.borrower_user_id,
                    borrower_name=borrower_name,
                    lender_id=offer.lender_id,
                    lender_name=lender_name,
                    kind=offer.kind,
                    amount=offer.amount,
                    term_months=offer.term_months,
                    apr=offer.apr,
                    monthly_payment=offer.monthly_payment,
                    expires_at=offer.expires_at,
                )
                for offer, application, borrower_name, lender_name in rows
            ],
        )

    async def get_offer(
        self, session: AsyncSession, actor: Actor, *, offer_id: uuid.UUID
    ) -> OfferRead:
        """One offer on an application the actor reaches; another's is "not found"."""
        found = await OfferRepository.from_session(session).get_scoped(actor, offer_id)
        if found is None:
            raise NotFound("No such offer.")
        named = await self._named(session, [found[0]])
        return _offer_read(named[0], datetime.now(UTC))

    async def accept(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        offer_id: uuid.UUID,
        version: int | None = None,
        origin: Origin | None = None,
    ) -> AcceptedOffer:
        """The borrower accepts a lender's firm offer on an approved application."""
        actor.require(Scope.OFFERS_ACCEPT)
        repository = OfferRepository.from_session(session)
        found = await repository.get_scoped(actor, offer_id, for_update=True)
        if found is None:
            raise NotFound("No such offer.")
        offer, application = found
        if version is not None and version != application.version:
            raise StaleVersion(
                {
                    "message": StaleVersion.message,
                    "your_version": version,
                    "current_version": application.version,
                }
            )
        if offer.kind is not OfferKind.FIRM:
            raise OfferNotAcceptable(
                {
                    "message": "This is a prequalified offer, an estimate: it becomes a firm "
                    "offer only when the lender approves the submitted application.",
                    "kind": offer.kind.value,
                }
            )
        if offer.status is not OfferStatus.ACTIVE:
            raise OfferNotAcceptable(
                {"message": f"This offer is {offer.status.value}.", "status": offer.status.value}
            )
        now = datetime.now(UTC)
        if offer.expires_at <= now:
            raise OfferNotAcceptable(
                {"message": "This offer has expired.", "expires_at": offer.expires_at.isoformat()}
            )
        lender = await LenderRepository.from_session(session).get_lender(offer.lender_id)
        await application_service.move(
            session,
            application,
            ApplicationStatus.OFFER_ACCEPTED,
            actor=actor,
            lender_id=offer.lender_id,
            reason=f"Accepted the offer of {lender.name if lender else 'the lender'}.",
            details={"offer_id": str(offer.id)},
        )
        offer.status = OfferStatus.ACCEPTED
        offer.accepted_at = now
        await repository.decline_others(application.id, offer.id)
        await session.flush()
        named = await self._named(session, [offer])
        accepted = AcceptedOffer(
            offer=_offer_read(named[0], None),
            application=await application_service.describe(session, application),
        )
        await audit_service.record_change(
            session,
            actor,
            "offer.accepted",
            origin=origin,
            subject_type="offer",
            subject_id=offer.id,
        )
        return accepted

    async def record_firm_offers(
        self,
        session: AsyncSession,
        *,
        application: Application,
        lender_id: uuid.UUID,
        submission_product_id: uuid.UUID | None,
        offers: Sequence[FirmOfferTerms],
    ) -> list[Offer]:
        """Price and store a lender's firm offers (system path, from a lender's approval)."""
        lender = await LenderRepository.from_session(session).get_lender(lender_id)
        if lender is None:
            raise NotFound("No such lender.")
        profile = await _profile(session, application)
        product = None
        now = datetime.now(UTC)
        catalog = LenderRepository.from_session(session)
        rows = []
        for terms in offers:
            product_id = terms.product_id or submission_product_id
            if product_id is not None:
                # The product's terms in effect today (its rounding and day count price the
                # lender's offer), retired or not: the lender approved on it.
                product = await catalog.product_version_on(product_id, now.date())
            fees = tuple(FeeLine(code, name, amount, fc) for code, name, amount, fc in terms.fees)
            try:
                priced = price_offer(
                    lender_id=lender.id,
                    lender_name=lender.name,
                    product_id=product_id,
                    product_version_id=product.id if product else None,
                    product_name=product.name if product else lender.name,
                    amount=terms.amount,
                    term_months=terms.term_months,
                    note_rate=terms.note_rate,
                    fees=fees,
                    rounding=product.rounding if product else _DEFAULT_ROUNDING,
                    day_count=product.day_count if product else _DEFAULT_DAY_COUNT,
                    now=now,
                    validity_days=terms.validity_days,
                    risky_features=tuple(terms.risky_features),
                )
            except LoanMathError as error:
                raise InvalidInput([field_error(["offers"], str(error))]) from None
            dti = debt_to_income(
                annual_income=profile.annual_income if profile else None,
                monthly_debt_payments=profile.monthly_debt_payments if profile else None,
                monthly_housing_payment=profile.monthly_housing_payment if profile else None,
                new_payment=priced.monthly_payment,
                replaces_housing=_replaces_housing(application),
            )
            rows.append(_offer_row(priced, application.id, None, OfferKind.FIRM, [], dti))
        await OfferRepository.from_session(session).add_all(rows)
        analytics.record(
            session,
            EventName.OFFER_PRESENTED,
            organization_id=application.organization_id,
            application_id=application.id,
            lender_id=lender.id,
            broker_id=application.broker_user_id,
            product=application.product_type.value,
            amount=min((row.amount for row in rows), default=None),
            properties={"offers": len(rows)},
        )
        return rows

    async def compute_payment(
        self, session: AsyncSession, actor: Actor, *, question: PaymentQuestion
    ) -> PaymentAnswer:
        """A what-if: the payment, totals and APR of a level-payment loan, optionally on a
        catalog product's rate, fees and rounding (its amount and term limits then apply)."""
        rate = question.annual_rate
        rounding = question.rounding
        prepaid = question.prepaid_finance_charges
        product_name = None
        if question.product_id is not None:
            repository = LenderRepository.from_session(session)
            offered = await repository.offered_product_on(
                question.product_id, datetime.now(UTC).date()
            )
            if offered is None:
                raise InvalidInput(
                    [field_error(["product_id"], "no such product is offered", "unknown")]
                )
            head = await repository.get_lender(offered[0].lender_id)
            assert head is not None
            terms = ProductTerms.from_version(offered[0], head.slug, offered[1])
            _check_range(terms, question.amount, question.term_months)
            band = question.credit_band or max(terms.rate_table, key=lambda b: BAND_RANK[b])
            if band not in terms.rate_table:
                raise InvalidInput(
                    [field_error(["credit_band"], f"{terms.name} has no rate for {band.value}")]
                )
            rate = (
                question.annual_rate if question.annual_rate is not None else terms.rate_table[band]
            )
            rounding = terms.rounding
            prepaid = sum(
                (
                    fee.amount
                    for fee in fee_lines(
                        terms.fees, amount=question.amount, band=band, rounding=terms.rounding
                    )
                    if fee.finance_charge
                ),
                Decimal("0.00"),
            )
            product_name = terms.name
        assert rate is not None
        try:
            schedule = amortization_schedule(question.amount, rate, question.term_months, rounding)
            apr = schedule_apr(schedule, question.amount, prepaid)
        except LoanMathError as error:
            field, named, message = str(error).partition(": ")
            if named and field.isidentifier():
                raise InvalidInput([field_error([field], message)]) from None
            # A refusal of the terms as a whole (a rounded payment that repays early).
            raise InvalidInput([field_error([], str(error))]) from None
        return PaymentAnswer(
            amount=question.amount,
            annual_rate=rate,
            term_months=question.term_months,
            monthly_payment=schedule.payment,
            total_of_payments=schedule.total_of_payments,
            total_interest=schedule.total_interest,
            prepaid_finance_charges=prepaid,
            amount_financed=question.amount - prepaid,
            finance_charge=schedule.total_interest + prepaid,
            apr=apr.apr,
            rounding=rounding,
            product_name=product_name,
            schedule=[
                ScheduleLine(
                    number=row.number,
                    payment=row.payment,
                    interest=row.interest,
                    principal=row.principal,
                    balance=row.balance,
                )
                for row in schedule.rows
            ]
            if question.include_schedule
            else None,
        )

    # Internals

    async def _load(
        self, session: AsyncSession, actor: Actor, application_id: uuid.UUID
    ) -> Application:
        actor.require_any(*OFFER_SCOPES)
        application = await ApplicationRepository.from_session(session).get_scoped(
            actor, application_id, OFFER_SCOPES
        )
        if application is None:
            raise NotFound("No such application.")
        return application

    async def _stale(
        self, session: AsyncSession, application: Application, latest: Prequalification | None
    ) -> bool:
        if latest is None or application.updated_at > latest.created_at:
            return True
        profile = await _profile(session, application)
        if profile is not None and profile.updated_at > latest.created_at:
            return True
        offers = await OfferRepository.from_session(session).current_prequalified(
            application.id, datetime.now(UTC)
        )
        # Expired offers reprice, but a run that found nothing is not repeated on every read.
        had_offers = bool(latest.anti_steering.get("lowest_rate"))
        return had_offers and not offers

    async def _prequalify(
        self, session: AsyncSession, actor: Actor, application: Application
    ) -> tuple[Prequalification, list[_Named], list[ExcludedProduct]]:
        """Match and price the whole catalog, record the run and its offers (superseding the
        previous run's), with the exclusions and the anti-steering set."""
        if not await borrower_profile_service.has_credit_check_consent(
            session, application.borrower_user_id
        ):
            raise ConsentRequired()
        # Two readers repricing the same draft at once take turns, so runs never interleave.
        await ApplicationRepository.from_session(session).get(application.id, for_update=True)
        now = datetime.now(UTC)
        profile = await _profile(session, application)
        facts = borrower_facts(application, profile, as_of=now.date())
        result = prequalify(await catalog_terms(session), facts, now=now)
        return await self._record(session, actor, application, facts, result, now)

    async def _record(
        self,
        session: AsyncSession,
        actor: Actor | None,
        application: Application,
        facts: BorrowerFacts,
        result: PrequalificationResult,
        now: datetime,
    ) -> tuple[Prequalification, list[_Named], list[ExcludedProduct]]:
        repository = OfferRepository.from_session(session)
        await repository.supersede_prequalified(application.id)
        excluded = [_excluded(match) for match in result.excluded]
        run = Prequalification(
            id=new_id(),
            application_id=application.id,
            created_by_user_id=actor.user_id if actor else None,
            as_of=now.date(),
            credit_band=facts.credit_band,
            inputs=_facts_json(facts),
            excluded=[_excluded_json(item) for item in excluded],
            anti_steering=result.anti_steering.as_json(),
            created_at=now,
        )
        by_cost = {
            offer.id: rank for rank, offer in enumerate(rank_by_total_cost(result.offers), 1)
        }
        # The run first: its offers refer to it.
        await repository.add_all([run])
        values = []
        fresh = []
        for rank, priced in enumerate(result.offers, 1):
            row = _offer_values(
                priced,
                application.id,
                run.id,
                OfferKind.PREQUALIFIED,
                result.anti_steering.labels(priced.id),
                priced.dti,
            )
            row.update(rank_by_apr=rank, rank_by_total_cost=by_cost[priced.id], created_at=now)
            values.append(row)
            fresh.append(_Named(SimpleNamespace(**row), priced.lender_name, priced.product_name))
        await repository.insert_offers(values)
        return run, fresh, excluded

    async def _read(
        self,
        session: AsyncSession,
        application: Application,
        latest: Prequalification | None,
    ) -> OffersRead:
        repository = OfferRepository.from_session(session)
        rows = [
            row
            for row in await repository.offers_of(application.id)
            if row.kind is OfferKind.FIRM
            or (latest is not None and row.prequalification_id == latest.id)
        ]
        return self._view(application, latest, await self._named(session, rows))

    def _view(
        self,
        application: Application,
        latest: Prequalification | None,
        named: list[_Named],
        excluded: list[ExcludedProduct] | None = None,
    ) -> OffersRead:
        now = datetime.now(UTC)
        prequalified = [n for n in named if n.offer.kind is OfferKind.PREQUALIFIED]
        return OffersRead(
            application_id=application.id,
            prequalification_id=latest.id if latest else None,
            as_of=latest.as_of if latest else None,
            credit_band=latest.credit_band if latest else None,
            inputs=latest.inputs if latest else {},
            offers=[_offer_read(n, now) for n in named],
            ranked_by_total_cost=[
                n.offer.id
                for n in sorted(prequalified, key=lambda n: n.offer.rank_by_total_cost or 0)
            ],
            anti_steering=AntiSteeringRead.model_validate(latest.anti_steering) if latest else None,
            excluded=excluded
            if excluded is not None
            else [ExcludedProduct.model_validate(item) for item in latest.excluded]
            if latest
            else [],
        )

    async def _named(self, session: AsyncSession, offers: Sequence[Offer]) -> list[_Named]:
        lender_ids = {offer.lender_id for offer in offers}
        product_ids = {offer.product_id for offer in offers if offer.product_id}
        lender_rows = await session.execute(
            select(Lender.id, Lender.name).where(Lender.id.in_(lender_ids))
        )
        lenders = {lender_id: name for lender_id, name in lender_rows.all()}
        product_rows = await session.execute(
            select(LenderProduct.id, LenderProduct.name).where(LenderProduct.id.in_(product_ids))
        )
        products = {product_id: name for product_id, name in product_rows.all()}
        return [
            _Named(
                offer,
                lenders.get(offer.lender_id, ""),
                products.get(offer.product_id) if offer.product_id else None,
            )
            for offer in offers
        ]


# A firm offer for no catalog product is priced the way most products are.
_DEFAULT_ROUNDING = RoundingMode.half_up
_DEFAULT_DAY_COUNT = DayCount.thirty_360


def borrower_facts(
    application: Application, profile: BorrowerProfile | None, *, as_of: date
) -> BorrowerFacts:
    """The facts prequalification needs; raises IncompleteApplication naming what is missing."""
    missing = missing_fields(application, profile, which="prequalification")
    if missing or profile is None:
        raise IncompleteApplication(
            {
                "message": "To match lenders these are still needed: "
                + ", ".join(field.label for field in missing)
                + ".",
                "missing_fields": [field.model_dump() for field in missing],
            }
        )
    assert application.amount is not None
    assert application.term_months is not None
    assert application.purpose is not None
    assert profile.estimated_credit_score is not None
    assert profile.annual_income is not None
    collateral = requirements().rules(application.product_type).collateral
    address = application.slots.get("property_address")
    state = address["state"] if collateral == "property" and address else profile.state
    value = None
    if collateral == "property":
        value = slot_money(application, "property_value")
    elif collateral == "vehicle":
        value = slot_money(application, "vehicle_value")
    vehicle_year = application.slots.get("vehicle_year")
    mileage = application.slots.get("vehicle_mileage")
    years = application.slots.get("years_in_business")
    return BorrowerFacts(
        product_type=application.product_type,
        purpose=application.purpose,
        amount=application.amount,
        term_months=application.term_months,
        credit_band=credit_band_for(profile.estimated_credit_score),
        state=state,
        annual_income=profile.annual_income,
        monthly_debt_payments=profile.monthly_debt_payments or Decimal("0.00"),
        monthly_housing_payment=profile.monthly_housing_payment or Decimal("0.00"),
        replaces_housing=_replaces_housing(application),
        collateral_value=value,
        purchase_price=slot_money(application, "purchase_price"),
        existing_liens=slot_money(application, "existing_mortgage_balance") or Decimal("0.00"),
        vehicle_year=int(vehicle_year) if vehicle_year is not None else None,
        vehicle_mileage=int(mileage) if mileage is not None else None,
        years_in_business=int(years) if years is not None else None,
        business_annual_revenue=slot_money(application, "business_annual_revenue"),
        as_of=as_of,
    )


def _replaces_housing(application: Application) -> bool:
    # A mortgage on the home the borrower will live in replaces their rent or current mortgage.
    return (
        application.product_type is ProductType.MORTGAGE
        and application.slots.get("occupancy", "primary_residence") == "primary_residence"
    )


async def _profile(session: AsyncSession, application: Application) -> BorrowerProfile | None:
    return await BorrowerRepository.from_session(session).get_profile(application.borrower_user_id)


# The catalog as terms, per database and day, with the fingerprint it was read at.
# Prequalification reads every product each time; rebuilding a few hundred products from their
# JSON columns cost more than the matching itself, and the catalog rarely changes. Versions are
# only ever added and take effect by the day, so (day, fingerprint) identifies the catalog.
_catalog_cache: dict[str, tuple[tuple[Any, ...], list[ProductTerms]]] = {}


async def catalog_terms(session: AsyncSession, on: date | None = None) -> list[ProductTerms]:
    """Every product offered on `on` (default: today, UTC): the versions then in effect of the
    active products of active lenders, as terms for matching and pricing."""
    on = on or datetime.now(UTC).date()
    repository = LenderRepository.from_session(session)
    database = session.get_bind().engine.url.render_as_string(hide_password=True)
    fingerprint = (on, *await repository.catalog_fingerprint())
    cached = _catalog_cache.get(database)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    terms = [ProductTerms.from_catalog_row(row) for row in await repository.catalog_on(on)]
    _catalog_cache[database] = (fingerprint, terms)
    return terms


def _check_range(terms: ProductTerms, amount: Decimal, term_months: int) -> None:
    errors: list[dict[str, Any]] = []
    if not terms.min_amount <= amount <= terms.max_amount:
        errors.append(
            field_error(
                ["amount"],
                f"must be between {terms.min_amount} and {terms.max_amount} for {terms.name}",
                "out_of_range",
            )
        )
    if not terms.min_term_months <= term_months <= terms.max_term_months:
        errors.append(
            field_error(
                ["term_months"],
                f"must be between {terms.min_term_months} and {terms.max_term_months} months "
                f"for {terms.name}",
                "out_of_range",
            )
        )
    if errors:
        raise InvalidInput(errors)


def _facts_json(facts: BorrowerFacts) -> dict[str, Any]:
    def text(value: object) -> object:
        return str(value) if isinstance(value, Decimal) else value

    return {
        "product_type": facts.product_type.value,
        "purpose": facts.purpose,
        "amount": text(facts.amount),
        "term_months": facts.term_months,
        "credit_band": facts.credit_band.value,
        "state": facts.state,
        "annual_income": text(facts.annual_income),
        "monthly_debt_payments": text(facts.monthly_debt_payments),
        "monthly_housing_payment": text(facts.monthly_housing_payment),
        "replaces_housing": facts.replaces_housing,
        "collateral_value": text(facts.collateral_value),
        "purchase_price": text(facts.purchase_price),
        "existing_liens": text(facts.existing_liens),
        "as_of": facts.as_of.isoformat(),
    }


def _eligible(match: MatchResult) -> EligibleProduct:
    assert match.note_rate is not None
    return EligibleProduct(
        lender_id=match.product.lender_id,
        lender_name=match.product.lender_name,
        product_id=match.product.id,
        product_name=match.product.name,
        note_rate=match.note_rate,
        estimated_monthly_payment=match.monthly_payment,
        debt_to_income=match.dti,
        loan_to_value=match.ltv,
    )


def _excluded(match: MatchResult) -> ExcludedProduct:
    # Built without validation: the values come from the catalog and matching, not a caller,
    # and a prequalification excludes hundreds of products.
    return ExcludedProduct.model_construct(
        lender_id=match.product.lender_id,
        lender_name=match.product.lender_name,
        product_id=match.product.id,
        product_name=match.product.name,
        reasons=[
            ExclusionRead.model_construct(code=r.code, message=r.message) for r in match.exclusions
        ],
    )


def _excluded_json(item: ExcludedProduct) -> dict[str, Any]:
    return {
        "lender_id": str(item.lender_id),
        "lender_name": item.lender_name,
        "product_id": str(item.product_id),
        "product_name": item.product_name,
        "reasons": [{"code": r.code, "message": r.message} for r in item.reasons],
    }


def _offer_row(
    priced: PricedOffer,
    application_id: uuid.UUID,
    prequalification_id: uuid.UUID | None,
    kind: OfferKind,
    labels: list[str],
    dti: Ratio | None,
) -> Offer:
    return Offer(**_offer_values(priced, application_id, prequalification_id, kind, labels, dti))


def _offer_values(
    priced: PricedOffer,
    application_id: uuid.UUID,
    prequalification_id: uuid.UUID | None,
    kind: OfferKind,
    labels: list[str],
    dti: Ratio | None,
) -> dict[str, Any]:
    return dict(
        id=priced.id,
        application_id=application_id,
        prequalification_id=prequalification_id,
        lender_id=priced.lender_id,
        product_id=priced.product_id,
        product_version_id=priced.product_version_id,
        kind=kind,
        status=OfferStatus.ACTIVE,
        amount=priced.amount,
        term_months=priced.term_months,
        note_rate=priced.note_rate,
        apr=priced.apr,
        apr_exact=priced.apr_exact,
        monthly_payment=priced.monthly_payment,
        total_of_payments=priced.total_of_payments,
        finance_charge=priced.finance_charge,
        amount_financed=priced.amount_financed,
        prepaid_finance_charges=priced.prepaid_finance_charges,
        other_fees=priced.other_fees,
        points_and_fees=priced.points_and_fees,
        total_cost=priced.total_cost,
        fees=[fee.as_json() for fee in priced.fees],
        risky_features=list(priced.risky_features),
        anti_steering=labels,
        dti=dti.model_dump(mode="json") if dti is not None else None,
        expires_at=priced.expires_at,
        accepted_at=None,
    )


def _offer_read(named: _Named, now: datetime | None) -> OfferRead:
    offer = named.offer
    return OfferRead(
        id=offer.id,
        application_id=offer.application_id,
        lender_id=offer.lender_id,
        lender_name=named.lender_name,
        product_id=offer.product_id,
        product_name=named.product_name,
        kind=offer.kind,
        status=offer.status,
        amount=offer.amount,
        term_months=offer.term_months,
        note_rate=offer.note_rate,
        apr=offer.apr,
        monthly_payment=offer.monthly_payment,
        total_of_payments=offer.total_of_payments,
        finance_charge=offer.finance_charge,
        amount_financed=offer.amount_financed,
        prepaid_finance_charges=offer.prepaid_finance_charges,
        other_fees=offer.other_fees,
        points_and_fees=offer.points_and_fees,
        total_cost=offer.total_cost,
        fees=[FeeAmount.model_validate(fee) for fee in offer.fees],
        risky_features=list(offer.risky_features),
        rank_by_apr=offer.rank_by_apr,
        rank_by_total_cost=offer.rank_by_total_cost,
        anti_steering=list(offer.anti_steering),
        debt_to_income=Ratio.model_validate(offer.dti) if offer.dti is not None else None,
        expires_at=offer.expires_at,
        expired=offer.expires_at <= (now or datetime.now(UTC)),
        accepted_at=offer.accepted_at,
    )


offer_service = OfferService()
