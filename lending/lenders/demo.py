"""The demo lender catalog (demo_catalog.json), loaded idempotently by `omnifin seed demo`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.lenders.repository import LenderRepository
from lending.lenders.schemas import CatalogSpec, LenderSpec, ProductSpec
from lending.models.lenders import Lender, LenderProduct

DEMO_CATALOG_PATH = Path(__file__).with_name("demo_catalog.json")


def load_catalog(path: Path = DEMO_CATALOG_PATH) -> CatalogSpec:
    """A catalog file, validated (a bad file fails here, naming the field)."""
    return CatalogSpec.model_validate_json(path.read_bytes())


async def seed_demo_lending(session: AsyncSession, settings: Settings) -> str:
    """Create or update the demo lenders and products to match the file; returns a summary line.

    Idempotent: a second run finds every row as the file describes it and writes nothing.
    """
    if settings.environment == "production":
        return "No demo lender catalog in production."
    catalog = load_catalog()
    products = await load_into(session, catalog)
    return f"Demo lender catalog: {len(catalog.lenders)} lenders, {products} products."


async def load_into(session: AsyncSession, catalog: CatalogSpec) -> int:
    """Upsert every lender (by slug) and product (by lender and code); returns products seen."""
    repository = LenderRepository.from_session(session)
    count = 0
    for spec in catalog.lenders:
        lender = await repository.get_lender_by_slug(spec.slug)
        if lender is None:
            lender = Lender(slug=spec.slug)
            _apply(lender, _lender_values(spec))
            await repository.add(lender)
        else:
            _apply(lender, _lender_values(spec))
        for product_spec in spec.products:
            product = await repository.get_product_by_code(lender.id, product_spec.code)
            if product is None:
                product = LenderProduct(lender_id=lender.id, code=product_spec.code)
                _apply(product, product_values(product_spec))
                await repository.add(product)
            else:
                _apply(product, product_values(product_spec))
            count += 1
    await session.flush()
    return count


def _lender_values(spec: LenderSpec) -> dict[str, Any]:
    return spec.model_dump(exclude={"slug", "products"})


def product_values(spec: ProductSpec) -> dict[str, Any]:
    """The product's columns, as the ORM stores them (JSONB money as strings)."""
    data = spec.model_dump(mode="json", exclude={"code"})
    python = spec.model_dump(exclude={"code"})
    for name in ("min_amount", "max_amount", "max_dti", "max_ltv"):
        data[name] = python[name]
    data["allowed_purposes"] = list(spec.allowed_purposes)
    data["allowed_states"] = list(spec.allowed_states)
    data["risky_features"] = [feature.value for feature in spec.risky_features]
    data["conditions"] = spec.conditions.model_dump(mode="json", exclude_none=True)
    data["fees"] = [fee.model_dump(mode="json", exclude_none=True) for fee in spec.fees]
    return data


def _apply(row: Lender | LenderProduct, values: dict[str, Any]) -> None:
    # Only assigning what differs keeps a second run free of UPDATEs.
    for name, value in values.items():
        if getattr(row, name, None) != value:
            setattr(row, name, value)
