"""Rules the identity services share: role placement, MFA requirements, the step-up password
check, and the keys that bind secrets to their user."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from lending.audit.schemas import Origin
from lending.config import Settings
from lending.errors import InvalidInput
from lending.identity import passwords, throttle
from lending.identity.actor import Actor
from lending.kv import Store
from lending.models.identity import (
    FIRM_ONLY_ROLES,
    PLATFORM_ONLY_ROLES,
    STAFF_ROLES,
    Organization,
    OrganizationKind,
    Role,
    User,
)

# Roles whose referral link attributes a new borrower to them.
REFERRING_ROLES = frozenset({Role.BROKER, Role.BROKER_MANAGER})
# What a broker manager may invite into their firm; everything else takes a platform admin.
FIRM_INVITABLE_ROLES = frozenset({Role.BROKER, Role.BORROWER})


def now() -> datetime:
    return datetime.now(UTC)


def actor_of(user: User) -> Actor:
    return Actor.for_user(user.id, user.role, user.organization_id)


def mfa_required_roles(organization: Organization, settings: Settings) -> frozenset[Role]:
    """The staff roles that must use MFA in this organization (its own list, else the default)."""
    names = organization.mfa_required_roles
    if names is None:
        names = settings.mfa_required_roles
    return frozenset(role for role in STAFF_ROLES if role.value in names)


def check_role_fits(role: Role, organization: Organization) -> None:
    if role in PLATFORM_ONLY_ROLES and organization.kind is not OrganizationKind.PLATFORM:
        raise InvalidInput(f"A {role.value} belongs to the platform organization, not a firm.")
    if role in FIRM_ONLY_ROLES and organization.kind is not OrganizationKind.BROKER_FIRM:
        raise InvalidInput(f"A {role.value} belongs to a broker firm.")


def totp_associated_data(user_id: uuid.UUID) -> bytes:
    """Binds a sealed TOTP secret to its user: copied to another row, it does not decrypt."""
    return f"user:{user_id}:totp".encode()


def recovery_key(settings: Settings) -> bytes:
    secret = settings.secret("secret_key").get_secret_value().encode()
    return hmac.new(secret, b"omnifin/recovery-code-key", hashlib.sha256).digest()


async def verify_own_password(
    session: AsyncSession,
    user: User,
    *,
    store: Store,
    settings: Settings,
    password: str,
    origin: Origin,
    field: str,
) -> None:
    """Re-check a signed-in user's password before a sensitive change. Counts towards the same
    lockout as sign-in, so a stolen token cannot be used to guess the password."""
    await throttle.ensure_allowed(store, email=user.email, ip=origin.ip)
    if not await passwords.verify_password(settings, user.password_hash, password):
        await throttle.record_failure(store, settings, email=user.email, ip=origin.ip)
        raise InvalidInput(
            [{"loc": ["body", field], "msg": "The password is incorrect.", "type": "password"}]
        )
