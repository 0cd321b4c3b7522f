"""The ledger's set-based statements: rule resolution, upfront and trail accrual, clawbacks and
batch collection, each one INSERT ... SELECT over every loan concerned (never a loop per row).

Every statement is idempotent: an event already in the ledger is skipped (accruals run one at
a time under an advisory lock, so that check is exact), and the unique key (event, rule, party,
payee) refuses any duplicate whatever writes it. The arithmetic follows
`rules.py`: amounts half up to the cent, splits by largest remainder with ties in PARTY_ORDER.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from lending.commissions.rules import PARTY_ORDER

_SPECIFICITY = (
    "CASE r.scope WHEN 'product' THEN 5 WHEN 'lender' THEN 4 WHEN 'broker' THEN 3 "
    "WHEN 'firm' THEN 2 ELSE 1 END"
)
_PARTY_RANK = (
    "CASE s.key "
    + " ".join(f"WHEN '{party.value}' THEN {index}" for index, party in enumerate(PARTY_ORDER))
    + " END"
)


def _resolution(on: str) -> str:
    """Per target loan, the most specific rule active at `on` (an SQL date expression over
    `t`), with the version in force then: product > lender > broker > firm > platform; then
    the latest effective date, then the newest rule."""
    return f"""
    resolved AS MATERIALIZED (
        SELECT DISTINCT ON (t.id)
            t.id AS loan_id, r.id AS rule_id, r.name AS rule_name, v.id AS version_id,
            v.version, v.effective_from, v.basis, v.upfront_percent, v.upfront_flat,
            v.upfront_cap, v.upfront_floor, v.trail_percent, v.tax_percent, v.splits,
            v.volume_bonus
        FROM target AS t
        JOIN commission_rule AS r
          ON r.jurisdiction = t.jurisdiction AND r.currency = t.currency
         AND (r.scope = 'platform'
              OR (r.scope = 'firm' AND r.scope_id = t.organization_id)
              OR (r.scope = 'broker' AND r.scope_id = t.broker_user_id)
              OR (r.scope = 'lender' AND r.scope_id = t.lender_id)
              OR (r.scope = 'product' AND r.scope_id = t.product_id))
        CROSS JOIN LATERAL (
            SELECT * FROM commission_rule_version AS cv
            WHERE cv.rule_id = r.id AND cv.effective_from <= {on}
            ORDER BY cv.effective_from DESC, cv.version DESC
            LIMIT 1
        ) AS v
        WHERE v.active
          AND (v.conditions = '[]'::jsonb OR commission_conditions_hold(
                v.conditions,
                jsonb_build_object(
                    'product_type', t.product_type, 'state', t.state,
                    'funded_amount', t.funded_amount, 'term_months', t.term_months,
                    'note_rate', t.note_rate)))
        ORDER BY t.id, {_SPECIFICITY} DESC, v.effective_from DESC, r.created_at DESC, r.id
    )"""


def _split_and_insert(event_key: str, component: str, effective_on: str) -> str:
    """Split `priced.commission` among the rule's parties and write one entry per party
    (only the columns the entries need travel through the sort)."""
    return f"""
    shares AS (
        SELECT p.loan_id, p.organization_id, p.broker_user_id, p.referrer_user_id, p.currency,
               p.rule_id, p.version_id, p.tax_percent, p.commission, p.basis_amount, p.explain,
               {effective_on} AS effective_on,
               s.key AS party, s.value::numeric AS split_percent, {_PARTY_RANK} AS party_rank,
               trunc(p.commission * s.value::numeric / 100, 2) AS floor_share,
               p.commission * s.value::numeric / 100
                   - trunc(p.commission * s.value::numeric / 100, 2) AS fraction
        FROM priced AS p
        CROSS JOIN LATERAL jsonb_each_text(p.splits) AS s
        WHERE s.value::numeric > 0 AND p.commission > 0
    ),
    ranked AS (
        SELECT sh.*,
               round((sh.commission - sum(sh.floor_share) OVER (PARTITION BY sh.loan_id)) * 100)
                   AS leftover_cents,
               row_number() OVER (
                   PARTITION BY sh.loan_id ORDER BY sh.fraction DESC, sh.party_rank
               ) AS remainder_rank
        FROM shares AS sh
    ),
    final AS (
        SELECT rk.*,
               rk.floor_share + CASE WHEN rk.remainder_rank <= rk.leftover_cents
                                     THEN 0.01 ELSE 0 END AS share,
               rk.remainder_rank <= rk.leftover_cents AS got_remainder,
               CASE rk.party WHEN 'broker' THEN rk.broker_user_id
                             WHEN 'referrer' THEN coalesce(rk.referrer_user_id, rk.broker_user_id)
               END AS payee_user_id
        FROM ranked AS rk
    )
    INSERT INTO commission_entry
        (event_key, kind, component, loan_id, rule_id, rule_version_id, party, payee_kind,
         payee_id, organization_id, basis_amount, commission_total, split_percent, amount,
         tax_amount, currency, effective_on, details)
    SELECT {event_key}, 'accrual', '{component}', f.loan_id, f.rule_id, f.version_id, f.party,
           CASE WHEN f.payee_user_id IS NULL THEN 'organization' ELSE 'user' END,
           coalesce(f.payee_user_id,
                    CASE WHEN f.party = 'platform' THEN CAST(:platform_id AS uuid)
                         ELSE f.organization_id END),
           f.organization_id, f.basis_amount, f.commission, f.split_percent, f.share,
           round(f.share * f.tax_percent / 100, 2), f.currency, f.effective_on, f.explain
    FROM final AS f
    """


UPFRONT = f"""
WITH target AS (
    SELECT l.* FROM funded_loan AS l
    WHERE (CAST(:loan_ids AS uuid[]) IS NULL OR l.id = ANY(CAST(:loan_ids AS uuid[])))
      AND NOT EXISTS (
          SELECT 1 FROM commission_entry AS e WHERE e.event_key = 'funded:' || l.id::text)
),
{_resolution("t.funded_on")},
based AS (
    SELECT t.id AS loan_id, t.organization_id, t.broker_user_id, t.referrer_user_id,
           t.currency, t.funded_on, rs.rule_id, rs.rule_name, rs.version_id, rs.version,
           rs.effective_from, rs.basis, rs.upfront_percent, rs.upfront_flat, rs.upfront_cap,
           rs.upfront_floor, rs.tax_percent, rs.splits, rs.volume_bonus,
           CASE rs.basis WHEN 'drawn_net_of_offset'
                THEN greatest(t.funded_amount - t.offset_balance, 0)
                ELSE t.funded_amount END AS basis_amount,
           CASE WHEN rs.volume_bonus IS NULL THEN 0 ELSE (
               SELECT count(*) FROM funded_loan AS f
               WHERE f.broker_user_id = t.broker_user_id
                 AND date_trunc('month', f.funded_on) = date_trunc('month', t.funded_on)
                 AND (f.funded_on, f.created_at, f.id) <= (t.funded_on, t.created_at, t.id))
           END AS month_position
    FROM target AS t JOIN resolved AS rs ON rs.loan_id = t.id
    WHERE rs.upfront_percent IS NOT NULL OR rs.upfront_flat IS NOT NULL
),
parts AS (
    SELECT b.*,
           round(b.basis_amount * coalesce(b.upfront_percent, 0) / 100, 2) AS percent_part,
           CASE WHEN b.volume_bonus IS NOT NULL
                     AND b.month_position >= (b.volume_bonus->>'min_loans_in_month')::int
                THEN round(b.basis_amount * (b.volume_bonus->>'extra_percent')::numeric / 100, 2)
                ELSE 0 END AS bonus_part
    FROM based AS b
),
raw AS (
    SELECT pa.*, pa.percent_part + coalesce(pa.upfront_flat, 0) + pa.bonus_part AS before_limits
    FROM parts AS pa
),
priced AS MATERIALIZED (
    SELECT rw.*,
           least(greatest(rw.before_limits, coalesce(rw.upfront_floor, rw.before_limits)),
                 coalesce(rw.upfront_cap, rw.before_limits)) AS commission,
           CASE WHEN rw.volume_bonus IS NULL THEN '{{}}'::jsonb
                ELSE jsonb_build_object('volume_bonus', rw.bonus_part::text,
                                        'loan_in_month', rw.month_position) END AS explain
    FROM raw AS rw
),
{_split_and_insert("'funded:' || f.loan_id::text", "upfront", "p.funded_on")}
"""

TRAIL = f"""
WITH target AS (
    SELECT l.* FROM funded_loan AS l
    WHERE l.status = 'active' AND l.funded_on < CAST(:month_start AS date)
      AND NOT EXISTS (
          SELECT 1 FROM commission_entry AS e
          WHERE e.event_key = 'trail:' || l.id::text || ':' || CAST(:month AS text))
),
{_resolution("CAST(:month_end AS date)")},
priced AS MATERIALIZED (
    SELECT t.id AS loan_id, t.organization_id, t.broker_user_id, t.referrer_user_id,
           t.currency, rs.rule_id, rs.rule_name, rs.version_id, rs.version, rs.effective_from,
           rs.tax_percent, rs.splits,
           b.basis_amount, round(b.basis_amount * rs.trail_percent / 100 / 12, 2) AS commission,
           '{{}}'::jsonb AS explain
    FROM target AS t
    JOIN resolved AS rs ON rs.loan_id = t.id
    CROSS JOIN LATERAL (
        SELECT CASE rs.basis WHEN 'drawn_net_of_offset'
                    THEN greatest(t.outstanding_balance - t.offset_balance, 0)
                    ELSE t.outstanding_balance END AS basis_amount
    ) AS b
    WHERE rs.trail_percent > 0
),
{_split_and_insert("'trail:' || f.loan_id::text || ':' || CAST(:month AS text)", "trail", "CAST(:month_end AS date)")}
"""

# One clawback per loan and upfront entry: the percent of the tier of the loan month the
# discharge fell in (none past the jurisdiction's maximum), of what that entry accrued
# (a reversed accrual gives nothing back). Never more than was accrued.
CLAWBACK = """
INSERT INTO commission_entry
    (event_key, kind, component, loan_id, rule_id, rule_version_id, party, payee_kind,
     payee_id, organization_id, amount, tax_amount, currency, effective_on, details)
SELECT 'clawback:' || l.id::text, 'clawback', 'upfront', l.id, e.rule_id, e.rule_version_id,
       e.party, e.payee_kind, e.payee_id, e.organization_id,
       -round(e.amount * pct.percent / 100, 2), -round(e.tax_amount * pct.percent / 100, 2),
       e.currency, CAST(:occurred_on AS date),
       jsonb_build_object(
           'clawback_of_entry', e.id, 'loan_month', m.month, 'percent', pct.percent::text,
           'accrued', e.total_amount::text, 'reason', CAST(:reason AS text),
           'servicing_event_id', CAST(:servicing_event_id AS bigint),
           'max_clawback_months', j.max_clawback_months, 'rounding', 'half_up')
FROM commission_entry AS e
JOIN funded_loan AS l ON l.id = e.loan_id
JOIN commission_jurisdiction AS j ON j.code = l.jurisdiction
JOIN commission_rule_version AS v ON v.id = e.rule_version_id
CROSS JOIN LATERAL (
    SELECT (extract(year FROM age(CAST(:occurred_on AS date), l.funded_on)) * 12
            + extract(month FROM age(CAST(:occurred_on AS date), l.funded_on)))::int + 1 AS month
) AS m
CROSS JOIN LATERAL (
    SELECT CASE WHEN m.month > j.max_clawback_months THEN 0 ELSE coalesce((
        SELECT (tier->>'percent')::numeric FROM jsonb_array_elements(v.clawback_schedule) AS tier
        WHERE (tier->>'to_month')::int >= m.month
        ORDER BY (tier->>'to_month')::int LIMIT 1), 0) END AS percent
) AS pct
WHERE l.id = :loan_id AND e.event_key = 'funded:' || l.id::text AND e.kind = 'accrual'
  AND pct.percent > 0
  AND NOT EXISTS (SELECT 1 FROM commission_entry AS r WHERE r.reverses_entry_id = e.id)
ON CONFLICT ON CONSTRAINT uq_commission_entry_event_rule_party DO NOTHING
"""

# Every payee (but the platform itself) whose entries up to the cut-off, not yet in an open or
# paid batch, net at least the minimum: those entries become the batch's items.
COLLECT = """
WITH eligible AS (
    SELECT e.id, e.payee_kind, e.payee_id, e.total_amount
    FROM commission_entry AS e
    WHERE e.currency = :currency AND e.effective_on <= :cutoff_on AND e.kind <> 'payout'
      AND e.payee_id <> :platform_id
      AND NOT EXISTS (
          SELECT 1 FROM payout_batch_item AS i
          WHERE i.entry_id = e.id AND i.released_at IS NULL)
),
payees AS (
    SELECT payee_id FROM eligible GROUP BY payee_id
    HAVING sum(total_amount) >= :minimum AND sum(total_amount) > 0
)
INSERT INTO payout_batch_item (batch_id, entry_id, payee_kind, payee_id, amount)
SELECT :batch_id, e.id, e.payee_kind, e.payee_id, e.total_amount
FROM eligible AS e JOIN payees AS p ON p.payee_id = e.payee_id
"""

# The payout entries of a paid batch: one per payee, the negative of what the batch paid them.
PAYOUTS = """
INSERT INTO commission_entry
    (event_key, kind, component, loan_id, rule_id, rule_version_id, party, payee_kind,
     payee_id, organization_id, amount, tax_amount, currency, effective_on, created_by_user_id,
     details)
SELECT 'payout:' || CAST(:batch_id AS text), 'payout', 'payout', NULL, NULL, NULL,
       CASE WHEN i.payee_kind = 'user' THEN 'broker' ELSE 'firm' END, i.payee_kind, i.payee_id,
       coalesce(u.organization_id, i.payee_id), -sum(i.amount), 0, :currency, :paid_on,
       :user_id,
       jsonb_build_object('batch_id', CAST(:batch_id AS text), 'entries', count(*),
                          'payment_reference', CAST(:reference AS text))
FROM payout_batch_item AS i
LEFT JOIN user_account AS u ON u.id = i.payee_id AND i.payee_kind = 'user'
WHERE i.batch_id = :batch_id AND i.released_at IS NULL
GROUP BY i.payee_kind, i.payee_id, u.organization_id
"""


# Sorting and hashing a hundred thousand loans in memory instead of on disk (for this
# transaction only).
_WORK_MEM = text("SET LOCAL work_mem = '64MB'")
# Accrual statements run one at a time (until their transaction ends): each then sees what the
# one before it committed, so its "not yet in the ledger" filter is exact and it can insert
# without ON CONFLICT (a third of its cost). The unique key still refuses any duplicate.
_ACCRUAL_LOCK = text("SELECT pg_advisory_xact_lock(1668246893, 1)")


async def accrue_upfront(
    session: AsyncSession, *, platform_id: uuid.UUID, loan_ids: list[uuid.UUID] | None
) -> int:
    """Upfront entries for these loans (None: every loan without them); rows written."""
    await session.execute(_ACCRUAL_LOCK)
    await session.execute(_WORK_MEM)
    result = await session.execute(
        text(UPFRONT), {"loan_ids": loan_ids, "platform_id": platform_id}
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def accrue_trail(
    session: AsyncSession, *, platform_id: uuid.UUID, month_start: date, month_end: date
) -> int:
    await session.execute(_ACCRUAL_LOCK)
    await session.execute(_WORK_MEM)
    result = await session.execute(
        text(TRAIL),
        {
            "platform_id": platform_id,
            "month_start": month_start,
            "month_end": month_end,
            "month": month_start.strftime("%Y-%m"),
        },
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# One batch is built at a time: two racing drafts would otherwise fight over the same entries.
_BATCH_LOCK = text("SELECT pg_advisory_xact_lock(1668246893, 2)")


async def lock_batches(session: AsyncSession) -> None:
    await session.execute(_BATCH_LOCK)


async def collect_batch(
    session: AsyncSession,
    *,
    batch_id: uuid.UUID,
    currency: str,
    cutoff_on: date,
    minimum: Decimal,
    platform_id: uuid.UUID,
) -> None:
    await session.execute(
        text(COLLECT),
        {
            "batch_id": batch_id,
            "currency": currency,
            "cutoff_on": cutoff_on,
            "minimum": minimum,
            "platform_id": platform_id,
        },
    )


async def write_payouts(
    session: AsyncSession,
    *,
    batch_id: uuid.UUID,
    currency: str,
    paid_on: date,
    user_id: uuid.UUID,
    reference: str,
) -> None:
    await session.execute(
        text(PAYOUTS),
        {
            "batch_id": batch_id,
            "currency": currency,
            "paid_on": paid_on,
            "user_id": user_id,
            "reference": reference,
        },
    )


async def claw_back(
    session: AsyncSession,
    *,
    loan_id: uuid.UUID,
    occurred_on: date,
    reason: str,
    servicing_event_id: int | None,
) -> int:
    result = await session.execute(
        text(CLAWBACK),
        {
            "loan_id": loan_id,
            "occurred_on": occurred_on,
            "reason": reason,
            "servicing_event_id": servicing_event_id,
        },
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
