"""A scenario's starting state, built through the lending services (never raw inserts): the firm,
the actor and other people, borrower profiles, consents, applications with their prequalified
offers, their documents (uploaded, extracted by the worker's own job body, and reviewed), and
funded loans with their commission ledger entries (submitted, approved, accepted, funded, then
accrued by the worker's own job body)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from evals.schema import ACTOR, CommissionRuleFixture, Fixtures, FundedFixture, Scenario
from lending.applications.profile import borrower_profile_service
from lending.applications.schemas import ApplicationCreate, BorrowerProfileUpdate, ConsentCreate
from lending.applications.service import FirmOfferTerms, LenderDecision, application_service
from lending.audit.schemas import Origin
from lending.commissions.commission_rules import commission_rule_service
from lending.commissions.schemas import RuleCreate
from lending.config import Settings
from lending.db import SessionMaker, transaction
from lending.documents.service import document_service
from lending.documents.types import DocumentType
from lending.errors import OmnifinError
from lending.identity.actor import Actor
from lending.identity.organizations import organization_service
from lending.identity.repository import OrganizationRepository
from lending.identity.schemas import OrganizationCreate
from lending.identity.users import user_service
from lending.models.applications import ProductType
from lending.models.identity import Organization, Role, User
from lending.models.offers import OfferKind
from lending.offers.schemas import OffersRead
from lending.offers.service import offer_service

# Every scenario user has this password; nobody signs in during an eval (the runner is given the
# actor), it only has to pass the password policy.
PASSWORD = "eval-orbit-velvet-42"
ORIGIN = Origin(operator="evals")

# A profile with everything a personal loan needs ("profile: complete" in a scenario).
COMPLETE_PROFILE: dict[str, Any] = {
    "legal_first_name": "Jordan",
    "legal_last_name": "Rivera",
    "phone": "+1 415 555 0134",
    "address_line1": "1 Market St",
    "city": "San Francisco",
    "state": "CA",
    "postal_code": "94105",
    "date_of_birth": date(1988, 4, 2),
    "ssn": "123-45-6789",
    "employment_status": "employed",
    "employer_name": "Acme Corp",
    "annual_income": Decimal("96000.00"),
    "monthly_debt_payments": Decimal("450.00"),
    "monthly_housing_payment": Decimal("1800.00"),
    "estimated_credit_score": 740,
}


@dataclass
class World:
    """What the fixtures made, by the scenario's keys (the actor is "actor")."""

    users: dict[str, User] = field(default_factory=dict)
    applications: dict[str, uuid.UUID] = field(default_factory=dict)
    references: dict[str, str] = field(default_factory=dict)  # application key -> OMF-...
    documents: dict[str, uuid.UUID] = field(default_factory=dict)
    firm: Organization | None = None
    reviewer: User | None = None  # the platform administrator who reviews documents

    def actor_of(self, key: str = ACTOR) -> Actor:
        user = self.users[key]
        return Actor.for_user(user.id, user.role, user.organization_id)

    @property
    def actor(self) -> Actor:
        return self.actor_of(ACTOR)


async def build(session: AsyncSession, settings: Settings, scenario: Scenario) -> World:
    """Create the scenario's people and records in the session's transaction."""
    spec = scenario.fixtures
    world = World()
    platform = await OrganizationRepository.from_session(session).get_platform()
    if spec.firm is not None:
        # A firm is created by a platform administrator, as in the back office.
        admin = await _user(session, settings, "Eval Admin", Role.PLATFORM_ADMIN, platform)
        admin_actor = Actor.for_user(admin.id, admin.role, admin.organization_id)
        world.firm = await organization_service.create(
            session,
            admin_actor,
            data=OrganizationCreate(name=spec.firm.name, slug=spec.firm.slug),
            origin=ORIGIN,
        )
    actor = scenario.actor
    world.users[ACTOR] = await _user(
        session,
        settings,
        actor.name,
        Role(actor.role),
        world.firm if actor.in_firm and world.firm is not None else platform,
    )
    await _profile(session, settings, world, ACTOR, spec.profile, spec.consent)
    for person in spec.people:
        world.users[person.key] = await _user(
            session,
            settings,
            person.name,
            Role(person.role),
            world.firm if person.in_firm and world.firm is not None else platform,
            email=person.email,
            referred_by=world.users[ACTOR] if person.referred_by_actor else None,
        )
        await _profile(session, settings, world, person.key, person.profile, person.consent)
    if spec.commission_rule is not None:
        admin_user = await _user(
            session, settings, "Eval Commissions", Role.PLATFORM_ADMIN, platform
        )
        await _commission_rule(session, admin_user, spec.commission_rule)
    await _applications(session, world, spec)
    await _documents(session, settings, world, spec)
    if any(item.review for item in spec.documents):
        world.reviewer = await _user(
            session, settings, "Eval Reviewer", Role.PLATFORM_ADMIN, platform
        )
    return world


async def settle(
    sessionmaker: SessionMaker, settings: Settings, world: World, scenario: Scenario
) -> None:
    """What happens after the upload, once `build`'s transaction committed: each document's
    extraction (the worker's own job body, run here), then the reviews the scenario gives."""
    from lending.commissions.tasks import accrue_funded
    from lending.documents.tasks import run_extraction

    for application in scenario.fixtures.applications:
        if application.funded is not None:
            # The job a `funded` transition queued, run here as the worker runs it.
            await accrue_funded(sessionmaker, application_id=world.applications[application.key])
    for item in scenario.fixtures.documents:
        await run_extraction(sessionmaker, settings, world.documents[item.key])
    reviewed = [item for item in scenario.fixtures.documents if item.review]
    if not reviewed:
        return
    assert world.reviewer is not None
    reviewer = Actor.for_user(
        world.reviewer.id, world.reviewer.role, world.reviewer.organization_id
    )
    async with transaction(sessionmaker) as session:
        for item in reviewed:
            document_id = world.documents[item.key]
            if item.review == "verified":
                await document_service.verify(
                    session, reviewer, document_id=document_id, origin=ORIGIN
                )
            else:
                assert item.reason is not None
                await document_service.reject(
                    session, reviewer, document_id=document_id, reason=item.reason, origin=ORIGIN
                )


async def _user(
    session: AsyncSession,
    settings: Settings,
    name: str,
    role: Role,
    organization: Organization,
    *,
    email: str | None = None,
    referred_by: User | None = None,
) -> User:
    user = await user_service.add(
        session,
        settings=settings,
        email=email or f"{role.value}-{uuid.uuid4().hex[:8]}@example.com",
        password=PASSWORD,
        full_name=name,
        role=role,
        organization=organization,
        referred_by_user_id=referred_by.id if referred_by else None,
    )
    return user


async def _profile(
    session: AsyncSession,
    settings: Settings,
    world: World,
    key: str,
    profile: dict[str, Any] | str | None,
    consent: bool,
) -> None:
    if profile is not None:
        if profile == "complete":
            # The legal name is the person's own: approval questions name people by it.
            first, _, last = world.users[key].full_name.partition(" ")
            fields = {
                **COMPLETE_PROFILE,
                "legal_first_name": first,
                "legal_last_name": last or first,
            }
        else:
            assert isinstance(profile, dict)
            fields = profile
        await borrower_profile_service.update(
            session,
            world.actor_of(key),
            data=BorrowerProfileUpdate.model_validate(fields),
            settings=settings,
            origin=ORIGIN,
        )
    if consent:
        await borrower_profile_service.record_consent(
            session, world.actor_of(key), data=ConsentCreate(), channel="web"
        )


async def _documents(
    session: AsyncSession, settings: Settings, world: World, spec: Fixtures
) -> None:
    """Each document uploaded by its application's borrower through the documents service."""
    from evals.synthetic_documents import generate

    borrowers = {item.key: item.borrower for item in spec.applications}
    for number, item in enumerate(spec.documents):
        owner = borrowers[item.application]
        made = generate(
            DocumentType(item.type),
            seed=number,
            today=date.today(),
            applicant_name=world.users[owner].full_name,
        )
        receiver = document_service.receiver(settings)
        await receiver.feed(made.data)
        read = await document_service.register(
            session,
            world.actor_of(owner),
            received=await receiver.finish(),
            filename=f"{item.type}.pdf",
            application_id=world.applications[item.application],
            declared_type=DocumentType(item.type),
            settings=settings,
            origin=ORIGIN,
        )
        world.documents[item.key] = read.id


async def _applications(session: AsyncSession, world: World, spec: Fixtures) -> None:
    for item in spec.applications:
        starter = item.started_by or item.borrower
        read = await application_service.start(
            session,
            world.actor_of(starter),
            data=ApplicationCreate(
                product_type=ProductType(item.product_type),
                borrower_user_id=None
                if starter == item.borrower
                else world.users[item.borrower].id,
                purpose=item.purpose,
                amount=item.amount,
                term_months=item.term_months,
                slots=item.slots,
            ),
        )
        world.applications[item.key] = read.id
        world.references[item.key] = read.reference
        if item.offers or item.funded is not None:
            offers = await offer_service.get_offers(
                session, world.actor_of(item.borrower), application_id=read.id
            )
            if item.funded is not None:
                try:
                    await _fund(session, world, item.borrower, read.id, offers, item.funded)
                except OmnifinError as exc:
                    raise ValueError(f"application {item.key} cannot be funded: {exc}") from exc


async def _fund(
    session: AsyncSession,
    world: World,
    borrower: str,
    application_id: uuid.UUID,
    prequalified: OffersRead,
    terms: FundedFixture,
) -> None:
    """Submission to the first prequalified lender, its approval with firm terms, the borrower's
    acceptance and the lender's funding: each step the service a person or lender goes through
    (a lender's decision is the system path its verified webhook takes)."""
    if not prequalified.offers:
        raise ValueError("no lender prequalified this application; it cannot be funded")
    person = world.actor_of(borrower)
    lender_id = prequalified.offers[0].lender_id
    await application_service.submit(
        session, person, application_id=application_id, lender_ids=[lender_id], origin=ORIGIN
    )
    await application_service.record_lender_decision(
        session,
        application_id=application_id,
        lender_id=lender_id,
        decision=LenderDecision.APPROVED,
        offers=[
            FirmOfferTerms(
                amount=terms.amount, term_months=terms.term_months, note_rate=terms.note_rate
            )
        ],
    )
    offers = await offer_service.get_offers(session, person, application_id=application_id)
    firm = next(offer for offer in offers.offers if offer.kind is OfferKind.FIRM)
    await offer_service.accept(session, person, offer_id=firm.id, origin=ORIGIN)
    await application_service.record_lender_decision(
        session,
        application_id=application_id,
        lender_id=lender_id,
        decision=LenderDecision.FUNDED,
    )


async def _commission_rule(
    session: AsyncSession, admin_user: User, spec: CommissionRuleFixture
) -> None:
    admin_actor = Actor.for_user(admin_user.id, admin_user.role, admin_user.organization_id)
    await commission_rule_service.create_rule(
        session,
        admin_actor,
        data=RuleCreate.model_validate(spec.model_dump(exclude_none=True)),
    )
