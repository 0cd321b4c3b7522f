"""The lived-in part of the demo: Harbor's broker with clients whose applications stand at
different stages, built through the same services a person's actions go through (profiles,
consent, prequalification, submission, lender decisions as a verified webhook records them,
acceptance, funding, commissions), so `make run` shows pipelines, offers, a funded loan with its
commission entries, and notifications in the bell.

Idempotent: a client who exists already is left as they are (each is built in full in one
transaction). Lender decisions are recorded here directly; the delivery jobs the submissions
queued find their submission decided and send nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from lending.applications.profile import borrower_profile_service
from lending.applications.schemas import (
    ApplicationCreate,
    BorrowerProfileUpdate,
    ConsentCreate,
)
from lending.applications.service import FirmOfferTerms, LenderDecision, application_service
from lending.commissions.accrual import accrual_service
from lending.commissions.payout_batches import payout_batch_service
from lending.commissions.schemas import BatchCreate
from lending.commissions.servicing import servicing_service
from lending.config import Settings
from lending.identity.actor import Actor
from lending.identity.repository import OrganizationRepository, UserRepository
from lending.identity.users import user_service
from lending.models.applications import ApplicationStatus, EmploymentStatus, ProductType
from lending.models.identity import Role, User
from lending.models.offers import OfferKind
from lending.offers.service import offer_service

FIRM_SLUG = "harbor"
BROKER_EMAIL = "broker@harbor.demo"
ADMIN_EMAIL = "admin@omnifin.demo"
CHECKER_EMAIL = "checker@omnifin.demo"
Stage = Literal[
    "draft",
    "submitted",
    "under_review",
    "referred",
    "approved",
    "declined",
    "withdrawn",
    "offer_accepted",
    "funded",
    "closed",
]


@dataclass(frozen=True)
class _Client:
    email: str
    first: str
    last: str
    stage: Stage
    product: ProductType
    purpose: str
    amount: str
    term_months: int
    income: str
    credit_score: int
    state: str = "CA"


CLIENTS = (
    _Client("sam.rivera@harbor.demo", "Sam", "Rivera", "draft", ProductType.PERSONAL,
            "home_improvement", "12000.00", 36, "78000.00", 712),
    _Client("jordan.chen@harbor.demo", "Jordan", "Chen", "submitted", ProductType.PERSONAL,
            "debt_consolidation", "18500.00", 48, "104000.00", 738, "WA"),
    _Client("maya.patel@harbor.demo", "Maya", "Patel", "approved", ProductType.PERSONAL,
            "medical", "9000.00", 24, "88000.00", 761, "NY"),
    _Client("luis.garcia@harbor.demo", "Luis", "Garcia", "funded", ProductType.PERSONAL,
            "home_improvement", "25000.00", 60, "132000.00", 776, "TX"),
    _Client("ana.kowalski@harbor.demo", "Ana", "Kowalski", "declined", ProductType.PERSONAL,
            "major_purchase", "15000.00", 48, "64000.00", 668, "IL"),
)  # fmt: skip

# The pipeline around the five named clients: every status and every product type, in two waves.
# The first wave's commissions go into a paid batch, the second's into a draft one.
_STAGES: tuple[Stage, ...] = (
    "draft", "submitted", "under_review", "referred", "approved",
    "declined", "withdrawn", "offer_accepted", "funded", "closed",
)  # fmt: skip
# Amount, term and purpose a lender of the catalog takes for each product.
_TERMS: dict[ProductType, tuple[str, int, str]] = {
    ProductType.PERSONAL: ("15000.00", 36, "major_purchase"),
    ProductType.AUTO: ("28000.00", 60, "used_vehicle_purchase"),
    ProductType.MORTGAGE: ("320000.00", 360, "purchase"),
    ProductType.HOME_EQUITY: ("60000.00", 120, "home_improvement"),
    ProductType.BUSINESS: ("75000.00", 60, "working_capital"),
    ProductType.DEBT_CONSOLIDATION: ("20000.00", 48, "debt_consolidation"),
    ProductType.STUDENT_REFINANCE: ("40000.00", 120, "student_loan_refinance"),
}
_PROPERTY = {
    "line1": "12 Quay Street",
    "city": "Springfield",
    "state": "IL",
    "postal_code": "62701",
}
# The product-specific answers each product asks for (requirements.json's slots).
_SLOTS: dict[ProductType, dict[str, object]] = {
    ProductType.PERSONAL: {},
    ProductType.AUTO: {
        "vehicle_year": 2022,
        "vehicle_make": "Toyota",
        "vehicle_model": "RAV4",
        "vehicle_mileage": 18000,
        "vehicle_value": "31000.00",
    },
    ProductType.MORTGAGE: {
        "property_address": _PROPERTY,
        "property_value": "420000.00",
        "occupancy": "primary_residence",
    },
    ProductType.HOME_EQUITY: {
        "property_address": _PROPERTY,
        "property_value": "510000.00",
        "existing_mortgage_balance": "210000.00",
    },
    ProductType.BUSINESS: {
        "business_name": "Harbor Coffee Roasters LLC",
        "business_annual_revenue": "640000.00",
        "years_in_business": 6,
    },
    ProductType.DEBT_CONSOLIDATION: {"debts_to_consolidate": "19500.00"},
    ProductType.STUDENT_REFINANCE: {"highest_degree": "master", "student_loan_balance": "41000.00"},
}
_FIRST = (
    "Noah",
    "Iris",
    "Omar",
    "Lena",
    "Theo",
    "Ruth",
    "Kai",
    "Zoe",
    "Ezra",
    "Nina",
    "Ravi",
    "Mina",
)
_LAST = ("Brooks", "Lindqvist", "Haddad", "Okafor", "Moreau", "Tanaka", "Silva", "Novak", "Ward")
_STATES = ("CA", "WA", "NY", "TX", "IL")
PIPELINE_SIZE = 25


def _pipeline() -> tuple[_Client, ...]:
    products = list(ProductType)
    clients = []
    for n in range(PIPELINE_SIZE):
        product = products[n % len(products)]
        amount, term, purpose = _TERMS[product]
        first, last = _FIRST[n % len(_FIRST)], _LAST[n % len(_LAST)]
        clients.append(
            _Client(
                f"{first.lower()}.{last.lower()}{n}@harbor.demo",
                first,
                last,
                _STAGES[n % len(_STAGES)],
                product,
                purpose,
                amount,
                term,
                f"{150000 + 5000 * (n % 7)}.00",
                720 + (n * 7) % 80,
                _STATES[n % len(_STATES)],
            )
        )
    return tuple(clients)


PIPELINE = _pipeline()
WAVES = (CLIENTS + PIPELINE[: PIPELINE_SIZE // 2], PIPELINE[PIPELINE_SIZE // 2 :])
ALL_CLIENTS = CLIENTS + PIPELINE


def _actor(user: User) -> Actor:
    return Actor.for_user(user.id, user.role, user.organization_id)


async def seed_demo_world(session: AsyncSession, settings: Settings, password: str) -> str:
    """Create the clients who are missing; a summary line for `omnifin seed demo`."""
    if settings.environment == "production":
        return "No demo world in production."
    users = UserRepository.from_session(session)
    firm = await OrganizationRepository.from_session(session).get_by_slug(FIRM_SLUG)
    broker = await users.get_by_email(BROKER_EMAIL)
    if firm is None or broker is None:
        return "No demo world: the demo firm and broker are missing."
    maker = await users.get_by_email(ADMIN_EMAIL)
    checker = await users.get_by_email(CHECKER_EMAIL)
    if maker is not None and checker is None:
        platform = await OrganizationRepository.from_session(session).get_platform()
        checker = await user_service.add(
            session,
            settings=settings,
            email=CHECKER_EMAIL,
            password=password,
            full_name="Casey Checker",
            role=Role.PLATFORM_ADMIN,
            organization=platform,
        )
    for wave, batch_kind in zip(WAVES, ("paid", "draft"), strict=True):
        built = 0
        for client in wave:
            if await users.get_by_email(client.email) is not None:
                continue
            borrower = await user_service.add(
                session,
                settings=settings,
                email=client.email,
                password=password,
                full_name=f"{client.first} {client.last}",
                role=Role.BORROWER,
                organization=firm,
                referred_by_user_id=broker.id,
            )
            await _build(session, settings, client, borrower, broker, maker)
            built += 1
        if built and maker is not None and checker is not None:
            await _batch(session, maker, checker, paid=batch_kind == "paid")
    await session.flush()
    stages = ", ".join(f"{client.first} ({client.stage})" for client in CLIENTS)
    return (
        f"Demo world: {len(CLIENTS)} clients of {BROKER_EMAIL}: {stages}; "
        f"{len(PIPELINE)} more across every status and product; a paid and a draft payout "
        f"batch ({ADMIN_EMAIL} made them, {CHECKER_EMAIL} approves). Each signs in with "
        f"their address (e.g. {CLIENTS[3].email}) and the demo password."
    )


async def _batch(session: AsyncSession, maker: User, checker: User, *, paid: bool) -> None:
    """A payout batch of every unpaid entry so far: drafted by one admin; for the paid one,
    approved by another, exported and paid."""
    await accrual_service.accrue_pending(session)
    batch = await payout_batch_service.create_batch(
        session, _actor(maker), data=BatchCreate(cutoff_on=date.today())
    )
    if not paid or not batch.payees:
        return
    await payout_batch_service.approve_batch(session, _actor(checker), batch_id=batch.id)
    await payout_batch_service.mark_exported(session, _actor(checker), batch_id=batch.id)
    await payout_batch_service.mark_paid(
        session, _actor(checker), batch_id=batch.id, reference=f"DEMO-{date.today():%Y%m%d}"
    )


async def _build(
    session: AsyncSession,
    settings: Settings,
    client: _Client,
    borrower: User,
    broker: User,
    admin: User | None,
) -> None:
    me = _actor(borrower)
    await borrower_profile_service.update(
        session,
        me,
        settings=settings,
        data=BorrowerProfileUpdate(
            legal_first_name=client.first,
            legal_last_name=client.last,
            phone="+1 415 555 0100",
            address_line1="100 Harbor Way",
            city="San Francisco" if client.state == "CA" else "Springfield",
            state=client.state,
            postal_code="94105" if client.state == "CA" else "62701",
            date_of_birth=date(1987, 3, 14),
            ssn="123-45-6789",  # the demo's; never a real person's
            employment_status=EmploymentStatus.EMPLOYED,
            employer_name="Harbor Logistics",
            annual_income=Decimal(client.income),
            monthly_debt_payments=Decimal("420.00"),
            monthly_housing_payment=Decimal("1650.00"),
            estimated_credit_score=client.credit_score,
        ),
    )
    # The broker starts the application for the client, as the pipeline shows it.
    started = await application_service.start(
        session,
        _actor(broker),
        data=ApplicationCreate(
            product_type=client.product,
            borrower_user_id=borrower.id,
            purpose=client.purpose,
            amount=Decimal(client.amount),
            term_months=client.term_months,
            slots=_SLOTS[client.product],
        ),
    )
    if client.stage == "draft":
        return
    await borrower_profile_service.record_consent(session, me, data=ConsentCreate(), channel="web")
    offers = await offer_service.get_offers(session, me, application_id=started.id)
    lenders = list(dict.fromkeys(offer.lender_id for offer in offers.offers))[:2]
    if not lenders:
        return  # nothing fits this profile in the catalog: it stays a draft
    await application_service.submit(session, me, application_id=started.id, lender_ids=lenders)
    if client.stage == "submitted":
        return
    if client.stage == "withdrawn":
        await application_service.withdraw(
            session, me, application_id=started.id, reason="Found the money elsewhere."
        )
        return
    if client.stage in ("under_review", "referred"):
        for lender_id in lenders:
            await application_service.record_lender_decision(
                session,
                application_id=started.id,
                lender_id=lender_id,
                decision=LenderDecision.RECEIVED
                if client.stage == "under_review"
                else LenderDecision.REFERRED,
                reason="Underwriting." if client.stage == "under_review" else "Needs payslips.",
            )
        return
    for lender_id in lenders:
        if client.stage == "declined":
            await application_service.record_lender_decision(
                session,
                application_id=started.id,
                lender_id=lender_id,
                decision=LenderDecision.DECLINED,
                reason="Debt-to-income ratio above our limit.",
            )
            continue
        await application_service.record_lender_decision(
            session,
            application_id=started.id,
            lender_id=lender_id,
            decision=LenderDecision.APPROVED,
            offers=[
                FirmOfferTerms(
                    amount=Decimal(client.amount),
                    term_months=client.term_months,
                    note_rate=Decimal("8.4900") if lender_id == lenders[0] else Decimal("9.1500"),
                    # One expires within days, so "expiring soon" has something to show.
                    validity_days=3 if lender_id == lenders[0] else 30,
                )
            ],
        )
    if client.stage not in ("offer_accepted", "funded", "closed"):
        return
    read = await offer_service.get_offers(session, me, application_id=started.id)
    firm_offer = next(offer for offer in read.offers if offer.kind is OfferKind.FIRM)
    await offer_service.accept(session, me, offer_id=firm_offer.id)
    if client.stage == "offer_accepted":
        return
    await application_service.record_lender_decision(
        session,
        application_id=started.id,
        lender_id=firm_offer.lender_id,
        decision=LenderDecision.FUNDED,
        reason="Funds disbursed.",
    )
    await servicing_service.record_funding(session, application_id=started.id)
    await accrual_service.accrue_pending(session)
    if client.stage == "closed" and admin is not None:
        await application_service.transition(
            session,
            _actor(admin),
            application_id=started.id,
            to_status=ApplicationStatus.CLOSED,
            reason="Repaid in full.",
        )
