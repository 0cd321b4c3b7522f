"""Per-lender integration settings and webhook secrets (issue 17), and lender performance."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import SecretStr, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.errors import InvalidInput, NotFound, PermissionDenied
from lending.lenders.integration.registry import LenderIntegration, lender_endpoint
from lending.lenders.integration_service import PREVIOUS_SECRET_GRACE, integration_service
from lending.lenders.performance import performance_service
from lending.lenders.schemas import IntegrationUpdate
from lending.models.audit import AuditEvent
from lending.models.identity import Role
from lending.models.lenders import (
    IntegrationAdapter,
    LenderSubmission,
    LenderWebhookSecret,
    SubmissionStatus,
)
from tests.commissions.factories import create_loan
from tests.identity.factories import actor_of, create_organization, create_user
from tests.lending.factories import create_application, create_borrower, create_catalog


async def test_rotation_shows_the_secret_once_and_stores_it_encrypted(
    session: AsyncSession, settings: Settings
) -> None:
    lenders = await create_catalog(session)
    lender = lenders["harbor-bank"]
    admin = actor_of(await create_user(session, role=Role.PLATFORM_ADMIN))
    assert (
        await integration_service.webhook_secret_for(
            session, settings=settings, lender_code="harbor-bank"
        )
        is None
    )

    first = await integration_service.rotate_webhook_secret(
        session, admin, settings=settings, lender_id=lender.id
    )
    row = await session.scalar(
        select(LenderWebhookSecret).where(LenderWebhookSecret.lender_id == lender.id)
    )
    assert row is not None
    assert first.secret.encode() not in row.secret_encrypted
    assert first.hint == first.secret[-4:]
    assert first.previous_expires_at is None
    current = await integration_service.webhook_secret_for(
        session, settings=settings, lender_code="harbor-bank"
    )
    assert current is not None
    assert current.get_secret_value() == first.secret

    second = await integration_service.rotate_webhook_secret(
        session, admin, settings=settings, lender_id=lender.id
    )
    assert second.secret != first.secret
    assert second.previous_expires_at is not None
    assert second.previous_expires_at - second.created_at == PREVIOUS_SECRET_GRACE
    both = await integration_service.webhook_secrets_for(
        session, settings=settings, lender_code="harbor-bank"
    )
    assert [s.get_secret_value() for s in both] == [second.secret, first.secret]
    # What the catalog shows is hints, never a secret.
    shown = await integration_service.describe(session, lender)
    assert [s.hint for s in shown.webhook_secrets] == [second.hint, first.hint]
    assert first.secret not in shown.model_dump_json()
    # Audited with the hint alone.
    events = list(
        await session.scalars(
            select(AuditEvent).where(
                AuditEvent.subject_id == str(lender.id),
                AuditEvent.action == "lender.webhook_secret_rotated",
            )
        )
    )
    assert len(events) == 2
    assert all(
        first.secret not in str(e.details) and second.secret not in str(e.details) for e in events
    )


async def test_an_expired_previous_secret_verifies_nothing(
    session: AsyncSession, settings: Settings
) -> None:
    lenders = await create_catalog(session)
    lender = lenders["harbor-bank"]
    admin = actor_of(await create_user(session, role=Role.PLATFORM_ADMIN))
    await integration_service.rotate_webhook_secret(
        session, admin, settings=settings, lender_id=lender.id
    )
    latest = await integration_service.rotate_webhook_secret(
        session, admin, settings=settings, lender_id=lender.id
    )
    old = await session.scalar(
        select(LenderWebhookSecret).where(
            LenderWebhookSecret.lender_id == lender.id, LenderWebhookSecret.expires_at.is_not(None)
        )
    )
    assert old is not None
    old.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    await session.flush()
    found = await integration_service.webhook_secrets_for(
        session, settings=settings, lender_code="harbor-bank"
    )
    assert [s.get_secret_value() for s in found] == [latest.secret]


async def test_integration_settings_choose_the_endpoint(
    session: AsyncSession, settings: Settings
) -> None:
    lenders = await create_catalog(session)
    lender = lenders["harbor-bank"]
    admin = actor_of(await create_user(session, role=Role.PLATFORM_ADMIN))
    # The simulator's environment: its lenders share its secrets (secrets.py).
    shared = settings.model_copy(
        update={"lender_api_base_url": "http://sim.test", "lender_simulator": True}
    )

    default = await integration_service.integration_for(
        session, settings=None, lender_code="harbor-bank"
    )
    assert default is not None
    assert default.adapter is IntegrationAdapter.SIMULATOR
    endpoint, _ = lender_endpoint(shared, "harbor-bank", default)
    assert endpoint is not None
    assert endpoint.base_url == "http://sim.test/lenders/harbor-bank"

    shown = await integration_service.set_integration(
        session,
        admin,
        lender_id=lender.id,
        data=IntegrationUpdate(
            adapter=IntegrationAdapter.HTTP, base_url="https://api.harbor.test/v2"
        ),
    )
    assert shown.base_url == "https://api.harbor.test/v2"
    own = await integration_service.integration_for(
        session, settings=settings, lender_code="harbor-bank"
    )
    assert own is not None
    endpoint, _ = lender_endpoint(shared, "harbor-bank", own)
    assert endpoint is not None
    assert endpoint.base_url == "https://api.harbor.test/v2"

    await integration_service.set_integration(
        session, admin, lender_id=lender.id, data=IntegrationUpdate(adapter=IntegrationAdapter.NONE)
    )
    off = await integration_service.integration_for(
        session, settings=None, lender_code="harbor-bank"
    )
    endpoint, reason = lender_endpoint(shared, "harbor-bank", off)
    assert endpoint is None
    assert "off" in reason
    actions = list(
        await session.scalars(
            select(AuditEvent.action).where(AuditEvent.subject_id == str(lender.id))
        )
    )
    assert actions.count("lender.integration_changed") == 2


def test_the_lenders_own_secret_replaces_the_shared_one(settings: Settings) -> None:
    shared = settings.model_copy(
        update={
            "lender_api_base_url": "http://sim.test",
            "lender_simulator": True,
            "lender_webhook_secret": SecretStr("s"),
        }
    )
    own = LenderIntegration(
        adapter=IntegrationAdapter.SIMULATOR,
        webhook_secrets=(SecretStr("new"), SecretStr("old")),
    )
    endpoint, _ = lender_endpoint(shared, "harbor-bank", own)
    assert endpoint is not None
    assert endpoint.webhook_secret.get_secret_value() == "new"
    assert [s.get_secret_value() for s in endpoint.previous_webhook_secrets] == ["old"]


def test_an_http_integration_needs_its_url() -> None:
    with pytest.raises(ValidationError):
        IntegrationUpdate(adapter=IntegrationAdapter.HTTP)
    with pytest.raises(ValidationError):
        IntegrationUpdate(adapter=IntegrationAdapter.NONE, base_url="https://x.test")
    with pytest.raises(ValidationError):
        IntegrationUpdate(adapter=IntegrationAdapter.HTTP, base_url="ftp://x.test")


async def test_only_admins_rotate_secrets_or_change_integrations(
    session: AsyncSession, settings: Settings
) -> None:
    lenders = await create_catalog(session)
    lender = lenders["harbor-bank"]
    broker = actor_of(await create_user(session, role=Role.BROKER_MANAGER))
    with pytest.raises(PermissionDenied):
        await integration_service.rotate_webhook_secret(
            session, broker, settings=settings, lender_id=lender.id
        )
    with pytest.raises(PermissionDenied):
        await integration_service.set_integration(
            session,
            broker,
            lender_id=lender.id,
            data=IntegrationUpdate(adapter=IntegrationAdapter.NONE),
        )
    with pytest.raises(PermissionDenied):
        await performance_service.lenders(session, broker)
    assert await session.scalar(select(LenderWebhookSecret.id).limit(1)) is None
    await session.refresh(lender)
    assert lender.integration_adapter is IntegrationAdapter.SIMULATOR


async def test_performance_counts_decisions_times_and_funded_volume(
    session: AsyncSession, settings: Settings
) -> None:
    lenders = await create_catalog(session)
    harbor, summit = lenders["harbor-bank"], lenders["summit-credit-union"]
    admin = actor_of(await create_user(session, role=Role.PLATFORM_ADMIN))
    borrower = await create_borrower(session, settings)
    now = datetime.now(UTC)
    hours = {SubmissionStatus.APPROVED: 2, SubmissionStatus.DECLINED: 4}
    for status in (
        SubmissionStatus.APPROVED,
        SubmissionStatus.DECLINED,
        SubmissionStatus.FUNDED,
        SubmissionStatus.SENT,
    ):
        application = await create_application(session, borrower)
        created = now - timedelta(hours=5)
        session.add(
            LenderSubmission(
                id=uuid.uuid4(),
                application_id=application.id,
                lender_id=harbor.id,
                status=status,
                created_at=created,
                decided_at=created + timedelta(hours=hours[status]) if status in hours else None,
            )
        )
    firm = await create_organization(session)
    await create_loan(session, firm, lender_id=harbor.id, amount="20000.00", funded_on=now.date())
    await create_loan(session, firm, lender_id=harbor.id, amount="5000.50", funded_on=now.date())
    await create_loan(
        session,
        firm,
        lender_id=harbor.id,
        amount="99999.00",
        funded_on=now.date() - timedelta(days=400),
    )
    await session.flush()

    everyone = await performance_service.lenders(session, admin)
    figures = next(f for f in everyone if f.lender_id == harbor.id)
    assert (figures.submissions, figures.approved, figures.declined, figures.funded) == (4, 1, 1, 1)
    assert figures.pending == 1
    assert figures.approval_rate == Decimal("0.6667")
    assert figures.median_hours_to_decision == Decimal("3.00")
    assert figures.mean_hours_to_decision == Decimal("3.00")
    assert (figures.funded_loans, figures.funded_volume) == (2, Decimal("25000.50"))
    quiet = next(f for f in everyone if f.lender_id == summit.id)
    assert (quiet.submissions, quiet.approval_rate, quiet.funded_volume) == (
        0,
        None,
        Decimal("0.00"),
    )

    one = await performance_service.lenders(session, admin, lender_id=harbor.id)
    assert [f.lender_id for f in one] == [harbor.id]
    with pytest.raises(NotFound):
        await performance_service.lenders(session, admin, lender_id=uuid.uuid4())
    with pytest.raises(InvalidInput):
        await performance_service.lenders(
            session, admin, since=now.date(), until=now.date() - timedelta(days=1)
        )
    with pytest.raises(InvalidInput):
        await performance_service.lenders(
            session, admin, since=now.date() - timedelta(days=400), until=now.date()
        )
