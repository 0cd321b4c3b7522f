"""Identity tables: organizations (tenants), users, access tokens, invitations, MFA recovery codes."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lending.models.base import Base, TimestampMixin, new_id, utcnow


class Role(StrEnum):
    BORROWER = "borrower"
    BROKER = "broker"
    BROKER_MANAGER = "broker_manager"
    PLATFORM_ADMIN = "platform_admin"
    PROMPT_ENGINEER = "prompt_engineer"


STAFF_ROLES = frozenset(
    {Role.BROKER, Role.BROKER_MANAGER, Role.PLATFORM_ADMIN, Role.PROMPT_ENGINEER}
)
# Roles that only exist inside the platform organization, and only inside a broker firm.
PLATFORM_ONLY_ROLES = frozenset({Role.PLATFORM_ADMIN, Role.PROMPT_ENGINEER})
FIRM_ONLY_ROLES = frozenset({Role.BROKER, Role.BROKER_MANAGER})


class OrganizationKind(StrEnum):
    PLATFORM = "platform"
    BROKER_FIRM = "broker_firm"


class OrganizationStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class TokenPurpose(StrEnum):
    ACCESS = "access"
    # Issued to a staff user whose organization requires MFA before they enrolled: it can only
    # reach the MFA enrolment endpoints.
    MFA_ENROLLMENT = "mfa_enrollment"


def _enum(cls: type[StrEnum], name: str) -> Enum:
    # Stored as text with a CHECK constraint (declared per table) rather than a PostgreSQL enum
    # type, so that adding a value is a constraint change, not an ALTER TYPE.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


def _one_of(column: str, cls: type[StrEnum]) -> str:
    values = ", ".join(f"'{member.value}'" for member in cls)
    return f"{column} IN ({values})"


class Organization(TimestampMixin, Base):
    """A tenant: the platform itself (staff and direct borrowers) or a broker firm."""

    __tablename__ = "organization"
    __table_args__ = (
        CheckConstraint(_one_of("kind", OrganizationKind), name="kind"),
        CheckConstraint(_one_of("status", OrganizationStatus), name="status"),
        # Exactly one platform organization; the migration creates it.
        Index(
            "uq_organization_platform",
            "kind",
            unique=True,
            postgresql_where=text("kind = 'platform'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    kind: Mapped[OrganizationKind] = mapped_column(_enum(OrganizationKind, "organization_kind"))
    licence_number: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[OrganizationStatus] = mapped_column(
        _enum(OrganizationStatus, "organization_status"),
        default=OrganizationStatus.ACTIVE,
        server_default=OrganizationStatus.ACTIVE.value,
    )
    # Staff roles that need MFA here; NULL follows the platform default (settings).
    mfa_required_roles: Mapped[list[str] | None] = mapped_column(ARRAY(String(32)))


class User(TimestampMixin, Base):
    """A person who signs in. The table is `user_account`: `user` is reserved in SQL."""

    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint(_one_of("role", Role), name="role"),
        # The back office's people list (keyset, newest first) and its search.
        Index("ix_user_account_created_at_id", "created_at", "id"),
        Index(
            "ix_user_account_email_trgm",
            "email",
            postgresql_using="gin",
            postgresql_ops={"email": "gin_trgm_ops"},
        ),
        Index(
            "ix_user_account_full_name_trgm",
            "full_name",
            postgresql_using="gin",
            postgresql_ops={"full_name": "gin_trgm_ops"},
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320))
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organization.id", ondelete="RESTRICT"), index=True
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    # The role of whoever deactivated the user; a broker manager cannot undo a platform admin's.
    deactivated_by_role: Mapped[str | None] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(255))
    password_changed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The broker who brought this borrower (referral link or invitation); commissions read it.
    referred_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    # A broker's public referral code (in the link they share); not a secret.
    referral_code: Mapped[str | None] = mapped_column(String(32), unique=True)
    # TOTP: the secret is encrypted (lending.crypto); set but not enabled means enrolment pending.
    mfa_secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    mfa_enabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The last TOTP time step accepted, so a code (or an older one) is never accepted twice.
    mfa_last_used_step: Mapped[int | None] = mapped_column(BigInteger)
    # When the person proved the address is theirs (issue 19); accounts made before that
    # feature, and those made by an administrator or the demo seed, count as verified (the
    # default). Unverified: chat, but no submitting.
    # Registration sets it to None and sends a verification mail (lending/identity/verification.py).
    email_verified_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )
    # The language of the mail sent to this person ("en" or "zh").
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")

    organization: Mapped[Organization] = relationship(lazy="raise")

    @property
    def mfa_enabled(self) -> bool:
        return self.mfa_enabled_at is not None


# Case-insensitive uniqueness, keeping the address as the person typed it.
Index("uq_user_account_email_lower", func.lower(User.email), unique=True)


class AccessToken(Base):
    """An opaque bearer token, stored as the SHA-256 of its value."""

    __tablename__ = "access_token"
    __table_args__ = (CheckConstraint(_one_of("purpose", TokenPurpose), name="purpose"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    purpose: Mapped[TokenPurpose] = mapped_column(_enum(TokenPurpose, "token_purpose"))
    name: Mapped[str] = mapped_column(String(100))
    created_ip: Mapped[str | None] = mapped_column(String(45))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Invitation(Base):
    """A single-use, expiring code that lets one person register into a firm with a given role."""

    __tablename__ = "invitation"
    __table_args__ = (CheckConstraint(_one_of("role", Role), name="role"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    # When set, only this address may use the invitation (compared case-insensitively).
    email: Mapped[str | None] = mapped_column(String(320))
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    used_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def status(self) -> str:
        if self.used_at is not None:
            return "used"
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= utcnow():
            return "expired"
        return "pending"


class MfaRecoveryCode(Base):
    """One single-use recovery code, stored as a keyed hash (HMAC with the secret key)."""

    __tablename__ = "mfa_recovery_code"
    __table_args__ = (UniqueConstraint("user_id", "code_hash"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # The (user_id, code_hash) unique constraint also serves lookups by user.
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class EmailLinkPurpose(StrEnum):
    PASSWORD_RESET = "password_reset"
    EMAIL_VERIFICATION = "email_verification"
    EMAIL_CHANGE = "email_change"


class EmailLinkToken(Base):
    """A single-use, expiring secret sent by e-mail in a link; stored as the SHA-256 of its value."""

    __tablename__ = "email_link_token"
    __table_args__ = (CheckConstraint(_one_of("purpose", EmailLinkPurpose), name="purpose"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class EmailChangeRequest(Base):
    """A requested new e-mail address, waiting for its link (mailed to the new address) to be
    opened. One live request per person: a new request retires the older link."""

    __tablename__ = "email_change_request"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    link_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("email_link_token.id", ondelete="CASCADE"), unique=True
    )
    new_email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class MfaResetStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    CANCELLED = "cancelled"


class MfaResetRequest(Base):
    """Maker-checker for turning off a person's second factor: one platform administrator asks
    (with a reason), another approves; at most one request per person is pending."""

    __tablename__ = "mfa_reset_request"
    __table_args__ = (
        CheckConstraint(_one_of("status", MfaResetStatus), name="status"),
        Index(
            "uq_mfa_reset_request_pending",
            "user_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_mfa_reset_request_status_created_at", "status", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str] = mapped_column(String(2000))
    status: Mapped[MfaResetStatus] = mapped_column(_enum(MfaResetStatus, "mfa_reset_status"))
    requested_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    decided_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
