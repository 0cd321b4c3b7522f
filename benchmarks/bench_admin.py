"""Server time of the back office's list and detail pages at scale: 100,000 applications and
1,000,000 commission ledger entries (issue 17: p95 at most 150 ms per page), and a lender
statement of 20,000 lines for the reconciliation page.

Run from the repository root: `.venv/bin/python -m benchmarks.bench_admin`. It makes its own
database (`omnifin_bench_admin`) on the configured server (the embedded one by default), fills it
set-based with SQL (firms, brokers, 10,000 borrowers, the applications with an event each past
draft, the ledger entries spread over 24 months, 100,000 audit events; no documents), drafts
one month's payout batch through PayoutBatchService, then requests each page
through the real app in process (httpx's ASGI transport: no network, so the time is the
server's: routing, the session cookie, the services' queries, rendering). BENCH_APPLICATIONS
and BENCH_ENTRIES shrink the data for a quick run. Results go to
benchmarks/results/admin.json and to stdout; the database is dropped afterwards.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import select, text

from api.app import create_app
from devtools.databases import drop_database, recreate_database
from lending import migrations
from lending.commissions.payout_batches import payout_batch_service
from lending.commissions.schemas import BatchCreate
from lending.config import Settings, get_settings
from lending.db import create_engine, create_sessionmaker, resolve_database_url, transaction
from lending.identity.actor import Actor
from lending.identity.sessions import token_service
from lending.kv import MemoryStore
from lending.models.applications import Application
from lending.models.commissions import FundedLoan
from lending.models.identity import Role, User
from lending.pagination import encode_cursor

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "admin.json"
DATABASE = "omnifin_bench_admin"
APPLICATIONS = int(os.environ.get("BENCH_APPLICATIONS", "100000"))
ENTRIES = int(os.environ.get("BENCH_ENTRIES", "1000000"))
AUDIT_EVENTS = 100_000
STATEMENT_LINES = 20_000
BORROWERS = 10_000
FIRMS = 20
BROKERS_PER_FIRM = 10
REQUESTS = 40
WARM_UP = 5
TARGET_MS = 150.0

_SETUP = [
    """
    INSERT INTO organization (id, name, slug, kind)
    SELECT gen_random_uuid(), 'Bench firm ' || n, 'bench-firm-' || n, 'broker_firm'
    FROM generate_series(1, :firms) AS n
    """,
    """
    INSERT INTO user_account (id, email, full_name, role, organization_id, password_hash, created_at)
    SELECT gen_random_uuid(), 'broker-' || o.slug || '-' || n || '@bench.example',
           'Broker ' || n || ' of ' || o.name, 'broker', o.id, 'x',
           now() - make_interval(days => n)
    FROM organization AS o CROSS JOIN generate_series(1, :brokers) AS n
    WHERE o.kind = 'broker_firm'
    """,
    """
    INSERT INTO user_account (id, email, full_name, role, organization_id, password_hash, created_at)
    SELECT gen_random_uuid(), 'borrower-' || n || '@bench.example', 'Borrower number ' || n,
           'borrower', (SELECT id FROM organization WHERE kind = 'platform'), 'x',
           now() - make_interval(mins => n)
    FROM generate_series(1, :borrowers) AS n
    """,
    """
    INSERT INTO user_account (id, email, full_name, role, organization_id, password_hash)
    SELECT gen_random_uuid(), 'admin-' || n || '@bench.example', 'Admin ' || n,
           'platform_admin', (SELECT id FROM organization WHERE kind = 'platform'), 'x'
    FROM generate_series(1, 2) AS n
    """,
    # Applications over the last year, a quarter still drafts, the rest along the pipeline.
    """
    INSERT INTO loan_application
        (id, reference, borrower_user_id, organization_id, product_type, purpose, amount,
         term_months, status, status_changed_at, created_at, updated_at, version)
    SELECT gen_random_uuid(), 'BA-' || lpad(n::text, 8, '0'), b.id, b.organization_id,
           'personal', 'home_improvement', 5000 + (n * 37) % 45000, 36,
           (ARRAY['draft', 'submitted', 'under_review', 'approved', 'declined', 'funded'])
               [1 + n % 6],
           ts, ts, ts, 1
    FROM generate_series(1, :applications) AS n
    CROSS JOIN LATERAL (SELECT now() - make_interval(secs => n * 311) AS ts) AS t
    JOIN (
        SELECT id, organization_id, row_number() OVER (ORDER BY id) - 1 AS position
        FROM user_account WHERE role = 'borrower'
    ) AS b ON b.position = n % :borrowers
    """,
    """
    INSERT INTO application_event (application_id, from_status, to_status, source, reason, details,
                                   occurred_at)
    SELECT id, 'draft', 'submitted', 'applicant', 'bench', '{}', created_at + interval '1 hour'
    FROM loan_application WHERE status <> 'draft'
    """,
    # The ledger: accruals to the brokers, spread over 24 months.
    """
    INSERT INTO commission_entry
        (event_key, kind, component, party, payee_kind, payee_id, organization_id, amount,
         currency, effective_on)
    SELECT 'bench:' || n, 'accrual', 'upfront', 'broker', 'user', b.id, b.organization_id,
           round((10 + (n::bigint * 7919) % 2000)::numeric, 2), 'USD',
           DATE '2025-01-01' + (n % 730)
    FROM generate_series(1, :entries) AS n
    JOIN (
        SELECT id, organization_id, row_number() OVER (ORDER BY id) - 1 AS position
        FROM user_account WHERE role = 'broker'
    ) AS b ON b.position = n % (:firms * :brokers)
    """,
    # A funded loan for each funded application (the commissions' funded-loans list).
    """
    INSERT INTO funded_loan
        (id, application_id, reference, borrower_user_id, borrower_name, organization_id,
         product_type, jurisdiction, currency, funded_amount, offset_balance,
         outstanding_balance, funded_on, status)
    SELECT gen_random_uuid(), id, reference, borrower_user_id, 'Bench borrower', organization_id,
           'personal', 'US', 'USD', amount, 0, amount, created_at::date, 'active'
    FROM loan_application WHERE status = 'funded'
    """,
    # Audit events (not a valid chain: the list is measured here, not the verification).
    """
    INSERT INTO audit_event (occurred_at, action, actor_user_id, actor_role, subject_type,
                             subject_id, details, prev_hash, hash)
    SELECT now() - make_interval(secs => n), 'application.viewed',
           (SELECT id FROM user_account WHERE email = 'admin-1@bench.example'), 'platform_admin',
           'loan_application', n::text, '{}', md5('p' || n) || md5('q' || n),
           md5('h' || n) || md5('i' || n)
    FROM generate_series(1, :audit_events) AS n
    """,
    # A lender's statement of :statement_lines lines (the reconciliation page), a tenth of them
    # underpaid and a few resolved.
    """
    INSERT INTO lender (id, slug, name, active, created_at, updated_at)
    VALUES (gen_random_uuid(), 'bench-lender', 'Bench Lender', true, now(), now())
    """,
    """
    INSERT INTO lender_statement (id, lender_id, period_start, period_end, currency, filename)
    SELECT gen_random_uuid(), id, DATE '2025-01-01', DATE '2025-01-31', 'USD', 'bench.csv'
    FROM lender WHERE slug = 'bench-lender'
    """,
    """
    INSERT INTO lender_statement_line
        (statement_id, line_number, loan_reference, borrower_name, funding_date,
         reported_amount, expected_amount, difference, status, resolved_at, resolution_reason)
    SELECT s.id, n, 'BA-' || lpad(n::text, 8, '0'), 'Borrower number ' || n,
           DATE '2025-01-01' + (n % 31), 100 + n % 900, 100 + n % 900 + (n % 10 = 0)::int * 5,
           -5 * (n % 10 = 0)::int,
           CASE WHEN n % 10 = 0 THEN 'underpaid' ELSE 'match' END,
           CASE WHEN n % 100 = 0 THEN now() END,
           CASE WHEN n % 100 = 0 THEN 'bench: agreed with the lender' END
    FROM lender_statement AS s CROSS JOIN generate_series(1, :statement_lines) AS n
    WHERE s.filename = 'bench.csv'
    """,
    "ANALYZE",
]


async def _build(settings: Settings) -> None:
    # The set-up's statements run for minutes: no statement timeout for them.
    unlimited = settings.model_copy(update={"database_statement_timeout_ms": 0})
    engine = create_engine(unlimited, resolve_database_url(settings))
    maker = create_sessionmaker(engine)
    params = {
        "firms": FIRMS,
        "brokers": BROKERS_PER_FIRM,
        "borrowers": BORROWERS,
        "applications": APPLICATIONS,
        "entries": ENTRIES,
        "audit_events": AUDIT_EVENTS,
        "statement_lines": STATEMENT_LINES,
    }
    async with transaction(maker) as session:
        for statement in _SETUP:
            needed = {k: v for k, v in params.items() if f":{k}" in statement}
            await session.execute(text(statement), needed)
    await engine.dispose()


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


async def _measure(http: httpx.AsyncClient, path: str) -> dict[str, Any]:
    timings = []
    for round_number in range(WARM_UP + REQUESTS):
        started = time.perf_counter()
        answer = await http.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        if answer.status_code != 200:
            raise AssertionError(f"{path}: {answer.status_code} {answer.text[:300]}")
        if round_number >= WARM_UP:
            timings.append(elapsed)
    return {
        "path": path,
        "requests": REQUESTS,
        "p50_ms": round(statistics.median(timings), 1),
        "p95_ms": round(_percentile(timings, 0.95), 1),
        "max_ms": round(max(timings), 1),
        "within_target": _percentile(timings, 0.95) <= TARGET_MS,
    }


async def _run(settings: Settings) -> dict[str, Any]:
    started = time.perf_counter()
    await _build(settings)
    build_seconds = time.perf_counter() - started
    engine = create_engine(settings, resolve_database_url(settings))
    maker = create_sessionmaker(engine)
    async with transaction(maker) as session:
        admins = (
            (
                await session.execute(
                    select(User).where(User.role == Role.PLATFORM_ADMIN).order_by(User.email)
                )
            )
            .scalars()
            .all()
        )
        admin = next(u for u in admins if u.email == "admin-1@bench.example")
        issued = await token_service.issue(session, admin, settings=settings)
        actor = Actor.for_user(admin.id, admin.role, admin.organization_id)
        batch_started = time.perf_counter()
        batch = await payout_batch_service.create_batch(
            session, actor, data=BatchCreate(cutoff_on=dt.date(2025, 1, 31))
        )
        batch_seconds = time.perf_counter() - batch_started
        submitted = await session.scalar(
            select(Application.id).where(Application.status == "submitted").limit(1)
        )
        middle = (
            await session.execute(
                select(Application.created_at, Application.id)
                .order_by(Application.created_at.desc(), Application.id.desc())
                .offset(APPLICATIONS // 2)
                .limit(1)
            )
        ).one()
        loan_id = await session.scalar(select(FundedLoan.id).limit(1))
        statement_id = await session.scalar(
            text("SELECT id FROM lender_statement WHERE filename = 'bench.csv'")
        )
        deep_line = await session.scalar(
            text(
                "SELECT id FROM lender_statement_line WHERE statement_id = :id "
                "ORDER BY id OFFSET :half LIMIT 1"
            ),
            {"id": statement_id, "half": STATEMENT_LINES // 2},
        )
        batch_items = await session.scalar(
            text("SELECT count(*) FROM payout_batch_item WHERE batch_id = :id"), {"id": batch.id}
        )
    deep_cursor = encode_cursor([middle[0], middle[1]])

    app = create_app(settings, sessionmaker=maker, store=MemoryStore())
    pages = [
        "/admin/dashboard",
        "/admin/applications",
        "/admin/applications?status=submitted",
        "/admin/applications?q=borrower-4242%40bench",
        f"/admin/applications?cursor={deep_cursor}",
        f"/admin/applications/{submitted}",
        "/admin/commissions/batches",
        f"/admin/commissions/batches/{batch.id}",
        "/admin/people",
        "/admin/people?q=Borrower+number+77",
        "/admin/audit",
        "/admin/audit?action=application.viewed&since=2026-01-01",
        "/admin/documents",
        "/admin/commissions/rules",
        "/admin/commissions/loans",
        "/admin/commissions/loans?q=BA-0005",
        f"/admin/commissions/loans/{loan_id}",
        "/admin/commissions/statements",
        f"/admin/commissions/statements/{statement_id}",
        f"/admin/commissions/statements/{statement_id}?status=underpaid&resolution=open",
        f"/admin/commissions/statements/{statement_id}?cursor={encode_cursor([deep_line])}",
        "/admin/firms",
        "/admin/invitations",
        "/admin/mfa-resets",
    ]
    results = []
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://bench",
            cookies={"omnifin_admin": issued.token},
        ) as http,
    ):
        for path in pages:
            results.append(await _measure(http, path))
    await engine.dispose()
    return {
        "build_seconds": round(build_seconds, 1),
        "payout_batch": {
            "cutoff_on": "2025-01-31",
            "items": batch_items,
            "payees": batch.payee_count,
            "create_seconds": round(batch_seconds, 2),
        },
        "pages": results,
    }


def main() -> None:
    base = get_settings()
    server_url = resolve_database_url(base)
    database_url = recreate_database(server_url, DATABASE)
    try:
        migrations.upgrade(database_url)
        settings = base.model_copy(update={"database_url": SecretStr(database_url)})
        measured = asyncio.run(_run(settings))
    finally:
        drop_database(server_url, DATABASE)
    report = {
        "benchmark": "bench_admin",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg(),
        },
        "data": {
            "applications": APPLICATIONS,
            "ledger_entries": ENTRIES,
            "audit_events": AUDIT_EVENTS,
            "borrowers": BORROWERS,
            "statement_lines": STATEMENT_LINES,
        },
        "target_p95_ms": TARGET_MS,
        **measured,
    }
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
