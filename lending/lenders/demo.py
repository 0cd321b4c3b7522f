"""The demo lender catalog (demo_catalog.json), loaded idempotently by `omnifin seed demo`."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from lending.audit.schemas import Origin
from lending.config import Settings
from lending.lenders.catalog_service import catalog_service
from lending.lenders.schemas import CatalogSpec

DEMO_CATALOG_PATH = Path(__file__).with_name("demo_catalog.json")


def load_catalog(path: Path = DEMO_CATALOG_PATH) -> CatalogSpec:
    """A catalog file, validated (a bad file fails here, naming the field)."""
    return CatalogSpec.model_validate_json(path.read_bytes())


async def seed_demo_lending(session: AsyncSession, settings: Settings) -> str:
    """Create or update the demo lenders and products to match the file; returns a summary line.

    Idempotent: a second run finds every lender and product as the file describes it and
    writes nothing. A lender or product that differs from the file gets a new version.
    """
    if settings.environment == "production":
        return "No demo lender catalog in production."
    catalog = load_catalog()
    products = await load_into(session, catalog)
    return f"Demo lender catalog: {len(catalog.lenders)} lenders, {products} products."


async def load_into(session: AsyncSession, catalog: CatalogSpec) -> int:
    """Bring every lender (by slug) and product (by lender and code) in line with the file,
    through the catalog service (versions, audit); returns the products seen."""
    return await catalog_service.load_spec(
        session, catalog, origin=Origin(operator="omnifin seed demo")
    )
