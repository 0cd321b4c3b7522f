"""Lender catalog versions, integration settings and webhook secrets (issue 17).

Every existing lender and product becomes version 1 of itself, effective from the day its row
was created (UTC), active as the row is; existing offers point at their product's version 1.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 06:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PRODUCT_TYPES = (
    "'personal', 'auto', 'mortgage', 'home_equity', 'business', 'debt_consolidation', "
    "'student_refinance'"
)
_TERMS = (
    "name, product_type, min_amount, max_amount, min_term_months, max_term_months, rate_table, "
    "min_credit_band, max_dti, max_ltv, allowed_purposes, allowed_states, fees, risky_features, "
    "conditions, rounding, day_count, offer_validity_days, active"
)


def _history_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column(
            "created_by_user_id",
            sa.Uuid(),
            sa.ForeignKey("user_account.id", ondelete="SET NULL"),
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def upgrade() -> None:
    op.add_column(
        "lender",
        sa.Column("integration_adapter", sa.String(32), server_default="simulator", nullable=False),
    )
    op.add_column("lender", sa.Column("integration_base_url", sa.String(500)))
    for table in ("lender", "lender_product"):
        op.add_column(
            table, sa.Column("current_version", sa.Integer(), server_default="1", nullable=False)
        )
    op.create_check_constraint(
        "ck_lender_integration", "lender", "integration_adapter IN ('simulator', 'http', 'none')"
    )

    op.create_table(
        "lender_version",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "lender_id", sa.Uuid(), sa.ForeignKey("lender.id", ondelete="RESTRICT"), nullable=False
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("nmls_id", sa.String(16)),
        sa.Column("website", sa.String(200)),
        sa.Column("description", sa.Text()),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        *_history_columns(),
        sa.UniqueConstraint("lender_id", "version", name="uq_lender_version_lender_id_version"),
    )
    op.create_index(
        "ix_lender_version_lender_id_effective_from",
        "lender_version",
        ["lender_id", "effective_from"],
    )

    op.create_table(
        "lender_product_version",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "product_id",
            sa.Uuid(),
            sa.ForeignKey("lender_product.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column(
            "lender_id", sa.Uuid(), sa.ForeignKey("lender.id", ondelete="RESTRICT"), nullable=False
        ),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("product_type", sa.String(32), nullable=False),
        sa.Column("min_amount", sa.Numeric(14, 2), nullable=False),
        sa.Column("max_amount", sa.Numeric(14, 2), nullable=False),
        sa.Column("min_term_months", sa.Integer(), nullable=False),
        sa.Column("max_term_months", sa.Integer(), nullable=False),
        sa.Column("rate_table", postgresql.JSONB(), nullable=False),
        sa.Column("min_credit_band", sa.String(32), nullable=False),
        sa.Column("max_dti", sa.Numeric(7, 4), nullable=False),
        sa.Column("max_ltv", sa.Numeric(7, 4)),
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
        *_history_columns(),
        sa.UniqueConstraint(
            "product_id", "version", name="uq_lender_product_version_product_id_version"
        ),
        sa.CheckConstraint(
            f"product_type IN ({_PRODUCT_TYPES})", name="ck_lender_product_version_product_type"
        ),
        sa.CheckConstraint(
            "min_credit_band IN ('excellent', 'good', 'fair', 'poor')",
            name="ck_lender_product_version_min_credit_band",
        ),
        sa.CheckConstraint(
            "rounding IN ('half_up', 'half_even', 'up')", name="ck_lender_product_version_rounding"
        ),
        sa.CheckConstraint(
            "day_count IN ('thirty_360', 'actual_365')",
            name="ck_lender_product_version_day_count",
        ),
        sa.CheckConstraint(
            "min_amount > 0 AND max_amount >= min_amount",
            name="ck_lender_product_version_amount_range",
        ),
        sa.CheckConstraint(
            "min_term_months > 0 AND max_term_months >= min_term_months",
            name="ck_lender_product_version_term_range",
        ),
        sa.CheckConstraint(
            "offer_validity_days > 0", name="ck_lender_product_version_offer_validity_days"
        ),
    )
    op.create_index(
        "ix_lender_product_version_product_id_effective_from",
        "lender_product_version",
        ["product_id", "effective_from"],
    )

    op.create_table(
        "lender_webhook_secret",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "lender_id", sa.Uuid(), sa.ForeignKey("lender.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("secret_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("hint", sa.String(8), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column(
            "created_by_user_id",
            sa.Uuid(),
            sa.ForeignKey("user_account.id", ondelete="SET NULL"),
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_index(
        "ix_lender_webhook_secret_lender_id_created_at",
        "lender_webhook_secret",
        ["lender_id", "created_at"],
    )

    op.add_column(
        "offer",
        sa.Column(
            "product_version_id",
            sa.Uuid(),
            sa.ForeignKey("lender_product_version.id", ondelete="RESTRICT"),
        ),
    )

    # The catalog as it stands becomes version 1 of every lender and product.
    op.execute(
        """
        INSERT INTO lender_version
            (id, lender_id, version, effective_from, note, created_at,
             name, nmls_id, website, description, active)
        SELECT gen_random_uuid(), id, 1, (created_at AT TIME ZONE 'UTC')::date,
               'Version 1: the catalog before versions (migration 0012).', created_at,
               name, nmls_id, website, description, active
        FROM lender
        """
    )
    op.execute(
        f"""
        INSERT INTO lender_product_version
            (id, product_id, lender_id, code, version, effective_from, note, created_at, {_TERMS})
        SELECT gen_random_uuid(), id, lender_id, code, 1, (created_at AT TIME ZONE 'UTC')::date,
               'Version 1: the catalog before versions (migration 0012).', created_at, {_TERMS}
        FROM lender_product
        """
    )
    op.execute(
        """
        UPDATE offer SET product_version_id = v.id
        FROM lender_product_version v
        WHERE v.product_id = offer.product_id AND v.version = 1
        """
    )


def downgrade() -> None:
    op.drop_column("offer", "product_version_id")
    op.drop_index("ix_lender_webhook_secret_lender_id_created_at", "lender_webhook_secret")
    op.drop_table("lender_webhook_secret")
    op.drop_index("ix_lender_product_version_product_id_effective_from", "lender_product_version")
    op.drop_table("lender_product_version")
    op.drop_index("ix_lender_version_lender_id_effective_from", "lender_version")
    op.drop_table("lender_version")
    op.drop_constraint("ck_lender_integration", "lender", type_="check")
    op.drop_column("lender_product", "current_version")
    op.drop_column("lender", "current_version")
    op.drop_column("lender", "integration_base_url")
    op.drop_column("lender", "integration_adapter")
