"""Broker commissions: jurisdiction guards, versioned rules, funded loans and servicing events,
the append-only ledger, payout batches and lender statement reconciliation.

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-28 04:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Used by the CHECK on rule versions: the parties' percentages, summed.
SPLITS_TOTAL = """
CREATE FUNCTION commission_splits_total(splits jsonb) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(sum(value::numeric), 0) FROM jsonb_each_text(splits)
$$
"""

# A rule's conditions ({field, op, value}) against a loan's facts; an empty list always holds.
# A fact the loan does not have fails every test on it.
CONDITIONS_HOLD = """
CREATE FUNCTION commission_conditions_hold(conditions jsonb, facts jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT NOT EXISTS (
        SELECT 1 FROM jsonb_array_elements(conditions) AS c
        WHERE NOT coalesce(
            CASE c->>'op'
                WHEN 'eq' THEN facts->>(c->>'field') = c->>'value'
                WHEN 'ne' THEN facts->>(c->>'field') <> c->>'value'
                WHEN 'in' THEN (c->'value') ? (facts->>(c->>'field'))
                WHEN 'gte' THEN (facts->>(c->>'field'))::numeric >= (c->>'value')::numeric
                WHEN 'lte' THEN (facts->>(c->>'field'))::numeric <= (c->>'value')::numeric
                WHEN 'gt' THEN (facts->>(c->>'field'))::numeric > (c->>'value')::numeric
                WHEN 'lt' THEN (facts->>(c->>'field'))::numeric < (c->>'value')::numeric
            END,
            false)
    )
$$
"""

# The ledger and the rule versions never change: corrections are new rows.
REFUSE_CHANGE = """
CREATE FUNCTION commission_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused; record a new entry instead',
        TG_TABLE_NAME, TG_OP USING ERRCODE = 'restrict_violation';
END;
$$
"""

JURISDICTIONS = """
INSERT INTO commission_jurisdiction
    (code, name, bans_rate_or_terms_dependence, bans_volume_bonuses, max_clawback_months,
     forbidden_condition_fields)
VALUES
    ('US', 'United States', true, false, 24,
     ARRAY['note_rate', 'apr', 'term_months', 'rate_spread', 'points_and_fees',
           'prepayment_penalty', 'risky_features']),
    ('AU', 'Australia', false, true, 24, ARRAY[]::varchar[])
"""


def _functions() -> None:
    op.execute(SPLITS_TOTAL)
    op.execute(CONDITIONS_HOLD)
    op.execute(REFUSE_CHANGE)


def _append_only_and_guards() -> None:
    op.execute(
        "CREATE TRIGGER commission_entry_append_only BEFORE UPDATE OR DELETE ON commission_entry "
        "FOR EACH ROW EXECUTE FUNCTION commission_refuse_change()"
    )
    op.execute(
        "CREATE TRIGGER commission_entry_no_truncate BEFORE TRUNCATE ON commission_entry "
        "FOR EACH STATEMENT EXECUTE FUNCTION commission_refuse_change()"
    )
    op.execute(
        "CREATE TRIGGER commission_rule_version_immutable BEFORE UPDATE OR DELETE "
        "ON commission_rule_version FOR EACH ROW EXECUTE FUNCTION commission_refuse_change()"
    )
    # Funded loans and rule versions are what ledger entries point at; neither can be deleted,
    # so the ledger needs no per-row foreign-key checks on them.
    op.execute(
        "CREATE TRIGGER funded_loan_kept BEFORE DELETE ON funded_loan "
        "FOR EACH ROW EXECUTE FUNCTION commission_refuse_change()"
    )
    op.execute(
        "CREATE TRIGGER payout_batch_kept BEFORE DELETE ON payout_batch "
        "FOR EACH ROW EXECUTE FUNCTION commission_refuse_change()"
    )
    op.execute(JURISDICTIONS)


def upgrade() -> None:
    _functions()
    op.create_table(
        "commission_jurisdiction",
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("bans_rate_or_terms_dependence", sa.Boolean(), nullable=False),
        sa.Column("bans_volume_bonuses", sa.Boolean(), nullable=False),
        sa.Column("max_clawback_months", sa.SmallInteger(), nullable=False),
        sa.Column("forbidden_condition_fields", sa.ARRAY(sa.String(length=48)), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_commission_jurisdiction")),
    )
    op.create_table(
        "commission_rule",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "scope",
            sa.Enum(
                "platform",
                "firm",
                "broker",
                "lender",
                "product",
                name="rule_scope",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("scope_id", sa.Uuid(), nullable=True),
        sa.Column("jurisdiction", sa.String(length=8), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(scope = 'platform') = (scope_id IS NULL)", name=op.f("ck_commission_rule_scope_id")
        ),
        sa.CheckConstraint(
            "scope IN ('platform', 'firm', 'broker', 'lender', 'product')",
            name=op.f("ck_commission_rule_scope"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["user_account.id"],
            name=op.f("fk_commission_rule_created_by_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["jurisdiction"],
            ["commission_jurisdiction.code"],
            name=op.f("fk_commission_rule_jurisdiction_commission_jurisdiction"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commission_rule")),
    )
    op.create_index(
        "ix_commission_rule_scope_scope_id", "commission_rule", ["scope", "scope_id"], unique=False
    )
    op.create_table(
        "lender_statement",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("lender_id", sa.Uuid(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=True),
        sa.Column("imported_by_user_id", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["imported_by_user_id"],
            ["user_account.id"],
            name=op.f("fk_lender_statement_imported_by_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["lender_id"],
            ["lender.id"],
            name=op.f("fk_lender_statement_lender_id_lender"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lender_statement")),
    )
    op.create_table(
        "payout_batch",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "approved",
                "exported",
                "paid",
                "failed",
                name="batch_status",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("cutoff_on", sa.Date(), nullable=False),
        sa.Column("minimum_amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("total_amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("payee_count", sa.Integer(), nullable=False),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=False),
        sa.Column("approved_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("exported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("payment_reference", sa.String(length=100), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status <> 'paid' OR payment_reference IS NOT NULL",
            name=op.f("ck_payout_batch_paid_reference"),
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'approved', 'exported', 'paid', 'failed')",
            name=op.f("ck_payout_batch_status"),
        ),
        sa.CheckConstraint(
            "approved_by_user_id IS NULL OR approved_by_user_id <> created_by_user_id",
            name=op.f("ck_payout_batch_maker_checker"),
        ),
        sa.ForeignKeyConstraint(
            ["approved_by_user_id"],
            ["user_account.id"],
            name=op.f("fk_payout_batch_approved_by_user_id_user_account"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["user_account.id"],
            name=op.f("fk_payout_batch_created_by_user_id_user_account"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_batch")),
    )
    op.create_table(
        "commission_rule_version",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("rule_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "basis",
            sa.Enum(
                "funded_amount",
                "drawn_net_of_offset",
                "outstanding_balance",
                name="commission_basis",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("upfront_percent", sa.Numeric(precision=9, scale=6), nullable=True),
        sa.Column("upfront_flat", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("upfront_cap", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("upfront_floor", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("trail_percent", sa.Numeric(precision=9, scale=6), nullable=True),
        sa.Column(
            "tax_percent", sa.Numeric(precision=9, scale=6), server_default="0", nullable=False
        ),
        sa.Column("splits", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("clawback_schedule", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "conditions",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column("volume_bonus", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "basis IN ('funded_amount', 'drawn_net_of_offset', 'outstanding_balance')",
            name=op.f("ck_commission_rule_version_basis"),
        ),
        sa.CheckConstraint(
            "commission_splits_total(splits) = 100",
            name=op.f("ck_commission_rule_version_splits_total"),
        ),
        sa.CheckConstraint("tax_percent >= 0", name=op.f("ck_commission_rule_version_tax_percent")),
        sa.CheckConstraint(
            "trail_percent IS NULL OR trail_percent >= 0",
            name=op.f("ck_commission_rule_version_trail_percent"),
        ),
        sa.CheckConstraint(
            "upfront_cap IS NULL OR upfront_floor IS NULL OR upfront_cap >= upfront_floor",
            name=op.f("ck_commission_rule_version_cap_floor"),
        ),
        sa.CheckConstraint(
            "upfront_flat IS NULL OR upfront_flat >= 0",
            name=op.f("ck_commission_rule_version_upfront_flat"),
        ),
        sa.CheckConstraint(
            "upfront_percent IS NULL OR upfront_percent >= 0",
            name=op.f("ck_commission_rule_version_upfront_percent"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["user_account.id"],
            name=op.f("fk_commission_rule_version_created_by_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["commission_rule.id"],
            name=op.f("fk_commission_rule_version_rule_id_commission_rule"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commission_rule_version")),
        sa.UniqueConstraint(
            "rule_id", "version", name=op.f("uq_commission_rule_version_rule_id_version")
        ),
    )
    op.create_index(
        "ix_commission_rule_version_rule_id_effective_from",
        "commission_rule_version",
        ["rule_id", "effective_from"],
        unique=False,
    )
    op.create_table(
        "funded_loan",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=True),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("borrower_user_id", sa.Uuid(), nullable=True),
        sa.Column("borrower_name", sa.String(length=200), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("broker_user_id", sa.Uuid(), nullable=True),
        sa.Column("referrer_user_id", sa.Uuid(), nullable=True),
        sa.Column("lender_id", sa.Uuid(), nullable=True),
        sa.Column("product_id", sa.Uuid(), nullable=True),
        sa.Column("product_type", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=2), nullable=True),
        sa.Column("jurisdiction", sa.String(length=8), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("funded_amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column(
            "offset_balance", sa.Numeric(precision=14, scale=2), server_default="0", nullable=False
        ),
        sa.Column("outstanding_balance", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("term_months", sa.Integer(), nullable=True),
        sa.Column("note_rate", sa.Numeric(precision=7, scale=4), nullable=True),
        sa.Column("funded_on", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "in_arrears",
                "discharged",
                "refinanced",
                name="loan_status",
                native_enum=False,
                length=32,
            ),
            server_default="active",
            nullable=False,
        ),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('active', 'in_arrears', 'discharged', 'refinanced')",
            name=op.f("ck_funded_loan_status"),
        ),
        sa.CheckConstraint("funded_amount > 0", name=op.f("ck_funded_loan_funded_amount")),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["loan_application.id"],
            name=op.f("fk_funded_loan_application_id_loan_application"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["borrower_user_id"],
            ["user_account.id"],
            name=op.f("fk_funded_loan_borrower_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["broker_user_id"],
            ["user_account.id"],
            name=op.f("fk_funded_loan_broker_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["jurisdiction"],
            ["commission_jurisdiction.code"],
            name=op.f("fk_funded_loan_jurisdiction_commission_jurisdiction"),
        ),
        sa.ForeignKeyConstraint(
            ["lender_id"],
            ["lender.id"],
            name=op.f("fk_funded_loan_lender_id_lender"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_funded_loan_organization_id_organization"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["lender_product.id"],
            name=op.f("fk_funded_loan_product_id_lender_product"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["referrer_user_id"],
            ["user_account.id"],
            name=op.f("fk_funded_loan_referrer_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funded_loan")),
        sa.UniqueConstraint("application_id", name=op.f("uq_funded_loan_application_id")),
        sa.UniqueConstraint("reference", name=op.f("uq_funded_loan_reference")),
    )
    op.create_index(
        "ix_funded_loan_broker_user_id_funded_on",
        "funded_loan",
        ["broker_user_id", "funded_on"],
        unique=False,
    )
    op.create_index(
        "ix_funded_loan_lender_id_funded_on",
        "funded_loan",
        ["lender_id", "funded_on"],
        unique=False,
    )
    op.create_index(
        "ix_funded_loan_organization_id", "funded_loan", ["organization_id"], unique=False
    )
    op.create_table(
        "commission_entry",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("event_key", sa.String(length=120), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "accrual",
                "clawback",
                "adjustment",
                "reversal",
                "payout",
                name="entry_kind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "component",
            sa.Enum(
                "upfront",
                "trail",
                "manual",
                "payout",
                name="entry_component",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("loan_id", sa.Uuid(), nullable=True),
        sa.Column("rule_id", sa.Uuid(), nullable=True),
        sa.Column("rule_version_id", sa.Uuid(), nullable=True),
        sa.Column(
            "party",
            sa.Enum(
                "platform",
                "firm",
                "broker",
                "referrer",
                name="commission_party",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("payee_kind", sa.String(length=16), nullable=False),
        sa.Column("payee_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("basis_amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("commission_total", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("split_percent", sa.Numeric(precision=9, scale=6), nullable=True),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column(
            "tax_amount", sa.Numeric(precision=14, scale=2), server_default="0", nullable=False
        ),
        sa.Column(
            "total_amount",
            sa.Numeric(precision=14, scale=2),
            sa.Computed(
                "amount + tax_amount",
            ),
            nullable=False,
        ),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("reverses_entry_id", sa.BigInteger(), nullable=True),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        sa.Column(
            "details", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('adjustment', 'reversal') OR (kind = 'accrual' AND amount >= 0) "
            "OR amount <= 0",
            name=op.f("ck_commission_entry_sign"),
        ),
        sa.CheckConstraint(
            "component IN ('upfront', 'trail', 'manual', 'payout')",
            name=op.f("ck_commission_entry_component"),
        ),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_commission_entry_currency")),
        sa.CheckConstraint(
            "kind IN ('accrual', 'clawback', 'adjustment', 'reversal', 'payout')",
            name=op.f("ck_commission_entry_kind"),
        ),
        sa.CheckConstraint(
            "party IN ('platform', 'firm', 'broker', 'referrer')",
            name=op.f("ck_commission_entry_party"),
        ),
        sa.CheckConstraint(
            "payee_kind IN ('user', 'organization')", name=op.f("ck_commission_entry_payee_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commission_entry")),
        sa.UniqueConstraint(
            "event_key",
            "rule_id",
            "party",
            "payee_id",
            name="uq_commission_entry_event_rule_party",
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_index(
        "ix_commission_entry_organization_id_effective_on",
        "commission_entry",
        ["organization_id", "effective_on"],
        unique=False,
    )
    op.create_index(
        "ix_commission_entry_payee_id_effective_on",
        "commission_entry",
        ["payee_id", "effective_on"],
        unique=False,
    )
    op.create_table(
        "lender_statement_line",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("statement_id", sa.Uuid(), nullable=False),
        sa.Column("line_number", sa.Integer(), nullable=True),
        sa.Column("loan_reference", sa.String(length=64), nullable=True),
        sa.Column("borrower_name", sa.String(length=200), nullable=True),
        sa.Column("funding_date", sa.Date(), nullable=True),
        sa.Column("reported_amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("expected_amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("difference", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("loan_id", sa.Uuid(), nullable=True),
        sa.Column("matched_by", sa.String(length=120), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "match",
                "underpaid",
                "overpaid",
                "missing_expected",
                "unexpected",
                "needs_review",
                name="statement_line_status",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("resolved_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('match', 'underpaid', 'overpaid', 'missing_expected', 'unexpected', 'needs_review')",
            name=op.f("ck_lender_statement_line_status"),
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"],
            ["funded_loan.id"],
            name=op.f("fk_lender_statement_line_loan_id_funded_loan"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_user_id"],
            ["user_account.id"],
            name=op.f("fk_lender_statement_line_resolved_by_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["lender_statement.id"],
            name=op.f("fk_lender_statement_line_statement_id_lender_statement"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lender_statement_line")),
    )
    op.create_index(
        "ix_lender_statement_line_statement_id_line_number",
        "lender_statement_line",
        ["statement_id", "line_number"],
        unique=False,
    )
    op.create_table(
        "loan_servicing_event",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("loan_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "balance",
                "arrears",
                "arrears_cured",
                "discharged",
                "refinanced",
                name="servicing_event_kind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("outstanding_balance", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("offset_balance", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("recorded_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('balance', 'arrears', 'arrears_cured', 'discharged', 'refinanced')",
            name=op.f("ck_loan_servicing_event_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"],
            ["funded_loan.id"],
            name=op.f("fk_loan_servicing_event_loan_id_funded_loan"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_user_id"],
            ["user_account.id"],
            name=op.f("fk_loan_servicing_event_recorded_by_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_servicing_event")),
    )
    op.create_index(
        "ix_loan_servicing_event_loan_id_occurred_on",
        "loan_servicing_event",
        ["loan_id", "occurred_on"],
        unique=False,
    )
    op.create_table(
        "payout_batch_item",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("payee_kind", sa.String(length=16), nullable=False),
        sa.Column("payee_id", sa.Uuid(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_batch_item")),
    )
    op.create_index(
        "ix_payout_batch_item_batch_id_payee_id",
        "payout_batch_item",
        ["batch_id", "payee_id"],
        unique=False,
    )
    op.create_index(
        "uq_payout_batch_item_entry_id_unreleased",
        "payout_batch_item",
        ["entry_id"],
        unique=True,
        postgresql_where=sa.text("released_at IS NULL"),
    )
    _append_only_and_guards()


def downgrade() -> None:
    op.execute("DROP TRIGGER commission_entry_append_only ON commission_entry")
    op.execute("DROP TRIGGER commission_entry_no_truncate ON commission_entry")
    op.execute("DROP TRIGGER commission_rule_version_immutable ON commission_rule_version")
    op.execute("DROP TRIGGER funded_loan_kept ON funded_loan")
    op.execute("DROP TRIGGER payout_batch_kept ON payout_batch")
    op.drop_index(
        "uq_payout_batch_item_entry_id_unreleased",
        table_name="payout_batch_item",
        postgresql_where=sa.text("released_at IS NULL"),
    )
    op.drop_index("ix_payout_batch_item_batch_id_payee_id", table_name="payout_batch_item")
    op.drop_table("payout_batch_item")
    op.drop_index("ix_loan_servicing_event_loan_id_occurred_on", table_name="loan_servicing_event")
    op.drop_table("loan_servicing_event")
    op.drop_index(
        "ix_lender_statement_line_statement_id_line_number", table_name="lender_statement_line"
    )
    op.drop_table("lender_statement_line")
    op.drop_index("ix_commission_entry_payee_id_effective_on", table_name="commission_entry")
    op.drop_index("ix_commission_entry_organization_id_effective_on", table_name="commission_entry")
    op.drop_table("commission_entry")
    op.drop_index("ix_funded_loan_organization_id", table_name="funded_loan")
    op.drop_index("ix_funded_loan_lender_id_funded_on", table_name="funded_loan")
    op.drop_index("ix_funded_loan_broker_user_id_funded_on", table_name="funded_loan")
    op.drop_table("funded_loan")
    op.drop_index(
        "ix_commission_rule_version_rule_id_effective_from", table_name="commission_rule_version"
    )
    op.drop_table("commission_rule_version")
    op.drop_table("payout_batch")
    op.drop_table("lender_statement")
    op.drop_index("ix_commission_rule_scope_scope_id", table_name="commission_rule")
    op.drop_table("commission_rule")
    op.drop_table("commission_jurisdiction")
    op.execute("DROP FUNCTION commission_refuse_change()")
    op.execute("DROP FUNCTION commission_splits_total(jsonb)")
    op.execute("DROP FUNCTION commission_conditions_hold(jsonb, jsonb)")
