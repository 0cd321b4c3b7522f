"""Identity and access: organizations, users, tokens, invitations, MFA codes, audit log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 22:00:00+00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES = "('borrower', 'broker', 'broker_manager', 'platform_admin', 'prompt_engineer')"


def _timestamps() -> list[sa.Column[Any]]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "organization",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("slug", sa.String(63), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("licence_number", sa.String(64), nullable=True),
        sa.Column("status", sa.String(32), server_default="active", nullable=False),
        sa.Column("mfa_required_roles", postgresql.ARRAY(sa.String(32)), nullable=True),
        *_timestamps(),
        sa.CheckConstraint("kind IN ('platform', 'broker_firm')", name="ck_organization_kind"),
        sa.CheckConstraint("status IN ('active', 'suspended')", name="ck_organization_status"),
        sa.PrimaryKeyConstraint("id", name="pk_organization"),
        sa.UniqueConstraint("slug", name="uq_organization_slug"),
    )
    op.create_index(
        "uq_organization_platform",
        "organization",
        ["kind"],
        unique=True,
        postgresql_where=sa.text("kind = 'platform'"),
    )

    op.create_table(
        "user_account",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("full_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column(
            "password_changed_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("referred_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("referral_code", sa.String(32), nullable=True),
        sa.Column("mfa_secret_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("mfa_enabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("mfa_last_used_step", sa.BigInteger(), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(f"role IN {ROLES}", name="ck_user_account_role"),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name="fk_user_account_organization_id_organization",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["referred_by_user_id"],
            ["user_account.id"],
            name="fk_user_account_referred_by_user_id_user_account",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_user_account"),
        sa.UniqueConstraint("referral_code", name="uq_user_account_referral_code"),
    )
    op.create_index("ix_user_account_organization_id", "user_account", ["organization_id"])
    op.create_index("ix_user_account_referred_by_user_id", "user_account", ["referred_by_user_id"])
    op.create_index(
        "uq_user_account_email_lower", "user_account", [sa.text("lower(email)")], unique=True
    )

    op.create_table(
        "access_token",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("created_ip", sa.String(45), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "purpose IN ('access', 'mfa_enrollment')", name="ck_access_token_purpose"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name="fk_access_token_user_id_user_account",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_access_token"),
        sa.UniqueConstraint("token_hash", name="uq_access_token_token_hash"),
    )
    op.create_index("ix_access_token_user_id", "access_token", ["user_id"])

    op.create_table(
        "invitation",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("code_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(f"role IN {ROLES}", name="ck_invitation_role"),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name="fk_invitation_organization_id_organization",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["user_account.id"],
            name="fk_invitation_created_by_user_id_user_account",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["used_by_user_id"],
            ["user_account.id"],
            name="fk_invitation_used_by_user_id_user_account",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_invitation"),
        sa.UniqueConstraint("code_hash", name="uq_invitation_code_hash"),
    )
    op.create_index("ix_invitation_organization_id", "invitation", ["organization_id"])

    op.create_table(
        "mfa_recovery_code",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(32), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name="fk_mfa_recovery_code_user_id_user_account",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_mfa_recovery_code"),
        sa.UniqueConstraint("user_id", "code_hash", name="uq_mfa_recovery_code_user_id_code_hash"),
    )

    op.create_table(
        "audit_event",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("actor_user_id", sa.Uuid(), nullable=True),
        sa.Column("actor_role", sa.String(32), nullable=True),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("subject_type", sa.String(64), nullable=True),
        sa.Column("subject_id", sa.String(64), nullable=True),
        sa.Column("ip", sa.String(45), nullable=True),
        sa.Column("request_id", sa.String(128), nullable=True),
        sa.Column("details", postgresql.JSONB(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_event"),
        sa.UniqueConstraint("prev_hash", name="uq_audit_event_prev_hash"),
    )
    op.create_index("ix_audit_event_action", "audit_event", ["action"])
    op.create_index("ix_audit_event_actor_user_id_id", "audit_event", ["actor_user_id", "id"])
    op.create_index("ix_audit_event_organization_id_id", "audit_event", ["organization_id", "id"])
    # Append-only, enforced by the database itself: a bug or a stray UPDATE in application code
    # cannot rewrite history. (The table owner can still disable the trigger; the hash chain is
    # what makes that detectable.)
    op.execute(
        """
        CREATE FUNCTION audit_event_refuse_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_event is append-only: % is not allowed', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END;
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
        "FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change()"
    )
    op.execute(
        "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_refuse_change()"
    )

    # The platform itself is an organization: staff and direct borrowers belong to it.
    op.execute(
        "INSERT INTO organization (id, name, slug, kind, status) "
        "VALUES (gen_random_uuid(), 'Omnifin', 'omnifin', 'platform', 'active')"
    )


def downgrade() -> None:
    op.drop_table("audit_event")  # its triggers go with it
    op.execute("DROP FUNCTION audit_event_refuse_change()")
    op.drop_table("mfa_recovery_code")
    op.drop_table("invitation")
    op.drop_table("access_token")
    op.drop_table("user_account")
    op.drop_table("organization")
