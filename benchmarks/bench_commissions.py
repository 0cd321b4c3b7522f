"""Time the commission ledger at scale: upfront accrual for 100,000 funded loans and the payout
batch built from it, then the monthly trail on 100,000 loans.

Run from the repository root: `.venv/bin/python -m benchmarks.bench_commissions`. It makes its
own database (`omnifin_bench_commissions`) on the configured server (the embedded one by
default), so test and demo data are never touched, and drops it afterwards. Results go to
benchmarks/results/commissions.json and to stdout.

Each timing is the service call as the job, CLI and API run it, in its own committed
transaction: `accrual.accrue_pending` (one INSERT ... SELECT resolving the rule of every
loan, splitting and writing three entries per loan), `payout_batch.create_batch` (one INSERT ...
SELECT collecting every payee's entries), `accrual.accrue_trail` (one statement per month).
Targets (issue 5): upfront + batch under 10 s; a month's trail under 10 s.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import platform
import statistics
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import text

from benchmarks.report import write_results
from devtools.databases import drop_database, recreate_database
from lending import migrations
from lending.commissions.accrual import accrual_service
from lending.commissions.payout_batches import payout_batch_service
from lending.commissions.schemas import BatchCreate
from lending.config import Settings, get_settings
from lending.db import (
    create_engine,
    create_sessionmaker,
    resolve_database_url,
    transaction,
)
from lending.identity.actor import Actor
from lending.models.identity import Role

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "commissions.json"
DATABASE = "omnifin_bench_commissions"
LOANS = 100_000
FIRMS = 20
BROKERS_PER_FIRM = 10
TRAIL_MONTHS = (dt.date(2026, 7, 1), dt.date(2026, 8, 1), dt.date(2026, 9, 1))
TARGET_SECONDS = 10.0


# Firms, brokers, two administrators (maker and checker), the rules and the funded loans, all
# written set-based: the set-up is not what is measured.
_SETUP = [
    """
    INSERT INTO organization (id, name, slug, kind)
    SELECT gen_random_uuid(), 'Bench firm ' || n, 'bench-firm-' || n, 'broker_firm'
    FROM generate_series(1, :firms) AS n
    """,
    """
    INSERT INTO user_account (id, email, full_name, role, organization_id, password_hash)
    SELECT gen_random_uuid(), 'broker-' || o.slug || '-' || n || '@bench.example',
           'Broker ' || n || ' of ' || o.name, 'broker', o.id, 'x'
    FROM organization AS o CROSS JOIN generate_series(1, :brokers) AS n
    WHERE o.kind = 'broker_firm'
    """,
    """
    INSERT INTO user_account (id, email, full_name, role, organization_id, password_hash)
    SELECT gen_random_uuid(), 'admin-' || n || '@bench.example', 'Admin ' || n,
           'platform_admin', (SELECT id FROM organization WHERE kind = 'platform'), 'x'
    FROM generate_series(1, 2) AS n
    """,
    """
    INSERT INTO commission_rule (id, name, scope, scope_id, jurisdiction, currency)
    VALUES (gen_random_uuid(), 'Platform default', 'platform', NULL, 'US', 'USD')
    """,
    """
    INSERT INTO commission_rule (id, name, scope, scope_id, jurisdiction, currency)
    SELECT gen_random_uuid(), 'Firm deal ' || o.slug, 'firm', o.id, 'US', 'USD'
    FROM organization AS o WHERE o.slug IN ('bench-firm-1', 'bench-firm-2', 'bench-firm-3')
    """,
    """
    INSERT INTO commission_rule_version
        (id, rule_id, version, effective_from, basis, upfront_percent, trail_percent,
         tax_percent, splits, clawback_schedule)
    SELECT gen_random_uuid(), r.id, 1, DATE '2026-01-01', 'funded_amount',
           CASE r.scope WHEN 'platform' THEN 0.65 ELSE 0.60 END, 0.20, 0,
           '{"platform": "20", "firm": "10", "broker": "70"}',
           '[{"to_month": 12, "percent": "100"}, {"to_month": 24, "percent": "50"}]'
    FROM commission_rule AS r
    """,
    """
    INSERT INTO funded_loan
        (id, reference, borrower_name, organization_id, broker_user_id, product_type, state,
         jurisdiction, currency, funded_amount, offset_balance, outstanding_balance,
         term_months, note_rate, funded_on, status)
    SELECT gen_random_uuid(), 'BENCH-' || lpad(n::text, 7, '0'), 'Borrower ' || n,
           b.organization_id, b.id, 'mortgage', 'CA', 'US', 'USD',
           amount, 0, round(amount * 0.97, 2), 360, 6.5,
           DATE '2026-01-01' + (n % 180), 'active'
    FROM generate_series(1, :loans) AS n
    CROSS JOIN LATERAL (SELECT round((50000 + (n * 7919) % 950000)::numeric, 2) AS amount) AS a
    JOIN (
        SELECT id, organization_id, row_number() OVER (ORDER BY id) - 1 AS position
        FROM user_account WHERE role = 'broker'
    ) AS b ON b.position = n % (:firms * :brokers)
    """,
    "ANALYZE",
]


def _backend_cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system) a local PostgreSQL backend has used; None when the server is
    not on this machine. Steadier than wall time on a shared machine (PERFORMANCE.md)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _timed(
    sessionmaker: Any, work: Callable[[Any], Awaitable[Any]]
) -> tuple[float, float | None, Any]:
    """Wall seconds (statement and commit) and the server's CPU seconds for one transaction."""
    async with sessionmaker() as session:
        pid = int(await session.scalar(text("SELECT pg_backend_pid()")))
        await session.commit()
        cpu_before = _backend_cpu_s(pid)
        wall = time.perf_counter()
        async with session.begin():
            result = await work(session)
        wall = time.perf_counter() - wall
        cpu_after = _backend_cpu_s(pid)
    cpu = None if cpu_before is None or cpu_after is None else round(cpu_after - cpu_before, 3)
    return wall, cpu, result


async def run(settings: Settings) -> dict[str, Any]:
    load_before = round(os.getloadavg()[0], 2)
    server_url = resolve_database_url(settings)
    url = recreate_database(server_url, DATABASE)
    try:
        await asyncio.to_thread(migrations.upgrade, url)
        engine = create_engine(settings, url)
        sessionmaker = create_sessionmaker(engine)
        try:
            async with transaction(sessionmaker) as session:
                connection = await session.connection()
                for statement in _SETUP:
                    await connection.execute(
                        text(statement),
                        {"firms": FIRMS, "brokers": BROKERS_PER_FIRM, "loans": LOANS},
                    )
                admins = (
                    await session.execute(
                        text(
                            "SELECT id, organization_id FROM user_account "
                            "WHERE role = 'platform_admin' ORDER BY email"
                        )
                    )
                ).all()
            maker = Actor.for_user(admins[0].id, Role.PLATFORM_ADMIN, admins[0].organization_id)

            async def accrue(session: Any) -> Any:
                return await accrual_service.accrue_pending(session)

            async def batch(session: Any) -> Any:
                return await payout_batch_service.create_batch(
                    session,
                    maker,
                    data=BatchCreate(
                        cutoff_on=dt.date(2026, 12, 31), minimum_amount=Decimal("50.00")
                    ),
                )

            def trail(month: dt.date) -> Callable[[Any], Awaitable[Any]]:
                async def work(session: Any) -> Any:
                    return await accrual_service.accrue_trail(session, month=month)

                return work

            upfront_wall, upfront_cpu, upfront = await _timed(sessionmaker, accrue)
            batch_wall, batch_cpu, built = await _timed(sessionmaker, batch)
            replay_wall, _, replay = await _timed(sessionmaker, accrue)
            trails = [await _timed(sessionmaker, trail(month)) for month in TRAIL_MONTHS]
            trail_replay_wall, _, trail_replay = await _timed(sessionmaker, trail(TRAIL_MONTHS[0]))
            async with transaction(sessionmaker) as session:
                entries = await session.scalar(text("SELECT count(*) FROM commission_entry"))
                items = await session.scalar(text("SELECT count(*) FROM payout_batch_item"))
        finally:
            await engine.dispose()
    finally:
        drop_database(server_url, DATABASE)
    trail_walls = [wall for wall, _, _ in trails]
    return {
        "benchmark": "commissions",
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        # The machine is shared: the 1-minute load average before and after, for context.
        "load_average_before": load_before,
        "load_average_after": round(os.getloadavg()[0], 2),
        "loans": LOANS,
        "firms": FIRMS,
        "brokers": FIRMS * BROKERS_PER_FIRM,
        "rules": "platform default + 3 firm rules (resolution picks the most specific)",
        "target_seconds": TARGET_SECONDS,
        "upfront_and_batch": {
            "accrue_upfront_wall_s": round(upfront_wall, 3),
            "accrue_upfront_server_cpu_s": upfront_cpu,
            "entries_written": upfront.entries_written,
            "build_batch_wall_s": round(batch_wall, 3),
            "build_batch_server_cpu_s": batch_cpu,
            "batch_payees": built.payee_count,
            "batch_items": items,
            "batch_total": str(built.total_amount),
            "total_wall_s": round(upfront_wall + batch_wall, 3),
            "replay_wall_s": round(replay_wall, 3),
            "replay_entries_written": replay.entries_written,
        },
        "monthly_trail": {
            "months": [month.strftime("%Y-%m") for month in TRAIL_MONTHS],
            "entries_written_per_month": [run.entries_written for _, _, run in trails],
            "wall_s": [round(wall, 3) for wall in trail_walls],
            "wall_s_median": round(statistics.median(trail_walls), 3),
            "server_cpu_s": [cpu for _, cpu, _ in trails],
            "replay_wall_s": round(trail_replay_wall, 3),
            "replay_entries_written": trail_replay.entries_written,
        },
        "ledger_entries": entries,
        "within_target": upfront_wall + batch_wall < TARGET_SECONDS
        and max(trail_walls) < TARGET_SECONDS,
    }


def main() -> None:
    """Run the measurements, write them as JSON and print them."""
    settings = get_settings()
    results = asyncio.run(run(settings))
    write_results(RESULTS_PATH, results)


if __name__ == "__main__":
    main()
