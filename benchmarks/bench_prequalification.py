"""Time prequalifying one application: against the demo catalog and a synthetic 50 × 5 catalog.

Run from the repository root: `.venv/bin/python -m benchmarks.bench_prequalification`. It makes
its own database (`omnifin_bench_prequalification`) on the configured server (the embedded one
by default), so test and demo data are never touched, and drops it afterwards. Results go to
benchmarks/results/prequalification.json and to stdout.

Each "service" timing is the whole prequalification as the API and the tools run it (read the
application, profile, consent and catalog; match, price and rank; write the run and its offers),
in a transaction rolled back afterwards. Each "compute" timing is matching, pricing and ranking
alone, in memory.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import platform
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from benchmarks.report import write_results
from devtools.databases import drop_database, recreate_database
from lending import migrations
from lending.applications.profile import borrower_profile_service
from lending.applications.repository import BorrowerRepository
from lending.applications.schemas import (
    ApplicationCreate,
    BorrowerProfileUpdate,
    ConsentCreate,
)
from lending.applications.service import application_service
from lending.config import Settings, get_settings
from lending.db import (
    create_engine,
    create_sessionmaker,
    resolve_database_url,
    transaction,
)
from lending.identity.actor import Actor
from lending.identity.repository import OrganizationRepository
from lending.lenders.demo import load_catalog, load_into
from lending.lenders.schemas import CatalogSpec, FeeSpec, LenderSpec, ProductSpec, RiskyFeature
from lending.models.applications import EmploymentStatus, ProductType
from lending.models.identity import Role, User
from lending.models.lenders import CreditBand
from lending.offers.prequalification import prequalify
from lending.offers.service import borrower_facts, catalog_terms, offer_service

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "prequalification.json"
DATABASE = "omnifin_bench_prequalification"
RUNS = 60
WARM_UP = 5
TARGET_P50_MS = 50.0
SYNTHETIC_TYPES = (
    ProductType.PERSONAL,
    ProductType.AUTO,
    ProductType.MORTGAGE,
    ProductType.BUSINESS,
    ProductType.DEBT_CONSOLIDATION,
)


def synthetic_catalog(lenders: int = 50, seed: int = 7) -> CatalogSpec:
    """`lenders` lenders with one product of each of five types, with varied terms and rules."""
    rng = random.Random(seed)
    specs = []
    for number in range(1, lenders + 1):
        products = []
        for product_type in SYNTHETIC_TYPES:
            base = Decimal(rng.randint(450, 1400)) / 100
            mortgage = product_type is ProductType.MORTGAGE
            products.append(
                ProductSpec(
                    code=f"synthetic-{number}-{product_type.value.replace('_', '-')}",
                    name=f"Synthetic {number} {product_type.value}",
                    product_type=product_type,
                    min_amount=Decimal("50000.00") if mortgage else Decimal("1000.00"),
                    max_amount=Decimal("1500000.00") if mortgage else Decimal("100000.00"),
                    min_term_months=rng.choice((12, 24)) if not mortgage else 180,
                    max_term_months=rng.choice((60, 72, 84)) if not mortgage else 360,
                    rate_table={
                        CreditBand.EXCELLENT: base,
                        CreditBand.GOOD: base + Decimal("2.5"),
                        CreditBand.FAIR: base + Decimal("6"),
                    },
                    min_credit_band=CreditBand.FAIR,
                    max_dti=Decimal(rng.choice((36, 40, 43, 45, 50))),
                    max_ltv=Decimal("95") if mortgage else None,
                    allowed_states=tuple(rng.sample(("CA", "TX", "NY", "FL", "WA"), 3))
                    if rng.random() < 0.2
                    else (),
                    fees=(
                        FeeSpec(
                            code="origination",
                            name="Origination fee",
                            kind="percent",
                            amount=Decimal(rng.choice(("0", "1.00", "2.50", "4.00"))),
                            finance_charge=True,
                        ),
                    ),
                    risky_features=(RiskyFeature.PREPAYMENT_PENALTY,)
                    if rng.random() < 0.15
                    else (),
                )
            )
        specs.append(
            LenderSpec(
                slug=f"synthetic-lender-{number}",
                name=f"Synthetic Lender {number}",
                products=tuple(products),
            )
        )
    return CatalogSpec(lenders=tuple(specs))


async def _borrower_application(session: AsyncSession, settings: Settings) -> tuple[Actor, Any]:
    platform = await OrganizationRepository.from_session(session).get_platform()
    user = User(
        id=uuid.uuid4(),
        email=f"bench-{uuid.uuid4().hex[:8]}@example.com",
        full_name="Bench Borrower",
        role=Role.BORROWER,
        organization_id=platform.id,
        password_hash="not-a-login",
    )
    session.add(user)
    await session.flush()
    actor = Actor.for_user(user.id, user.role, user.organization_id)
    await borrower_profile_service.update(
        session,
        actor,
        settings=settings,
        data=BorrowerProfileUpdate(
            legal_first_name="Bench",
            legal_last_name="Borrower",
            address_line1="1 Market St",
            city="San Francisco",
            state="CA",
            postal_code="94105",
            employment_status=EmploymentStatus.EMPLOYED,
            annual_income=Decimal("96000.00"),
            monthly_debt_payments=Decimal("450.00"),
            monthly_housing_payment=Decimal("1800.00"),
            estimated_credit_score=745,
        ),
    )
    await borrower_profile_service.record_consent(
        session, actor, data=ConsentCreate(), channel="api"
    )
    application = await application_service.start(
        session,
        actor,
        data=ApplicationCreate(
            product_type=ProductType.PERSONAL,
            purpose="home_improvement",
            amount=Decimal("15000.00"),
            term_months=36,
        ),
    )
    return actor, application


def _stats(wall: list[float], cpu: list[float]) -> dict[str, float]:
    return {
        "wall_ms_p50": round(statistics.median(wall), 3),
        "wall_ms_p95": round(statistics.quantiles(wall, n=20)[-1], 3),
        "cpu_ms_p50": round(statistics.median(cpu), 3),
        "cpu_ms_p95": round(statistics.quantiles(cpu, n=20)[-1], 3),
    }


async def _measure(work: Callable[[], Awaitable[Any]]) -> dict[str, float]:
    for _ in range(WARM_UP):
        await work()
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(RUNS):
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        await work()
        cpu.append((time.process_time() - cpu_start) * 1000)
        wall.append((time.perf_counter() - wall_start) * 1000)
    return _stats(wall, cpu)


async def _catalog_case(
    sessionmaker: Any, actor: Actor, application_id: uuid.UUID, name: str
) -> dict[str, Any]:
    async def service_run() -> None:
        async with sessionmaker() as session:
            await offer_service.get_offers(
                session, actor, application_id=application_id, refresh=True
            )
            await session.rollback()

    async with sessionmaker() as session:
        products = await catalog_terms(session)
        application = await application_service.load(session, actor, application_id=application_id)
        profile = await BorrowerRepository.from_session(session).get_profile(
            application.borrower_user_id
        )
        now = dt.datetime.now(dt.UTC)
        facts = borrower_facts(application, profile, as_of=now.date())
        result = await offer_service.get_offers(
            session, actor, application_id=application_id, refresh=True
        )
        await session.rollback()

    async def compute_run() -> None:
        prequalify(products, facts, now=now)

    return {
        "catalog": name,
        "products": len(products),
        "eligible_offers": len(result.offers),
        "excluded": len(result.excluded),
        "anti_steering_lenders": len(result.anti_steering.lenders) if result.anti_steering else 0,
        "service": await _measure(service_run),
        "compute": await _measure(compute_run),
    }


async def run(settings: Settings) -> dict[str, Any]:
    server_url = resolve_database_url(settings)
    url = recreate_database(server_url, DATABASE)
    try:
        await asyncio.to_thread(migrations.upgrade, url)
        engine = create_engine(settings, url)
        sessionmaker = create_sessionmaker(engine)
        try:
            async with transaction(sessionmaker) as session:
                await load_into(session, load_catalog())
                actor, application = await _borrower_application(session, settings)
            demo = await _catalog_case(sessionmaker, actor, application.id, "demo")
            async with transaction(sessionmaker) as session:
                # Retire the demo lenders (matching reads the catalog's versions).
                demo_retired = load_catalog().model_copy(
                    update={
                        "lenders": tuple(
                            lender.model_copy(update={"active": False})
                            for lender in load_catalog().lenders
                        )
                    }
                )
                await load_into(session, demo_retired)
                await load_into(session, synthetic_catalog())
            synthetic = await _catalog_case(
                sessionmaker, actor, application.id, "synthetic 50 lenders x 5 products"
            )
        finally:
            await engine.dispose()
    finally:
        drop_database(server_url, DATABASE)
    return {
        "benchmark": "prequalification",
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "runs": RUNS,
        "warm_up": WARM_UP,
        "target_p50_ms": TARGET_P50_MS,
        "application": {
            "product_type": "personal",
            "amount": "15000.00",
            "term_months": 36,
            "credit_band": "excellent",
            "state": "CA",
        },
        "cases": [demo, synthetic],
        "within_target": all(
            case["service"]["wall_ms_p50"] < TARGET_P50_MS for case in (demo, synthetic)
        ),
    }


def main() -> None:
    """Run the measurements, write them as JSON and print them."""
    settings = get_settings()
    results = asyncio.run(run(settings))
    write_results(RESULTS_PATH, results)


if __name__ == "__main__":
    main()
