"""Lending core: lenders and products, borrower profiles, consents, applications and their events,
submissions, prequalifications, offers, tool-call idempotency records.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 00:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PRODUCT_TYPES = (
    "('personal', 'auto', 'mortgage', 'home_equity', 'business', 'debt_consolidation', "
    "'student_refinance')"
)
STATUSES = (
    "('draft', 'submitted', 'under_review', 'approved', 'referred', 'declined', 'withdrawn', "
    "'offer_accepted', 'funded', 'closed')"
)
CREDIT_BANDS = "('excellent', 'good', 'fair', 'poor')"


def _timestamps() -> list[sa.Column[sa.DateTime]]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def _created_at() -> sa.Column[sa.DateTime]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    )


def _money(name: str, nullable: bool = False) -> sa.Column[sa.Numeric]:
    return sa.Column(name, sa.Numeric(14, 2), nullable=nullable)


def upgrade() -> None:
    op.execute("CREATE SEQUENCE application_reference_seq")

    op.create_table(
        "lender",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("slug", sa.String(63), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("nmls_id", sa.String(16), nullable=True),
        sa.Column("website", sa.String(200), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_lender"),
        sa.UniqueConstraint("slug", name="uq_lender_slug"),
    )

    op.create_table(
        "lender_product",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("lender_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("product_type", sa.String(32), nullable=False),
        _money("min_amount"),
        _money("max_amount"),
        sa.Column("min_term_months", sa.Integer(), nullable=False),
        sa.Column("max_term_months", sa.Integer(), nullable=False),
        sa.Column("rate_table", postgresql.JSONB(), nullable=False),
        sa.Column("min_credit_band", sa.String(32), nullable=False),
        sa.Column("max_dti", sa.Numeric(7, 4), nullable=False),
        sa.Column("max_ltv", sa.Numeric(7, 4), nullable=True),
        sa.Column(
            "allowed_purposes", postgresql.ARRAY(sa.String(48)), server_default="{}", nullable=False
        ),
        sa.Column(
            "allowed_states", postgresql.ARRAY(sa.String(2)), server_default="{}", nullable=False
        ),
        sa.Column("fees", postgresql.JSONB(), server_default="[]", nullable=False),
        sa.Column(
            "risky_features", postgresql.ARRAY(sa.String(48)), server_default="{}", nullable=False
        ),
        sa.Column("conditions", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.Column("rounding", sa.String(32), nullable=False),
        sa.Column("day_count", sa.String(32), nullable=False),
        sa.Column("offer_validity_days", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        *_timestamps(),
        sa.CheckConstraint(
            f"product_type IN {PRODUCT_TYPES}", name="ck_lender_product_product_type"
        ),
        sa.CheckConstraint(
            f"min_credit_band IN {CREDIT_BANDS}", name="ck_lender_product_min_credit_band"
        ),
        sa.CheckConstraint(
            "rounding IN ('half_up', 'half_even', 'up')", name="ck_lender_product_rounding"
        ),
        sa.CheckConstraint(
            "day_count IN ('thirty_360', 'actual_365')", name="ck_lender_product_day_count"
        ),
        sa.CheckConstraint(
            "min_amount > 0 AND max_amount >= min_amount", name="ck_lender_product_amount_range"
        ),
        sa.CheckConstraint(
            "min_term_months > 0 AND max_term_months >= min_term_months",
            name="ck_lender_product_term_range",
        ),
        sa.CheckConstraint("offer_validity_days > 0", name="ck_lender_product_offer_validity_days"),
        sa.ForeignKeyConstraint(
            ["lender_id"],
            ["lender.id"],
            name="fk_lender_product_lender_id_lender",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_lender_product"),
        sa.UniqueConstraint("lender_id", "code", name="uq_lender_product_lender_id_code"),
    )
    op.create_index("ix_lender_product_lender_id", "lender_product", ["lender_id"])

    op.create_table(
        "borrower_profile",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("legal_first_name", sa.String(100), nullable=True),
        sa.Column("legal_last_name", sa.String(100), nullable=True),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("address_line1", sa.String(200), nullable=True),
        sa.Column("address_line2", sa.String(200), nullable=True),
        sa.Column("city", sa.String(100), nullable=True),
        sa.Column("state", sa.String(2), nullable=True),
        sa.Column("postal_code", sa.String(10), nullable=True),
        sa.Column("date_of_birth_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("ssn_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("ssn_last4", sa.String(4), nullable=True),
        sa.Column("employment_status", sa.String(32), nullable=True),
        sa.Column("employer_name", sa.String(200), nullable=True),
        sa.Column("job_title", sa.String(100), nullable=True),
        sa.Column("employment_start_date", sa.Date(), nullable=True),
        _money("annual_income", nullable=True),
        _money("monthly_debt_payments", nullable=True),
        _money("monthly_housing_payment", nullable=True),
        sa.Column("estimated_credit_score", sa.SmallInteger(), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            "employment_status IN ('employed', 'self_employed', 'retired', 'unemployed', "
            "'student', 'other')",
            name="ck_borrower_profile_employment_status",
        ),
        sa.CheckConstraint("ssn_last4 ~ '^[0-9]{4}$'", name="ck_borrower_profile_ssn_last4"),
        sa.CheckConstraint(
            "estimated_credit_score BETWEEN 300 AND 850",
            name="ck_borrower_profile_estimated_credit_score",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name="fk_borrower_profile_user_id_user_account",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_borrower_profile"),
        sa.UniqueConstraint("user_id", name="uq_borrower_profile_user_id"),
    )

    op.create_table(
        "consent_record",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("borrower_user_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("text_version", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("recorded_by_user_id", sa.Uuid(), nullable=True),
        sa.Column(
            "recorded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "kind IN ('credit_check', 'electronic_records', 'privacy_notice')",
            name="ck_consent_record_kind",
        ),
        sa.ForeignKeyConstraint(
            ["borrower_user_id"],
            ["user_account.id"],
            name="fk_consent_record_borrower_user_id_user_account",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_user_id"],
            ["user_account.id"],
            name="fk_consent_record_recorded_by_user_id_user_account",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_consent_record"),
    )
    op.create_index(
        "ix_consent_record_borrower_user_id_kind",
        "consent_record",
        ["borrower_user_id", "kind", "recorded_at"],
    )

    op.create_table(
        "loan_application",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("reference", sa.String(20), nullable=False),
        sa.Column("borrower_user_id", sa.Uuid(), nullable=False),
        sa.Column("broker_user_id", sa.Uuid(), nullable=True),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("product_type", sa.String(32), nullable=False),
        sa.Column("purpose", sa.String(48), nullable=True),
        sa.Column("requested_product_id", sa.Uuid(), nullable=True),
        _money("amount", nullable=True),
        sa.Column("term_months", sa.Integer(), nullable=True),
        sa.Column("slots", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.Column("status", sa.String(32), server_default="draft", nullable=False),
        sa.Column(
            "status_changed_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hmda_action_taken", sa.SmallInteger(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        *_timestamps(),
        sa.CheckConstraint(
            f"product_type IN {PRODUCT_TYPES}", name="ck_loan_application_product_type"
        ),
        sa.CheckConstraint(f"status IN {STATUSES}", name="ck_loan_application_status"),
        sa.CheckConstraint("amount > 0", name="ck_loan_application_amount_positive"),
        sa.CheckConstraint("term_months > 0", name="ck_loan_application_term_positive"),
        sa.CheckConstraint(
            "hmda_action_taken BETWEEN 1 AND 8", name="ck_loan_application_hmda_action_taken"
        ),
        sa.ForeignKeyConstraint(
            ["borrower_user_id"],
            ["user_account.id"],
            name="fk_loan_application_borrower_user_id_user_account",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["broker_user_id"],
            ["user_account.id"],
            name="fk_loan_application_broker_user_id_user_account",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["user_account.id"],
            name="fk_loan_application_created_by_user_id_user_account",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name="fk_loan_application_organization_id_organization",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["requested_product_id"],
            ["lender_product.id"],
            name="fk_loan_application_requested_product_id_lender_product",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_loan_application"),
        sa.UniqueConstraint("reference", name="uq_loan_application_reference"),
    )
    op.create_index(
        "ix_loan_application_borrower_user_id", "loan_application", ["borrower_user_id"]
    )
    op.create_index("ix_loan_application_broker_user_id", "loan_application", ["broker_user_id"])
    op.create_index(
        "ix_loan_application_organization_id_created_at",
        "loan_application",
        ["organization_id", "created_at"],
    )

    op.create_table(
        "application_event",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("from_status", sa.String(32), nullable=True),
        sa.Column("to_status", sa.String(32), nullable=False),
        sa.Column("actor_user_id", sa.Uuid(), nullable=True),
        sa.Column("actor_role", sa.String(32), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("lender_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("hmda_action_taken", sa.SmallInteger(), nullable=True),
        sa.Column("details", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.Column(
            "occurred_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(f"to_status IN {STATUSES}", name="ck_application_event_to_status"),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["user_account.id"],
            name="fk_application_event_actor_user_id_user_account",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["loan_application.id"],
            name="fk_application_event_application_id_loan_application",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["lender_id"],
            ["lender.id"],
            name="fk_application_event_lender_id_lender",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_application_event"),
    )
    op.create_index(
        "ix_application_event_application_id_id", "application_event", ["application_id", "id"]
    )
    op.create_index(
        "ix_application_event_to_status_occurred_at",
        "application_event",
        ["to_status", "occurred_at"],
    )

    op.create_table(
        "lender_submission",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("lender_id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=True),
        sa.Column("external_reference", sa.String(128), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            "status IN ('queued', 'pending', 'sent', 'received', 'approved', 'referred', "
            "'declined', 'funded', 'failed', 'withdrawn')",
            name="ck_lender_submission_status",
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["loan_application.id"],
            name="fk_lender_submission_application_id_loan_application",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["lender_id"],
            ["lender.id"],
            name="fk_lender_submission_lender_id_lender",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["lender_product.id"],
            name="fk_lender_submission_product_id_lender_product",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_lender_submission"),
        sa.UniqueConstraint(
            "application_id", "lender_id", name="uq_lender_submission_application_id_lender_id"
        ),
    )
    op.create_index("ix_lender_submission_lender_id", "lender_submission", ["lender_id"])

    op.create_table(
        "prequalification",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("credit_band", sa.String(32), nullable=False),
        sa.Column("inputs", postgresql.JSONB(), nullable=False),
        sa.Column("excluded", postgresql.JSONB(), nullable=False),
        sa.Column("anti_steering", postgresql.JSONB(), nullable=False),
        _created_at(),
        sa.CheckConstraint(
            f"credit_band IN {CREDIT_BANDS}", name="ck_prequalification_credit_band"
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["loan_application.id"],
            name="fk_prequalification_application_id_loan_application",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["user_account.id"],
            name="fk_prequalification_created_by_user_id_user_account",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_prequalification"),
    )
    op.create_index(
        "ix_prequalification_application_id_created_at",
        "prequalification",
        ["application_id", "created_at"],
    )

    op.create_table(
        "offer",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("prequalification_id", sa.Uuid(), nullable=True),
        sa.Column("lender_id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        _money("amount"),
        sa.Column("term_months", sa.Integer(), nullable=False),
        sa.Column("note_rate", sa.Numeric(7, 4), nullable=False),
        sa.Column("apr", sa.Numeric(7, 2), nullable=False),
        sa.Column("apr_exact", sa.Numeric(16, 10), nullable=False),
        _money("monthly_payment"),
        _money("total_of_payments"),
        _money("finance_charge"),
        _money("amount_financed"),
        _money("prepaid_finance_charges"),
        _money("other_fees"),
        _money("points_and_fees"),
        _money("total_cost"),
        sa.Column("fees", postgresql.JSONB(), nullable=False),
        sa.Column("risky_features", postgresql.ARRAY(sa.String(48)), nullable=False),
        sa.Column("rank_by_apr", sa.Integer(), nullable=True),
        sa.Column("rank_by_total_cost", sa.Integer(), nullable=True),
        sa.Column("anti_steering", postgresql.ARRAY(sa.String(48)), nullable=False),
        sa.Column("dti", postgresql.JSONB(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        _created_at(),
        sa.CheckConstraint("kind IN ('prequalified', 'firm')", name="ck_offer_kind"),
        sa.CheckConstraint(
            "status IN ('active', 'superseded', 'accepted', 'declined')", name="ck_offer_status"
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["loan_application.id"],
            name="fk_offer_application_id_loan_application",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["lender_id"], ["lender.id"], name="fk_offer_lender_id_lender", ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["prequalification_id"],
            ["prequalification.id"],
            name="fk_offer_prequalification_id_prequalification",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["lender_product.id"],
            name="fk_offer_product_id_lender_product",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_offer"),
    )
    op.create_index("ix_offer_application_id_status", "offer", ["application_id", "status"])
    op.create_index("ix_offer_prequalification_id", "offer", ["prequalification_id"])

    op.create_table(
        "tool_call",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("actor_user_id", sa.Uuid(), nullable=False),
        sa.Column("tool_name", sa.String(64), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("arguments_sha256", sa.String(64), nullable=False),
        sa.Column("output", postgresql.JSONB(), nullable=False),
        _created_at(),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["user_account.id"],
            name="fk_tool_call_actor_user_id_user_account",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_tool_call"),
        sa.UniqueConstraint(
            "actor_user_id",
            "tool_name",
            "idempotency_key",
            name="uq_tool_call_actor_user_id_tool_name_idempotency_key",
        ),
    )


def downgrade() -> None:
    op.drop_table("tool_call")
    op.drop_table("offer")
    op.drop_table("prequalification")
    op.drop_table("lender_submission")
    op.drop_table("application_event")
    op.drop_table("loan_application")
    op.drop_table("consent_record")
    op.drop_table("borrower_profile")
    op.drop_table("lender_product")
    op.drop_table("lender")
    op.execute("DROP SEQUENCE application_reference_seq")
