"""Who sees which applications and borrowers: a borrower their own, a broker their clients', a
manager their firm's, the platform all; what an actor may not see is not found."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from lending.applications.profile import borrower_profile_service
from lending.applications.schemas import ApplicationUpdate
from lending.applications.service import application_service
from lending.config import Settings
from lending.errors import NotFound, PermissionDenied
from lending.models.identity import Role
from tests.identity.factories import actor_of, create_organization, create_user
from tests.lending.factories import create_application, create_borrower


async def test_a_borrower_cannot_read_another_borrowers_application(
    session: AsyncSession, settings: Settings
) -> None:
    mine = await create_borrower(session, settings)
    theirs = await create_borrower(session, settings)
    their_application = await create_application(session, theirs)
    with pytest.raises(NotFound):
        await application_service.get(session, actor_of(mine), application_id=their_application.id)
    with pytest.raises(NotFound):
        await application_service.update(
            session,
            actor_of(mine),
            application_id=their_application.id,
            data=ApplicationUpdate(term_months=48),
        )
    listed = await application_service.list_applications(session, actor_of(mine))
    assert their_application.id not in {item.id for item in listed.items}


async def test_a_broker_sees_only_their_own_clients(
    session: AsyncSession, settings: Settings
) -> None:
    firm = await create_organization(session)
    broker = await create_user(session, organization=firm, role=Role.BROKER)
    colleague = await create_user(session, organization=firm, role=Role.BROKER)
    client = await create_borrower(session, settings, organization=firm, referred_by=broker)
    colleagues_client = await create_borrower(
        session, settings, organization=firm, referred_by=colleague
    )
    own = await create_application(session, client)
    not_own = await create_application(session, colleagues_client)

    listed = await application_service.list_applications(session, actor_of(broker))
    assert {item.id for item in listed.items} == {own.id}
    read = await application_service.get(session, actor_of(broker), application_id=own.id)
    assert read.reference == own.reference
    with pytest.raises(NotFound):
        await application_service.get(session, actor_of(broker), application_id=not_own.id)
    # The same reach for the borrower's profile.
    profile = await borrower_profile_service.get(session, actor_of(broker), user_id=client.id)
    assert profile.ssn_last4 == "6789"
    with pytest.raises(NotFound):
        await borrower_profile_service.get(session, actor_of(broker), user_id=colleagues_client.id)

    # A manager sees the whole firm, and nothing of another firm.
    manager = await create_user(session, organization=firm, role=Role.BROKER_MANAGER)
    elsewhere = await create_application(session, await create_borrower(session, settings))
    managed = await application_service.list_applications(session, actor_of(manager))
    assert {own.id, not_own.id} <= {item.id for item in managed.items}
    assert elsewhere.id not in {item.id for item in managed.items}


async def test_the_platform_sees_all_and_the_prompt_engineer_none(
    session: AsyncSession, settings: Settings
) -> None:
    firm = await create_organization(session)
    application = await create_application(
        session, await create_borrower(session, settings, organization=firm)
    )
    admin = await create_user(session, role=Role.PLATFORM_ADMIN)
    read = await application_service.get(session, actor_of(admin), application_id=application.id)
    assert read.id == application.id
    prompts = await create_user(session, role=Role.PROMPT_ENGINEER)
    with pytest.raises(PermissionDenied):
        await application_service.get(session, actor_of(prompts), application_id=application.id)
