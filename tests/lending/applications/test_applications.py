"""Applications through the service: references, brokers, required fields as data, DTI/LTV,
optimistic locking, bad input without partial writes, submission jobs, lender decisions."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from lending.applications.hmda import ActionTaken
from lending.applications.repository import ApplicationRepository, StaleVersion
from lending.applications.schemas import ApplicationCreate, ApplicationUpdate
from lending.applications.service import (
    ConsentRequired,
    FirmOfferTerms,
    IncompleteApplication,
    LenderDecision,
    application_service,
)
from lending.applications.transitions import IllegalTransition
from lending.config import Settings
from lending.errors import InvalidInput, NotFound, PermissionDenied
from lending.lenders.service import SUBMIT_TASK
from lending.models.applications import Application, ApplicationStatus, ProductType
from lending.models.identity import Role
from lending.models.lenders import SubmissionStatus
from lending.offers.service import offer_service
from tests.identity.factories import actor_of, create_organization, create_user
from tests.lending.factories import (
    create_application,
    create_borrower,
    create_catalog,
    detail_of,
    give_consent,
)

REFERENCE = re.compile(r"^OMF-\d{4}-\d{6}$")


async def _count(session: AsyncSession, model: type[Any]) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_references_are_unique_and_shaped_omf_year_number(
    session: AsyncSession, settings: Settings
) -> None:
    borrower = await create_borrower(session, settings)
    first = await create_application(session, borrower)
    second = await create_application(session, borrower)
    assert REFERENCE.match(first.reference)
    assert REFERENCE.match(second.reference)
    assert first.reference != second.reference
    # From a sequence: the second number follows the first.
    assert int(second.reference[-6:]) > int(first.reference[-6:])
    assert first.status is ApplicationStatus.DRAFT
    assert first.version == 1


async def test_the_broker_comes_from_the_borrowers_referral(
    session: AsyncSession, settings: Settings
) -> None:
    firm = await create_organization(session)
    broker = await create_user(session, organization=firm, role=Role.BROKER)
    borrower = await create_borrower(session, settings, organization=firm, referred_by=broker)
    started = await create_application(session, borrower)
    assert started.broker_user_id == broker.id
    assert started.organization_id == firm.id


async def test_a_broker_starts_an_application_for_a_client_only(
    session: AsyncSession, settings: Settings
) -> None:
    firm = await create_organization(session)
    broker = await create_user(session, organization=firm, role=Role.BROKER)
    client = await create_borrower(session, settings, organization=firm, referred_by=broker)
    stranger = await create_borrower(session, settings, organization=firm)
    started = await create_application(session, client, by=broker)
    assert started.borrower_user_id == client.id
    assert started.broker_user_id == broker.id
    with pytest.raises(NotFound):
        await create_application(session, stranger, by=broker)


async def test_required_fields_are_data_and_a_mortgage_needs_the_trid_six(
    session: AsyncSession, settings: Settings
) -> None:
    borrower = await create_borrower(session, settings, complete=False)
    mortgage = await create_application(
        session,
        borrower,
        product_type=ProductType.MORTGAGE,
        purpose="purchase",
        amount=None,
        term_months=360,
    )
    missing = {field.name for field in mortgage.missing_fields}
    assert {
        "full_name",
        "annual_income",
        "ssn",
        "property_address",
        "property_value",
        "amount",
    } <= missing
    assert mortgage.trid_application_complete is False
    assert all(field.question for field in mortgage.missing_fields)

    await _complete_mortgage(session, settings, borrower, mortgage.id)
    read = await application_service.get(session, actor_of(borrower), application_id=mortgage.id)
    assert read.trid_application_complete is True


async def _complete_mortgage(
    session: AsyncSession, settings: Settings, borrower: Any, application_id: uuid.UUID
) -> None:
    from lending.applications.profile import borrower_profile_service
    from lending.applications.schemas import BorrowerProfileUpdate

    await borrower_profile_service.update(
        session,
        actor_of(borrower),
        settings=settings,
        data=BorrowerProfileUpdate(
            legal_first_name="Ana",
            legal_last_name="Lee",
            annual_income=Decimal("150000.00"),
            ssn="123-45-6789",
        ),
    )
    await application_service.update(
        session,
        actor_of(borrower),
        application_id=application_id,
        data=ApplicationUpdate(
            amount=Decimal("400000.00"),
            slots={
                "property_value": "500000.00",
                "property_address": {
                    "line1": "10 Pine St",
                    "city": "Austin",
                    "state": "TX",
                    "postal_code": "78701",
                },
            },
        ),
    )


async def test_dti_and_ltv_are_shown_with_their_inputs(
    session: AsyncSession, settings: Settings
) -> None:
    borrower = await create_borrower(
        session,
        settings,
        annual_income="120000.00",
        monthly_debt_payments="500.00",
        monthly_housing_payment="2000.00",
    )
    mortgage = await create_application(
        session,
        borrower,
        product_type=ProductType.MORTGAGE,
        purpose="purchase",
        amount="360000.00",
        term_months=360,
        slots={"property_value": "450000.00", "purchase_price": "400000.00"},
    )
    dti = mortgage.debt_to_income
    assert dti is not None
    assert dti.inputs["gross_monthly_income"] == Decimal("10000.00")
    assert dti.numerator == Decimal("2500.00")
    assert dti.percent == Decimal("25.00")
    ltv = mortgage.loan_to_value
    assert ltv is not None
    # The lesser of purchase price and value.
    assert ltv.denominator == Decimal("400000.00")
    assert ltv.percent == Decimal("90.00")
    assert ltv.inputs == {
        "loan_amount": Decimal("360000.00"),
        "value": Decimal("450000.00"),
        "purchase_price": Decimal("400000.00"),
    }


def test_an_amount_with_more_than_two_decimals_is_refused_by_the_schema() -> None:
    with pytest.raises(ValidationError) as raised:
        ApplicationCreate.model_validate({"product_type": "personal", "amount": "1000.005"})
    assert raised.value.errors()[0]["loc"] == ("amount",)


def test_an_unknown_product_type_is_refused_by_the_schema() -> None:
    with pytest.raises(ValidationError) as raised:
        ApplicationCreate.model_validate({"product_type": "spaceship"})
    assert raised.value.errors()[0]["loc"] == ("product_type",)


async def test_bad_slots_and_purposes_are_field_errors_and_write_nothing(
    session: AsyncSession, settings: Settings
) -> None:
    borrower = await create_borrower(session, settings)
    before = await _count(session, Application)
    with pytest.raises(InvalidInput) as raised:
        await application_service.start(
            session,
            actor_of(borrower),
            data=ApplicationCreate(
                product_type=ProductType.AUTO,
                purpose="purchase",
                slots={"vehicle_year": 1901, "vehicle_value": "12.345", "hull_number": "X"},
            ),
        )
    locs = {tuple(problem["loc"]) for problem in detail_of(raised.value)}
    assert locs == {
        ("purpose",),
        ("slots", "vehicle_year"),
        ("slots", "vehicle_value"),
        ("slots", "hull_number"),
    }
    assert await _count(session, Application) == before


async def test_a_term_outside_the_requested_product_is_a_field_error(
    session: AsyncSession, settings: Settings
) -> None:
    lenders = await create_catalog(session)
    borrower = await create_borrower(session, settings)
    started = await create_application(session, borrower)
    from lending.lenders.repository import LenderRepository

    product = await LenderRepository.from_session(session).get_product_by_code(
        lenders["harbor-bank"].id, "harbor-personal"
    )
    assert product is not None
    with pytest.raises(InvalidInput) as raised:
        await application_service.update(
            session,
            actor_of(borrower),
            application_id=started.id,
            data=ApplicationUpdate(term_months=120, requested_product_id=product.id),
        )
    assert detail_of(raised.value)[0]["loc"] == ["term_months"]
    assert "24 and 60 months" in detail_of(raised.value)[0]["msg"]
    unchanged = await application_service.get(
        session, actor_of(borrower), application_id=started.id
    )
    assert (unchanged.term_months, unchanged.version) == (36, 1)

    with pytest.raises(InvalidInput) as unknown:
        await application_service.update(
            session,
            actor_of(borrower),
            application_id=started.id,
            data=ApplicationUpdate(requested_product_id=uuid.uuid4()),
        )
    assert detail_of(unknown.value)[0]["loc"] == ["requested_product_id"]


async def test_a_stale_version_is_409_and_changes_nothing(
    session: AsyncSession, settings: Settings
) -> None:
    borrower = await create_borrower(session, settings)
    started = await create_application(session, borrower)
    actor = actor_of(borrower)
    updated = await application_service.update(
        session,
        actor,
        application_id=started.id,
        data=ApplicationUpdate(version=1, amount=Decimal("16000")),
    )
    assert updated.version == 2
    with pytest.raises(StaleVersion) as raised:
        await application_service.update(
            session,
            actor,
            application_id=started.id,
            data=ApplicationUpdate(version=1, amount=Decimal("99000")),
        )
    assert raised.value.status_code == 409
    assert detail_of(raised.value)["current_version"] == 2
    after = await application_service.get(session, actor, application_id=started.id)
    assert (after.amount, after.version) == (Decimal("16000.00"), 2)


async def test_a_concurrent_update_loses_the_race_with_409(
    session: AsyncSession, settings: Settings
) -> None:
    borrower = await create_borrower(session, settings)
    started = await create_application(session, borrower)
    repository = ApplicationRepository.from_session(session)
    application = await repository.get(started.id)
    assert application is not None
    # Another transaction moves the row on after this one read it (version 1 -> 2).
    await session.execute(
        text("UPDATE loan_application SET version = version + 1 WHERE id = :id"),
        {"id": started.id},
    )
    application.amount = Decimal("17000.00")
    with pytest.raises(StaleVersion):
        await repository.flush()


async def test_submit_needs_a_complete_application_and_consent(
    session: AsyncSession, settings: Settings
) -> None:
    await create_catalog(session)
    borrower = await create_borrower(session, settings)
    actor = actor_of(borrower)
    incomplete = await create_application(session, borrower, term_months=None)
    with pytest.raises(IncompleteApplication) as raised:
        await application_service.submit(
            session, actor, application_id=incomplete.id, lender_ids=[uuid.uuid4()]
        )
    assert [f["name"] for f in detail_of(raised.value)["missing_fields"]] == ["term_months"]

    complete = await create_application(session, borrower)
    with pytest.raises(ConsentRequired):
        await application_service.submit(
            session, actor, application_id=complete.id, lender_ids=[uuid.uuid4()]
        )
    await give_consent(session, borrower)
    with pytest.raises(InvalidInput) as no_offer:
        await application_service.submit(
            session, actor, application_id=complete.id, lender_ids=[uuid.uuid4()]
        )
    assert detail_of(no_offer.value)[0]["loc"] == ["lender_ids", 0]
    still = await application_service.get(session, actor, application_id=complete.id)
    assert still.status is ApplicationStatus.DRAFT


async def test_submit_enqueues_one_job_per_chosen_lender(
    session: AsyncSession, settings: Settings
) -> None:
    await create_catalog(session)
    borrower = await create_borrower(session, settings)
    await give_consent(session, borrower)
    actor = actor_of(borrower)
    started = await create_application(session, borrower)
    offers = await offer_service.get_offers(session, actor, application_id=started.id)
    lenders = list(dict.fromkeys(offer.lender_id for offer in offers.offers))[:2]

    submitted = await application_service.submit(
        session, actor, application_id=started.id, lender_ids=lenders
    )

    assert submitted.status is ApplicationStatus.SUBMITTED
    assert {s.lender_id for s in submitted.submissions} == set(lenders)
    assert {s.status for s in submitted.submissions} == {SubmissionStatus.QUEUED}
    rows = (
        await session.execute(
            text("SELECT args->>'submission_id' FROM procrastinate_jobs WHERE task_name = :task"),
            {"task": SUBMIT_TASK},
        )
    ).scalars()
    assert {str(s.id) for s in submitted.submissions} <= set(rows)
    events = await application_service.events(session, actor, application_id=started.id)
    assert [e.to_status for e in events] == [ApplicationStatus.DRAFT, ApplicationStatus.SUBMITTED]
    assert events[-1].actor_user_id == borrower.id


async def _submitted(
    session: AsyncSession, settings: Settings, lenders: int = 2
) -> tuple[Any, list[uuid.UUID], Any]:
    await create_catalog(session)
    borrower = await create_borrower(session, settings)
    await give_consent(session, borrower)
    actor = actor_of(borrower)
    started = await create_application(session, borrower)
    offers = await offer_service.get_offers(session, actor, application_id=started.id)
    chosen = list(dict.fromkeys(offer.lender_id for offer in offers.offers))[:lenders]
    await application_service.submit(session, actor, application_id=started.id, lender_ids=chosen)
    return started, chosen, borrower


async def test_an_approval_moves_through_review_and_a_duplicate_changes_nothing(
    session: AsyncSession, settings: Settings
) -> None:
    started, lenders, borrower = await _submitted(session, settings)
    terms = [FirmOfferTerms(amount=Decimal("15000.00"), term_months=36, note_rate=Decimal("8.25"))]
    for _ in range(2):  # a webhook delivered twice
        await application_service.record_lender_decision(
            session,
            application_id=started.id,
            lender_id=lenders[0],
            decision=LenderDecision.APPROVED,
            offers=terms,
            reason="Approved",
        )
    actor = actor_of(borrower)
    events = await application_service.events(session, actor, application_id=started.id)
    assert [e.to_status for e in events][-2:] == [
        ApplicationStatus.UNDER_REVIEW,
        ApplicationStatus.APPROVED,
    ]
    assert all(e.source == "lender" for e in events[-2:])
    offers = await offer_service.get_offers(session, actor, application_id=started.id)
    assert [o.kind.value for o in offers.offers].count("firm") == 1


async def test_declined_only_when_every_lender_declined(
    session: AsyncSession, settings: Settings
) -> None:
    started, lenders, borrower = await _submitted(session, settings)
    first = await application_service.record_lender_decision(
        session,
        application_id=started.id,
        lender_id=lenders[0],
        decision=LenderDecision.DECLINED,
        reason="DTI",
    )
    assert first.status is ApplicationStatus.SUBMITTED
    last = await application_service.record_lender_decision(
        session,
        application_id=started.id,
        lender_id=lenders[1],
        decision=LenderDecision.DECLINED,
        reason="Credit history",
    )
    assert last.status is ApplicationStatus.DECLINED
    assert last.hmda_action_taken == ActionTaken.DENIED
    # Final: a late approval records the lender's answer but never reopens it.
    late = await application_service.record_lender_decision(
        session,
        application_id=started.id,
        lender_id=lenders[0],
        decision=LenderDecision.APPROVED,
    )
    assert late.status is ApplicationStatus.DECLINED


async def test_withdrawing_after_approval_reports_approved_not_accepted(
    session: AsyncSession, settings: Settings
) -> None:
    started, lenders, borrower = await _submitted(session, settings, lenders=1)
    await application_service.record_lender_decision(
        session,
        application_id=started.id,
        lender_id=lenders[0],
        decision=LenderDecision.APPROVED,
    )
    withdrawn = await application_service.withdraw(
        session, actor_of(borrower), application_id=started.id, reason="Found another loan."
    )
    assert withdrawn.status is ApplicationStatus.WITHDRAWN
    assert withdrawn.hmda_action_taken == ActionTaken.APPROVED_NOT_ACCEPTED
    assert {s.status for s in withdrawn.submissions} == {SubmissionStatus.APPROVED}
    with pytest.raises(IllegalTransition) as raised:
        await application_service.withdraw(
            session, actor_of(borrower), application_id=started.id, reason="again"
        )
    assert detail_of(raised.value)["allowed_next_states"] == []


async def test_decisions_are_for_the_back_office_only(
    session: AsyncSession, settings: Settings
) -> None:
    started, _, borrower = await _submitted(session, settings, lenders=1)
    with pytest.raises(PermissionDenied):
        await application_service.transition(
            session,
            actor_of(borrower),
            application_id=started.id,
            to_status=ApplicationStatus.UNDER_REVIEW,
            reason="I approve myself",
        )
    admin = await create_user(session, role=Role.PLATFORM_ADMIN)
    moved = await application_service.transition(
        session,
        actor_of(admin),
        application_id=started.id,
        to_status=ApplicationStatus.UNDER_REVIEW,
        reason="Reviewing",
    )
    assert moved.status is ApplicationStatus.UNDER_REVIEW
    with pytest.raises(IllegalTransition):
        await application_service.transition(
            session,
            actor_of(admin),
            application_id=started.id,
            to_status=ApplicationStatus.FUNDED,
            reason="Skipping ahead",
        )


async def test_funding_is_an_event_commissions_can_hang_off(
    session: AsyncSession, settings: Settings
) -> None:
    started, lenders, borrower = await _submitted(session, settings, lenders=1)
    actor = actor_of(borrower)
    await application_service.record_lender_decision(
        session,
        application_id=started.id,
        lender_id=lenders[0],
        decision=LenderDecision.APPROVED,
        offers=[
            FirmOfferTerms(amount=Decimal("15000.00"), term_months=36, note_rate=Decimal("8.5"))
        ],
    )
    offers = await offer_service.get_offers(session, actor, application_id=started.id)
    firm = next(o for o in offers.offers if o.kind.value == "firm")
    await offer_service.accept(session, actor, offer_id=firm.id)
    funded = await application_service.record_lender_decision(
        session,
        application_id=started.id,
        lender_id=lenders[0],
        decision=LenderDecision.FUNDED,
    )
    assert funded.status is ApplicationStatus.FUNDED
    assert funded.hmda_action_taken == ActionTaken.ORIGINATED
    events = await application_service.events(session, actor, application_id=started.id)
    assert events[-1].to_status is ApplicationStatus.FUNDED
    assert events[-1].hmda_action_taken == 1
    assert events[-1].lender_id == lenders[0]
