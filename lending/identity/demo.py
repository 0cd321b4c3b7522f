"""The identity part of the demo data: a broker firm, one login per role, MFA for staff roles
that require it (platform admin and prompt engineer by default)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyotp
from sqlalchemy.ext.asyncio import AsyncSession

from lending import crypto
from lending.audit.schemas import Origin
from lending.audit.service import audit_service
from lending.config import Settings
from lending.identity import mfa as totp
from lending.identity.repository import OrganizationRepository, UserRepository
from lending.identity.rules import totp_associated_data
from lending.identity.users import user_service
from lending.models.base import utcnow
from lending.models.identity import Organization, OrganizationKind, Role, User

if TYPE_CHECKING:
    from lending.demo import DemoSummary

DEMO_PASSWORD = "demo-passphrase-2026"
FIRM_SLUG = "harbor"
_ORIGIN = Origin(operator="omnifin seed demo")


@dataclass(frozen=True)
class _DemoUser:
    email: str
    full_name: str
    role: Role
    in_firm: bool
    referred_by: str | None = None


_USERS = (
    _DemoUser("admin@omnifin.demo", "Avery Admin", Role.PLATFORM_ADMIN, in_firm=False),
    _DemoUser("prompts@omnifin.demo", "Priya Prompt", Role.PROMPT_ENGINEER, in_firm=False),
    _DemoUser("manager@harbor.demo", "Morgan Manager", Role.BROKER_MANAGER, in_firm=True),
    _DemoUser("broker@harbor.demo", "Blake Broker", Role.BROKER, in_firm=True),
    _DemoUser(
        "referred@harbor.demo",
        "Riley Referred",
        Role.BORROWER,
        in_firm=True,
        referred_by="broker@harbor.demo",
    ),
    _DemoUser("direct@omnifin.demo", "Dana Direct", Role.BORROWER, in_firm=False),
)


async def seed_identity(session: AsyncSession, settings: Settings, summary: DemoSummary) -> None:
    """Create what is missing (a second run changes nothing) and list the logins."""
    from lending.demo import DemoLogin

    if settings.environment == "production":
        summary.notes.append("No demo logins in production.")
        return
    organizations = OrganizationRepository.from_session(session)
    platform = await organizations.get_platform()
    firm = await organizations.get_by_slug(FIRM_SLUG) or await organizations.add(
        Organization(
            name="Harbor Brokers",
            slug=FIRM_SLUG,
            kind=OrganizationKind.BROKER_FIRM,
            licence_number="NMLS-2046811",
        )
    )
    users = UserRepository.from_session(session)
    created: dict[str, User] = {}
    for demo in _USERS:
        user = await users.get_by_email(demo.email)
        if user is None:
            referrer = created.get(demo.referred_by or "") or (
                await users.get_by_email(demo.referred_by) if demo.referred_by else None
            )
            user = await user_service.add(
                session,
                settings=settings,
                email=demo.email,
                password=DEMO_PASSWORD,
                full_name=demo.full_name,
                role=demo.role,
                organization=firm if demo.in_firm else platform,
                referred_by_user_id=referrer.id if referrer else None,
            )
            await audit_service.record(
                session,
                None,
                action="user.created",
                origin=_ORIGIN,
                organization_id=user.organization_id,
                subject_type="user",
                subject_id=user.id,
                details={"role": user.role.value},
            )
        created[demo.email] = user
        organization = firm if demo.in_firm else platform
        summary.logins.append(
            DemoLogin(demo.role.value, demo.email, DEMO_PASSWORD, organization.name)
        )
    for email, user in created.items():
        if user.role.value in settings.mfa_required_roles:
            secret = _totp_secret(user, settings)
            summary.notes.append(_mfa_note(email, user.role.value, secret, settings))
    await session.flush()


def _totp_secret(admin: User, settings: Settings) -> str | None:
    """A staff login's TOTP secret: MFA is required for its role, so the demo enrols it and
    shows the secret, or a person could not sign in as that role at all."""
    encryptor = crypto.encryptor(settings)
    associated_data = totp_associated_data(admin.id)
    if admin.mfa_secret_encrypted is None:
        secret = totp.new_secret()
        admin.mfa_secret_encrypted = encryptor.encrypt(secret.encode(), associated_data)
        admin.mfa_enabled_at = utcnow()
        return secret
    if admin.mfa_enabled_at is None:
        return None  # enrolment started by hand and not confirmed: leave it to the person
    try:
        return encryptor.decrypt(admin.mfa_secret_encrypted, associated_data).decode()
    except crypto.DecryptionError:
        return None  # the state folder's key changed since: re-enrol through the API


def _mfa_note(email: str, role: str, secret: str | None, settings: Settings) -> str:
    who = role.replace("_", " ")
    if secret is None:
        return (
            f"  The {who} ({email}) needs a TOTP code, and its secret cannot be shown here: "
            "sign in, then enrol with POST /api/v1/mfa/enroll and /confirm."
        )
    uri = pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=settings.mfa_issuer)
    return "\n".join(
        [
            f"  The {who} ({email}) signs in with a one-time code too (MFA is required for "
            "this role).",
            f"  Add this TOTP secret to an authenticator app: {secret}",
            f"  (otpauth URI: {uri})",
            "  or print the current code with:",
            f"    .venv/bin/python -c \"import pyotp; print(pyotp.TOTP('{secret}').now())\"",
            '  and send it as "otp" with the email and password to POST /api/v1/auth/token.',
        ]
    )
