"""Request and response bodies of the identity domain.

Every request body forbids unknown fields: a `role` or `organization_id` slipped into a body that
does not take one is refused with 422 rather than silently ignored.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from lending.models.identity import (
    MfaResetStatus,
    OrganizationKind,
    OrganizationStatus,
    Role,
    TokenPurpose,
)

StaffRole = Literal["broker", "broker_manager", "platform_admin", "prompt_engineer"]
# Long enough for any policy; the policy itself gives the precise limit and message.
Password = Annotated[str, Field(min_length=1, max_length=4096)]
FullName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")]
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
MailLanguage = Literal["en", "zh"]
LinkToken = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Response(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# Sign-in and registration


class TokenRequest(_Request):
    # Not EmailStr: a malformed address gets the same answer as an unknown one.
    email: Annotated[str, Field(min_length=1, max_length=320)]
    password: Password
    otp: Code | None = Field(
        default=None, description="The 6-digit TOTP code, or a recovery code, when MFA is on."
    )


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    mfa_enrollment_required: bool = Field(
        default=False,
        description="True when this token can only enrol MFA (the organization requires it).",
    )


class RegisterRequest(_Request):
    email: EmailStr
    password: Password
    full_name: FullName
    invitation_code: Code | None = None
    referral_code: Code | None = Field(default=None, description="From a broker's referral link.")
    language: MailLanguage = Field(default="en", description="The language of the mail we send.")


class PasswordChange(_Request):
    current_password: Password
    new_password: Password


class PasswordResetRequest(_Request):
    # Not EmailStr: a malformed address gets the same answer as an unknown one.
    email: Annotated[str, Field(min_length=1, max_length=320)]


class PasswordResetConfirm(_Request):
    token: LinkToken = Field(description="The token from the reset link.")
    new_password: Password


class EmailVerificationConfirm(_Request):
    token: LinkToken = Field(description="The token from the verification link.")


class Accepted(BaseModel):
    """An answer that says what happens next, and nothing about whether an account exists."""

    detail: str


# Organizations


class OrganizationBrief(_Response):
    id: uuid.UUID
    name: str
    slug: str
    kind: OrganizationKind


class OrganizationRead(OrganizationBrief):
    licence_number: str | None
    status: OrganizationStatus
    mfa_required_roles: list[str] | None = Field(
        description="Roles that must use MFA here; null follows the platform default."
    )
    created_at: datetime


class OrganizationCreate(_Request):
    name: FullName
    slug: Slug
    licence_number: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None
    ) = None
    mfa_required_roles: list[StaffRole] | None = None


class OrganizationUpdate(_Request):
    name: FullName | None = None
    licence_number: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None
    ) = None
    status: OrganizationStatus | None = None
    mfa_required_roles: list[StaffRole] | None = None


# Users


class UserRead(_Response):
    id: uuid.UUID
    email: str
    full_name: str
    role: Role
    organization_id: uuid.UUID
    is_active: bool
    mfa_enabled: bool
    referred_by_user_id: uuid.UUID | None
    created_at: datetime
    last_login_at: datetime | None
    email_verified_at: datetime | None = None


class Me(UserRead):
    organization: OrganizationBrief
    scopes: list[str]
    mfa_required: bool
    voice_enabled: bool = Field(
        default=False, description="Voice is configured on this platform (LiveKit settings)."
    )


class MeUpdate(_Request):
    full_name: FullName


class UserUpdate(_Request):
    full_name: FullName | None = None
    role: Role | None = Field(default=None, description="Platform administrators only.")
    organization_id: uuid.UUID | None = Field(
        default=None, description="Platform administrators only."
    )
    is_active: bool | None = None


class ReferralLink(BaseModel):
    code: str
    url: str


# Invitations


MAX_INVITATION_HOURS = 30 * 24


class InvitationCreate(_Request):
    role: Role
    email: EmailStr | None = Field(default=None, description="Only this address may use it.")
    organization_id: uuid.UUID | None = Field(
        default=None, description="Defaults to your own organization."
    )
    expires_in_hours: int | None = Field(default=None, ge=1, le=MAX_INVITATION_HOURS)
    language: MailLanguage | None = Field(
        default=None,
        description="The language of the invitation mail (sent when an e-mail is given); "
        "defaults to yours.",
    )


class InvitationRead(_Response):
    id: uuid.UUID
    organization_id: uuid.UUID
    role: Role
    email: str | None
    status: Literal["pending", "used", "expired", "revoked"]
    created_by_user_id: uuid.UUID | None
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    used_by_user_id: uuid.UUID | None


class InvitationCreated(InvitationRead):
    code: str = Field(description="Shown once: only its hash is kept.")
    url: str
    emailed: bool = Field(
        default=False, description="The link was mailed to the invitation's address."
    )


class EmailChangeRequest(_Request):
    new_email: EmailStr
    password: Password = Field(description="Your current password.")


class ReferralSend(_Request):
    email: EmailStr = Field(description="Who to send your referral link to.")
    language: MailLanguage = Field(default="en", description="The language of the mail.")


class MfaResetCreate(_Request):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000)]


class MfaResetRead(_Response):
    id: uuid.UUID
    user_id: uuid.UUID
    reason: str
    status: MfaResetStatus
    requested_by_user_id: uuid.UUID | None
    created_at: datetime
    decided_by_user_id: uuid.UUID | None
    decided_at: datetime | None


# Tokens


class TokenRead(_Response):
    id: uuid.UUID
    name: str
    purpose: TokenPurpose
    created_ip: str | None
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    current: bool = False


# MFA


class MfaStatus(BaseModel):
    enabled: bool
    pending: bool = Field(description="Enrolment started and not confirmed yet.")
    required: bool = Field(description="Your organization requires MFA for your role.")
    recovery_codes_remaining: int


class MfaEnrollment(BaseModel):
    secret: str = Field(description="Base32, for typing into an authenticator app by hand.")
    otpauth_uri: str
    qr_svg_data_uri: str = Field(description="The otpauth URI as a QR code (SVG data URI).")


class MfaCode(_Request):
    code: Code


class MfaDisable(_Request):
    password: Password
    code: Code = Field(description="A current TOTP code or an unused recovery code.")


class RecoveryCodes(BaseModel):
    recovery_codes: list[str] = Field(description="Shown once; each works one time.")
