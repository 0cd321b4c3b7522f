"""Migration 0026 backfills what older analytics events lack: the application's broker, and the
accepted offer's lender on offer-accepted events."""

from __future__ import annotations

import uuid

import psycopg
from alembic.script import ScriptDirectory

from devtools.databases import recreate_database
from lending import migrations

REVISION = "0026"  # the integrator may renumber it: change it here too


def test_older_events_get_the_broker_and_the_accepted_lender(server_url: str) -> None:
    url = recreate_database(server_url, "omnifin_migration_0026_test")
    script = ScriptDirectory.from_config(migrations.alembic_config(url))
    before = script.get_revision(REVISION).down_revision
    assert isinstance(before, str)
    migrations.upgrade(url, before)
    application, broker, lender, org = (uuid.uuid4() for _ in range(4))
    unbrokered = uuid.uuid4()
    with psycopg.connect(url) as conn:
        conn.execute("SET session_replication_role = replica")  # no foreign keys to satisfy
        for app_id, broker_id in ((application, broker), (unbrokered, None)):
            conn.execute(
                "INSERT INTO loan_application (id, reference, borrower_user_id, "
                "organization_id, broker_user_id, product_type, amount, term_months, slots, "
                "status, status_changed_at, version, created_at, updated_at) VALUES "
                "(%s, %s, %s, %s, %s, 'personal', 10000, 36, '{}', 'offer_accepted', now(), "
                "1, now(), now())",
                (app_id, f"MIG-{app_id.hex[:8]}", uuid.uuid4(), org, broker_id),
            )
        conn.execute(
            "INSERT INTO offer (id, application_id, lender_id, kind, status, amount, "
            "term_months, note_rate, apr, apr_exact, monthly_payment, total_of_payments, "
            "finance_charge, amount_financed, prepaid_finance_charges, other_fees, "
            "points_and_fees, total_cost, fees, risky_features, anti_steering, expires_at, "
            "accepted_at, created_at) VALUES (%s, %s, %s, 'firm', 'accepted', 20000, 36, 7.5, "
            "7.9, 7.9, 622.12, 22396.32, 2396.32, 20000, 0, 0, 0, 22396.32, '[]', '{}', '{}', "
            "now() + interval '30 days', now(), now())",
            (uuid.uuid4(), application, lender),
        )
        for app_id in (application, unbrokered):
            for name in ("application_started", "offer_accepted"):
                conn.execute(
                    "INSERT INTO analytics_event (name, organization_id, application_id) "
                    "VALUES (%s, %s, %s)",
                    (name, org, app_id),
                )
    migrations.upgrade(url, REVISION)

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT application_id, name, broker_id, lender_id FROM analytics_event "
            "ORDER BY application_id = %s DESC, id",
            (application,),
        ).fetchall()
    assert rows == [
        (application, "application_started", broker, None),
        (application, "offer_accepted", broker, lender),
        (unbrokered, "application_started", None, None),
        (unbrokered, "offer_accepted", None, None),
    ]
