"""The borrower profile: SSN and date of birth sealed at rest, last four shown; consents with
their text version, given only by the borrower."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.applications.profile import borrower_profile_service
from lending.applications.requirements import requirements
from lending.applications.schemas import BorrowerProfileUpdate, ConsentCreate
from lending.config import Settings
from lending.errors import InvalidInput, PermissionDenied
from lending.models.applications import BorrowerProfile, ConsentKind
from lending.models.identity import Role
from lending.models.lenders import CreditBand
from tests.identity.factories import actor_of, create_organization, create_user
from tests.lending.factories import SSN, create_borrower, give_consent


async def test_the_ssn_is_encrypted_at_rest_and_only_its_last_four_shown(
    session: AsyncSession, settings: Settings
) -> None:
    borrower = await create_borrower(session, settings)
    stored = (
        await session.execute(select(BorrowerProfile).where(BorrowerProfile.user_id == borrower.id))
    ).scalar_one()
    assert stored.ssn_encrypted is not None
    assert b"123456789" not in stored.ssn_encrypted
    assert b"1988-04-02" not in (stored.date_of_birth_encrypted or b"")

    read = await borrower_profile_service.get(session, actor_of(borrower))
    assert read.ssn_last4 == "6789"
    assert read.date_of_birth_on_file is True
    assert "123456789" not in read.model_dump_json()
    assert read.credit_band is CreditBand.EXCELLENT

    # The system path (delivery to a chosen lender) opens them.
    assert await borrower_profile_service.reveal_ssn(
        session, user_id=borrower.id, settings=settings
    ) == SSN.replace("-", "")
    assert await borrower_profile_service.reveal_date_of_birth(
        session, user_id=borrower.id, settings=settings
    ) == date(1988, 4, 2)


def test_invalid_ssns_and_minors_are_refused() -> None:
    for ssn in ("000-12-3456", "666-12-3456", "123-00-4567", "12-345-678"):
        with pytest.raises(ValidationError):
            BorrowerProfileUpdate(ssn=ssn)
    with pytest.raises(ValidationError):
        BorrowerProfileUpdate(date_of_birth=date.today().replace(year=date.today().year - 10))
    with pytest.raises(ValidationError):
        BorrowerProfileUpdate.model_validate({"annual_income": "50000.123"})


async def test_consent_records_the_text_version_and_time(
    session: AsyncSession, settings: Settings
) -> None:
    borrower = await create_borrower(session, settings)
    await give_consent(session, borrower)
    current = requirements().consent_texts[ConsentKind.CREDIT_CHECK]
    read = await borrower_profile_service.get(session, actor_of(borrower))
    [consent] = read.consents
    assert (consent.kind, consent.granted, consent.text_version) == (
        ConsentKind.CREDIT_CHECK,
        True,
        current.version,
    )
    assert consent.recorded_at is not None
    assert any(text.text == current.text for text in read.consent_texts)
    assert await borrower_profile_service.has_credit_check_consent(session, borrower.id)

    # Withdrawing is a new record; the latest one counts.
    await borrower_profile_service.record_consent(
        session, actor_of(borrower), data=ConsentCreate(granted=False), channel="chat"
    )
    assert not await borrower_profile_service.has_credit_check_consent(session, borrower.id)

    with pytest.raises(InvalidInput):
        await borrower_profile_service.record_consent(
            session,
            actor_of(borrower),
            data=ConsentCreate(text_version="1999-01-01"),
            channel="chat",
        )


async def test_nobody_consents_for_the_borrower(session: AsyncSession, settings: Settings) -> None:
    firm = await create_organization(session)
    broker = await create_user(session, organization=firm, role=Role.BROKER)
    await create_borrower(session, settings, organization=firm, referred_by=broker)
    with pytest.raises(PermissionDenied):
        await borrower_profile_service.record_consent(
            session, actor_of(broker), data=ConsentCreate(), channel="chat"
        )
