"""The catalog service (issue 17): dated versions of lenders and products, retirement, audit in
the same transaction, permission refusals, bad input that changes nothing, idempotent repeats;
offers priced with the version in effect, and keeping it."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from lending.lenders.catalog_service import (
    EffectiveDateError,
    RetiredError,
    catalog_service,
    today,
)
from lending.lenders.repository import LenderRepository
from lending.lenders.schemas import (
    LenderCreate,
    LenderEdit,
    ProductCreate,
    ProductEdit,
    Retirement,
)
from lending.models.audit import AuditEvent
from lending.models.identity import Role, User
from lending.models.lenders import (
    CreditBand,
    Lender,
    LenderProduct,
    LenderProductVersion,
    LenderVersion,
)
from lending.models.offers import Offer
from lending.offers.service import catalog_terms, offer_service
from tests.identity.factories import actor_of, create_user
from tests.lending.factories import (
    create_application,
    create_borrower,
    create_catalog,
    give_consent,
)


def _edit(**fields: Any) -> ProductEdit:
    """An edit from plain JSON-like values, as a request body gives them."""
    return ProductEdit.model_validate(fields)


async def _admin(session: AsyncSession) -> User:
    return await create_user(session, role=Role.PLATFORM_ADMIN)


async def _harbor_personal(session: AsyncSession) -> tuple[Lender, LenderProduct]:
    lenders = await create_catalog(session)
    lender = lenders["harbor-bank"]
    product = await LenderRepository.from_session(session).get_product_by_code(
        lender.id, "harbor-personal"
    )
    assert product is not None
    return lender, product


async def _count(session: AsyncSession, model: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _audits(session: AsyncSession, subject_id: uuid.UUID) -> list[AuditEvent]:
    rows = await session.scalars(
        select(AuditEvent).where(AuditEvent.subject_id == str(subject_id)).order_by(AuditEvent.id)
    )
    return list(rows)


def _rate(session_terms: list[Any], product_id: uuid.UUID, band: CreditBand) -> Decimal | None:
    for terms in session_terms:
        if terms.id == product_id:
            return Decimal(terms.rate_table[band])
    return None


async def test_an_edit_is_a_new_version_from_its_day_and_the_old_one_stays(
    session: AsyncSession,
) -> None:
    admin = await _admin(session)
    _, product = await _harbor_personal(session)
    tomorrow = today() + timedelta(days=1)

    version = await catalog_service.edit_product(
        session,
        actor_of(admin),
        product_id=product.id,
        data=_edit(
            effective_from=tomorrow,
            note="Rates up a point.",
            rate_table={"excellent": "8.9900", "good": "12.4900", "fair": "16.4900"},
        ),
    )

    assert (version.version, version.effective_from) == (2, tomorrow)
    history = await catalog_service.product_history(session, actor_of(admin), product_id=product.id)
    assert [v.version for v in history] == [1, 2]
    assert history[0].rate_table[CreditBand.GOOD] == Decimal("11.4900")
    assert history[1].rate_table[CreditBand.GOOD] == Decimal("12.4900")
    assert history[1].note == "Rates up a point."
    assert history[1].created_by_user_id == admin.id
    # Today's matching still has version 1; tomorrow's has version 2.
    assert _rate(await catalog_terms(session), product.id, CreditBand.GOOD) == Decimal("11.4900")
    assert _rate(await catalog_terms(session, tomorrow), product.id, CreditBand.GOOD) == Decimal(
        "12.4900"
    )
    # The view as of each day, with what is scheduled.
    view = await catalog_service.get_lender(session, actor_of(admin), lender_id=product.lender_id)
    listed = next(p for p in view.products if p.product_id == product.id)
    assert listed.in_effect is not None
    assert listed.in_effect.version == 1
    assert [v.version for v in listed.scheduled] == [2]
    # The product row mirrors today's version until the scheduled one takes effect.
    await session.refresh(product)
    assert (product.current_version, product.rate_table["good"]) == (1, "11.4900")
    assert await catalog_service.apply_due_versions(session, on=tomorrow) == 1
    await session.refresh(product)
    assert (product.current_version, product.rate_table["good"]) == (2, "12.4900")


async def test_an_edit_effective_today_changes_matching_at_once(session: AsyncSession) -> None:
    admin = await _admin(session)
    _, product = await _harbor_personal(session)
    before = await catalog_terms(session)

    await catalog_service.edit_product(
        session, actor_of(admin), product_id=product.id, data=_edit(max_amount="60000.00")
    )

    after = await catalog_terms(session)
    assert next(t for t in before if t.id == product.id).max_amount == Decimal("50000.00")
    edited = next(t for t in after if t.id == product.id)
    assert edited.max_amount == Decimal("60000.00")
    # The other terms came from the version before.
    assert edited.rate_table[CreditBand.GOOD] == Decimal("11.4900")
    await session.refresh(product)
    assert (product.current_version, product.max_amount) == (2, Decimal("60000.00"))


async def test_retiring_ends_effectivity_and_deletes_nothing(session: AsyncSession) -> None:
    admin = await _admin(session)
    lender, product = await _harbor_personal(session)
    versions = await _count(session, LenderProductVersion)

    await catalog_service.retire_product(
        session, actor_of(admin), product_id=product.id, data=Retirement(note="Withdrawn.")
    )

    assert product.id not in {t.id for t in await catalog_terms(session)}
    await session.refresh(product)
    assert product.active is False
    assert await _count(session, LenderProductVersion) == versions + 1
    history = await catalog_service.product_history(session, actor_of(admin), product_id=product.id)
    assert [v.active for v in history] == [True, False]
    # A retired product is not edited back to life by accident.
    with pytest.raises(RetiredError):
        await catalog_service.edit_product(
            session, actor_of(admin), product_id=product.id, data=_edit(max_dti="41.0000")
        )

    # Retiring the lender takes its other products out of matching as well.
    await catalog_service.retire_lender(
        session, actor_of(admin), lender_id=lender.id, data=Retirement(note="Closed.")
    )
    assert not [t for t in await catalog_terms(session) if t.lender_id == lender.id]
    assert await session.get(Lender, lender.id) is not None


async def test_a_scheduled_retirement_keeps_the_product_until_its_day(
    session: AsyncSession,
) -> None:
    admin = await _admin(session)
    _, product = await _harbor_personal(session)
    in_a_week = today() + timedelta(days=7)

    await catalog_service.retire_product(
        session,
        actor_of(admin),
        product_id=product.id,
        data=Retirement(note="Ends next week.", effective_from=in_a_week),
    )

    assert product.id in {t.id for t in await catalog_terms(session)}
    assert product.id not in {t.id for t in await catalog_terms(session, in_a_week)}


async def test_each_change_is_audited_in_the_same_transaction(session: AsyncSession) -> None:
    admin = await _admin(session)
    _, product = await _harbor_personal(session)
    product_id, admin_id = product.id, admin.id

    savepoint = await session.begin_nested()
    await catalog_service.edit_product(
        session, actor_of(admin), product_id=product_id, data=_edit(max_dti="42.0000")
    )
    events = await _audits(session, product_id)
    edit = [e for e in events if e.action == "lender_product.version_created"]
    assert len(edit) == 1
    assert edit[0].actor_user_id == admin_id
    assert edit[0].details["fields"] == ["max_dti"]
    assert edit[0].details["version"] == 2
    await savepoint.rollback()

    # Rolled back together: neither the version nor its audit row is left.
    assert [v.version for v in await LenderRepository(session).product_history(product_id)] == [1]
    assert not [
        e
        for e in await _audits(session, product_id)
        if e.action == "lender_product.version_created"
    ]


async def test_creating_a_lender_and_a_product_audits_both(session: AsyncSession) -> None:
    admin = await _admin(session)
    created = await catalog_service.create_lender(
        session,
        actor_of(admin),
        data=LenderCreate(slug="cove-credit", name="Cove Credit Union", nmls_id="123456"),
    )
    product = await catalog_service.create_product(
        session,
        actor_of(admin),
        lender_id=created.lender_id,
        data=ProductCreate.model_validate(
            dict(
                code="cove-personal",
                name="Cove Personal Loan",
                product_type="personal",
                min_amount="2000.00",
                max_amount="20000.00",
                min_term_months=12,
                max_term_months=48,
                rate_table={"good": "9.9900", "excellent": "7.9900"},
                min_credit_band="good",
                max_dti="45.0000",
                allowed_states=["ca", "NV"],
            )
        ),
    )

    assert (created.version, product.version) == (1, 1)
    assert product.allowed_states == ["CA", "NV"]
    assert [e.action for e in await _audits(session, created.lender_id)] == ["lender.created"]
    assert [e.action for e in await _audits(session, product.product_id)] == [
        "lender_product.created"
    ]
    offered = {t.id: t for t in await catalog_terms(session)}
    assert offered[product.product_id].lender_name == "Cove Credit Union"


@pytest.mark.parametrize("role", [Role.BROKER, Role.BROKER_MANAGER, Role.PROMPT_ENGINEER])
async def test_only_platform_admins_change_the_catalog(session: AsyncSession, role: Role) -> None:
    lender, product = await _harbor_personal(session)
    actor = actor_of(await create_user(session, role=role))
    versions = (await _count(session, LenderVersion), await _count(session, LenderProductVersion))
    audits = await _count(session, AuditEvent)

    attempts = [
        catalog_service.create_lender(
            session, actor, data=LenderCreate(slug="nope-bank", name="Nope")
        ),
        catalog_service.edit_lender(
            session, actor, lender_id=lender.id, data=LenderEdit(name="Renamed")
        ),
        catalog_service.retire_lender(
            session, actor, lender_id=lender.id, data=Retirement(note="x")
        ),
        catalog_service.edit_product(
            session, actor, product_id=product.id, data=_edit(max_dti="41.0000")
        ),
        catalog_service.retire_product(
            session, actor, product_id=product.id, data=Retirement(note="x")
        ),
        catalog_service.list_lenders(session, actor),
        catalog_service.product_history(session, actor, product_id=product.id),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied):
            await attempt

    assert (
        await _count(session, LenderVersion),
        await _count(session, LenderProductVersion),
    ) == versions
    assert await _count(session, AuditEvent) == audits


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"min_amount": "60000.00"}, "max_amount is below min_amount"),
        ({"allowed_states": ["CA", "ZZ"]}, "not US states"),
        ({"max_term_months": 12}, "max_term_months is below min_term_months"),
    ],
)
async def test_terms_that_do_not_hold_together_are_refused_and_change_nothing(
    session: AsyncSession, change: dict[str, Any], field: str
) -> None:
    admin = await _admin(session)
    _, product = await _harbor_personal(session)
    audits = await _count(session, AuditEvent)

    with pytest.raises(InvalidInput) as refused:
        await catalog_service.edit_product(
            session, actor_of(admin), product_id=product.id, data=_edit(**change)
        )

    assert field in str(refused.value.detail)
    assert len(await LenderRepository(session).product_history(product.id)) == 1
    assert await _count(session, AuditEvent) == audits


async def test_out_of_bounds_values_are_refused_before_the_service(
    session: AsyncSession,
) -> None:
    bad: dict[str, Any]
    for bad in (
        {"max_dti": "140.0000"},
        {"min_amount": "-5.00"},
        {"rate_table": {"good": "7.123456"}},
        {"offer_validity_days": 0},
        {"rate_table": {}},
    ):
        with pytest.raises(ValueError, match="validation error"):
            _edit(**bad)


async def test_a_change_cannot_take_effect_in_the_past_or_before_a_scheduled_one(
    session: AsyncSession,
) -> None:
    admin = await _admin(session)
    lender, product = await _harbor_personal(session)
    audits = await _count(session, AuditEvent)

    with pytest.raises(EffectiveDateError):
        await catalog_service.edit_lender(
            session,
            actor_of(admin),
            lender_id=lender.id,
            data=LenderEdit(name="Harbor Bank", effective_from=today() - timedelta(days=1)),
        )
    await catalog_service.edit_product(
        session,
        actor_of(admin),
        product_id=product.id,
        data=_edit(max_dti="41.0000", effective_from=today() + timedelta(days=10)),
    )
    with pytest.raises(EffectiveDateError):
        await catalog_service.edit_product(
            session,
            actor_of(admin),
            product_id=product.id,
            data=_edit(max_dti="42.0000", effective_from=today() + timedelta(days=5)),
        )
    assert len(await LenderRepository(session).lender_history(lender.id)) == 1
    assert len(await LenderRepository(session).product_history(product.id)) == 2
    assert await _count(session, AuditEvent) == audits + 1


async def test_repeats_are_idempotent(session: AsyncSession) -> None:
    admin = await _admin(session)
    data = LenderCreate(slug="echo-bank", name="Echo Bank")
    first = await catalog_service.create_lender(session, actor_of(admin), data=data)
    again = await catalog_service.create_lender(session, actor_of(admin), data=data)
    assert again.id == first.id

    edit = LenderEdit(description="A bank that repeats itself.")
    edited = await catalog_service.edit_lender(
        session, actor_of(admin), lender_id=first.lender_id, data=edit
    )
    repeated = await catalog_service.edit_lender(
        session, actor_of(admin), lender_id=first.lender_id, data=edit
    )
    assert repeated.id == edited.id
    retired = await catalog_service.retire_lender(
        session, actor_of(admin), lender_id=first.lender_id, data=Retirement(note="Gone.")
    )
    again_retired = await catalog_service.retire_lender(
        session, actor_of(admin), lender_id=first.lender_id, data=Retirement(note="Gone.")
    )
    assert again_retired.id == retired.id
    assert [e.action for e in await _audits(session, first.lender_id)] == [
        "lender.created",
        "lender.version_created",
        "lender.retired",
    ]
    # Another lender's details under the same slug are a conflict, not a silent no-op.
    with pytest.raises(Conflict) as conflict:
        await catalog_service.create_lender(
            session, actor_of(admin), data=LenderCreate(slug="echo-bank", name="Other")
        )
    assert conflict.value.detail == {
        "message": "A lender already has this slug.",
        "slug": "echo-bank",
    }
    with pytest.raises(NotFound):
        await catalog_service.edit_lender(
            session, actor_of(admin), lender_id=uuid.uuid4(), data=LenderEdit(name="Ghost")
        )


async def test_offers_are_priced_with_the_version_in_effect_and_keep_it(
    session: AsyncSession, settings: Settings
) -> None:
    admin = await _admin(session)
    _, product = await _harbor_personal(session)
    borrower = await create_borrower(session, settings)
    await give_consent(session, borrower)
    application = await create_application(session, borrower)
    first = await offer_service.get_offers(
        session, actor_of(borrower), application_id=application.id
    )
    harbor = next(o for o in first.offers if o.product_id == product.id)
    version_1 = (await LenderRepository(session).product_history(product.id))[0]
    stored = await session.get(Offer, harbor.id)
    assert stored is not None
    assert stored.product_version_id == version_1.id

    # A change scheduled for tomorrow does not reprice today.
    await catalog_service.edit_product(
        session,
        actor_of(admin),
        product_id=product.id,
        data=_edit(
            rate_table={"excellent": "5.0000", "good": "5.0000", "fair": "5.0000"},
            effective_from=today() + timedelta(days=1),
        ),
    )
    same_day = await offer_service.get_offers(
        session, actor_of(borrower), application_id=application.id, refresh=True
    )
    assert next(o for o in same_day.offers if o.product_id == product.id).note_rate == (
        harbor.note_rate
    )

    tomorrow = await catalog_terms(session, today() + timedelta(days=1))
    assert _rate(tomorrow, product.id, CreditBand.GOOD) == Decimal("5.0000")

    # The first offer still reads the version that priced it.
    await session.refresh(stored)
    assert stored.product_version_id == version_1.id
    assert await session.get(LenderProductVersion, version_1.id) is not None


async def test_an_edit_today_reprices_a_draft_with_the_new_version(
    session: AsyncSession, settings: Settings
) -> None:
    admin = await _admin(session)
    _, product = await _harbor_personal(session)
    borrower = await create_borrower(session, settings)
    await give_consent(session, borrower)
    application = await create_application(session, borrower)
    await offer_service.get_offers(session, actor_of(borrower), application_id=application.id)

    version = await catalog_service.edit_product(
        session,
        actor_of(admin),
        product_id=product.id,
        data=_edit(rate_table={"excellent": "4.0000", "good": "4.0000", "fair": "4.0000"}),
    )
    repriced = await offer_service.get_offers(
        session, actor_of(borrower), application_id=application.id, refresh=True
    )

    harbor = next(o for o in repriced.offers if o.product_id == product.id)
    assert harbor.note_rate == Decimal("4.0000")
    stored = await session.get(Offer, harbor.id)
    assert stored is not None
    assert stored.product_version_id == version.id


async def test_a_slug_taken_between_the_check_and_the_insert_is_a_conflict(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two requests creating the same lender at once: the second passes the slug check before
    the first's row exists and meets the unique index, which is a 409 like the check's, not a
    500, and leaves the transaction usable."""
    admin = await _admin(session)
    await catalog_service.create_lender(
        session, actor_of(admin), data=LenderCreate(slug="twin-bank", name="Twin Bank")
    )
    real = LenderRepository.get_lender_by_slug

    async def not_yet(self: LenderRepository, slug: str) -> Any:
        return None  # what the racing request saw

    monkeypatch.setattr(LenderRepository, "get_lender_by_slug", not_yet)
    with pytest.raises(Conflict):
        await catalog_service.create_lender(
            session, actor_of(admin), data=LenderCreate(slug="twin-bank", name="Twin Again")
        )
    monkeypatch.setattr(LenderRepository, "get_lender_by_slug", real)
    found = await LenderRepository.from_session(session).get_lender_by_slug("twin-bank")
    assert found is not None
    assert found.name == "Twin Bank"
