"""The demo catalog: realistic, valid, in step with the knowledge base, seeded idempotently; the
catalog read for staff."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.demo import seed_demo
from lending.errors import PermissionDenied
from lending.lenders.demo import DEMO_CATALOG_PATH, load_catalog, seed_demo_lending
from lending.lenders.service import lender_service
from lending.models.applications import ProductType
from lending.models.identity import Role
from lending.models.lenders import Lender, LenderProduct
from tests.identity.factories import actor_of, create_user

KNOWLEDGE_LENDERS = Path(__file__).resolve().parents[3] / "knowledge" / "seed" / "lenders.json"


def test_the_demo_catalog_has_at_least_8_lenders_and_20_products() -> None:
    catalog = load_catalog()
    products = [p for lender in catalog.lenders for p in lender.products]
    assert len(catalog.lenders) >= 8
    assert len(products) >= 20
    # Every product type has a choice of lenders.
    for product_type in ProductType:
        offering = {
            lender.slug
            for lender in catalog.lenders
            for p in lender.products
            if p.product_type is product_type
        }
        assert offering, product_type
    # Fees in the finance charge and others, rounding modes and day counts all appear.
    assert {fee.finance_charge for p in products for fee in p.fees} == {True, False}
    assert {p.rounding.value for p in products} == {"half_up", "half_even", "up"}
    assert {p.day_count.value for p in products} == {"thirty_360", "actual_365"}
    assert any(p.risky_features for p in products)


@pytest.mark.skipif(not KNOWLEDGE_LENDERS.exists(), reason="the knowledge seed is not there")
def test_lender_names_agree_with_the_knowledge_base() -> None:
    knowledge = json.loads(KNOWLEDGE_LENDERS.read_text(encoding="utf-8"))
    names = {lender["slug"]: lender["name"] for lender in knowledge["lenders"]}
    catalog = {lender.slug: lender.name for lender in load_catalog().lenders}
    assert names.items() <= catalog.items()
    product_names = {
        product["slug"]: product["name"]
        for lender in knowledge["lenders"]
        for product in lender["products"]
    }
    ours = {p.code: p.name for lender in load_catalog().lenders for p in lender.products}
    assert product_names.items() <= ours.items()


async def test_seeding_is_idempotent(session: AsyncSession, settings: Settings) -> None:
    note = await seed_demo_lending(session, settings)
    assert "8 lenders, 20 products" in note
    counts = (
        await session.scalar(select(func.count()).select_from(Lender)),
        await session.scalar(select(func.count()).select_from(LenderProduct)),
    )
    await seed_demo_lending(session, settings)
    assert not session.dirty
    again = (
        await session.scalar(select(func.count()).select_from(Lender)),
        await session.scalar(select(func.count()).select_from(LenderProduct)),
    )
    assert again == counts
    summary = await seed_demo(session, settings)
    assert any("Demo lender catalog" in note for note in summary.notes)
    assert DEMO_CATALOG_PATH.exists()


async def test_the_catalog_is_for_staff(session: AsyncSession, settings: Settings) -> None:
    await seed_demo_lending(session, settings)
    broker = await create_user(session, role=Role.BROKER)
    mortgages = await lender_service.list_lenders(
        session, actor_of(broker), product_type=ProductType.MORTGAGE
    )
    assert [lender.slug for lender in mortgages] == ["evergreen-home-lending"]
    assert {p.product_type for p in mortgages[0].products} == {ProductType.MORTGAGE}
    with pytest.raises(PermissionDenied):
        await lender_service.list_lenders(session, actor_of(broker), include_inactive=True)
    borrower = await create_user(session, role=Role.BORROWER)
    with pytest.raises(PermissionDenied):
        await lender_service.list_lenders(session, actor_of(borrower))
