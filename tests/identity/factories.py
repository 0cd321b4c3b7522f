"""Plain async factories for identity rows, and helpers to call the API as someone."""

from __future__ import annotations

import contextlib
import itertools
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pyotp
from argon2 import PasswordHasher
from sqlalchemy.ext.asyncio import AsyncSession

from api.app import create_app
from lending import crypto
from lending.config import Settings
from lending.db import SessionMaker
from lending.identity.actor import Actor
from lending.identity.repository import OrganizationRepository
from lending.identity.rules import totp_associated_data
from lending.identity.sessions import token_service
from lending.identity.tokens import digest, new_invitation_code, new_referral_code
from lending.kv import Store
from lending.models.identity import (
    Invitation,
    Organization,
    OrganizationKind,
    OrganizationStatus,
    Role,
    TokenPurpose,
    User,
)

# Passes the password policy; every factory user has it unless told otherwise.
PASSWORD = "plum-orbit-velvet-42"
# Factory hashes are cheap (argon2 at its minimum cost): a login re-hashes them with the real
# settings, which is the production path for old hashes anyway.
_CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
_hashes: dict[str, str] = {}
_counter = itertools.count(1)


def cheap_hash(password: str) -> str:
    if password not in _hashes:
        _hashes[password] = _CHEAP.hash(password)
    return _hashes[password]


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_counter)}-{uuid.uuid4().hex[:6]}"


async def platform_organization(session: AsyncSession) -> Organization:
    return await OrganizationRepository.from_session(session).get_platform()


async def create_organization(
    session: AsyncSession,
    *,
    name: str | None = None,
    slug: str | None = None,
    status: OrganizationStatus = OrganizationStatus.ACTIVE,
    mfa_required_roles: list[str] | None = None,
) -> Organization:
    """A broker firm."""
    slug = slug or unique("firm")
    organization = Organization(
        name=name or f"Firm {slug}",
        slug=slug,
        kind=OrganizationKind.BROKER_FIRM,
        licence_number="NMLS-" + slug[-6:],
        status=status,
        mfa_required_roles=mfa_required_roles,
    )
    session.add(organization)
    await session.flush()
    return organization


async def create_user(
    session: AsyncSession,
    *,
    organization: Organization | None = None,
    role: Role = Role.BORROWER,
    email: str | None = None,
    password: str = PASSWORD,
    full_name: str = "Test Person",
    is_active: bool = True,
    referred_by: User | None = None,
    mfa_secret: str | None = None,
    settings: Settings | None = None,
) -> User:
    """A user; in the platform organization unless given one. With `mfa_secret` (and the
    settings whose key encrypts it), TOTP is already on."""
    if organization is None:
        organization = await platform_organization(session)
    user = User(
        id=uuid.uuid4(),
        email=email or f"{unique(role.value)}@example.com",
        full_name=full_name,
        role=role,
        organization_id=organization.id,
        is_active=is_active,
        password_hash=cheap_hash(password),
        referred_by_user_id=referred_by.id if referred_by else None,
        referral_code=new_referral_code() if role in (Role.BROKER, Role.BROKER_MANAGER) else None,
    )
    session.add(user)
    if mfa_secret is not None:
        assert settings is not None, "the settings' key encrypts the TOTP secret"
        await turn_on_totp(session, user, settings=settings, secret=mfa_secret)
    await session.flush()
    return user


async def turn_on_totp(
    session: AsyncSession, user: User, *, settings: Settings, secret: str | None = None
) -> pyotp.TOTP:
    """Enrolled and confirmed, as if done through the API; the TOTP to make codes with."""
    secret = secret or pyotp.random_base32()
    user.mfa_secret_encrypted = crypto.encryptor(settings).encrypt(
        secret.encode(), totp_associated_data(user.id)
    )
    user.mfa_enabled_at = datetime.now(UTC)
    user.mfa_last_used_step = None
    await session.flush()
    return pyotp.TOTP(secret)


async def issue_token(
    session: AsyncSession,
    user: User,
    *,
    settings: Settings,
    purpose: TokenPurpose = TokenPurpose.ACCESS,
) -> str:
    issued = await token_service.issue(session, user, settings=settings, purpose=purpose)
    return issued.token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def actor_of(user: User) -> Actor:
    return Actor.for_user(user.id, user.role, user.organization_id)


async def create_invitation(
    session: AsyncSession,
    *,
    organization: Organization,
    role: Role = Role.BORROWER,
    created_by: User | None = None,
    email: str | None = None,
    expires_in: timedelta = timedelta(days=7),
) -> tuple[Invitation, str]:
    """An invitation and its code."""
    code = new_invitation_code()
    invitation = Invitation(
        id=uuid.uuid4(),
        organization_id=organization.id,
        role=role,
        email=email,
        code_hash=digest(code),
        created_by_user_id=created_by.id if created_by else None,
        created_at=datetime.now(UTC),
        expires_at=datetime.now(UTC) + expires_in,
    )
    session.add(invitation)
    await session.flush()
    return invitation, code


@contextlib.asynccontextmanager
async def api_client(
    settings: Settings, sessionmaker: SessionMaker, store: Store
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with these settings and this store, on the test's transaction."""
    app = create_app(settings, sessionmaker=sessionmaker, store=store)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as http,
    ):
        yield http


@contextlib.asynccontextmanager
async def api_clients(
    settings: Settings, sessionmaker: SessionMaker, store: Store, *ips: str
) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    """One app, and a client for each address (as the app sees the peer), by address."""
    app = create_app(settings, sessionmaker=sessionmaker, store=store)
    async with app.router.lifespan_context(app), contextlib.AsyncExitStack() as stack:
        clients: dict[str, httpx.AsyncClient] = {}
        for ip in ips:
            transport = httpx.ASGITransport(app=app, client=(ip, 40_000))
            clients[ip] = await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url="http://testserver")
            )
        yield clients
