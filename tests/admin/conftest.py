"""The back office over HTTP: an app on the test's transaction, and signing staff in through
the real sign-in form (cookie, CSRF token and all)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pyotp
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from api.app import create_app
from lending.config import Settings
from lending.db import SessionMaker
from lending.kv import MemoryStore
from lending.models.identity import Role, User
from tests.identity.factories import PASSWORD, create_user

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = _CSRF.search(html)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


@dataclass
class Signed:
    """A staff member's browser: the client with the session cookie, and their CSRF token."""

    http: httpx.AsyncClient
    user: User
    csrf: str

    async def post(self, path: str, data: dict[str, str] | None = None) -> httpx.Response:
        return await self.http.post(path, data={"csrf_token": self.csrf, **(data or {})})


@pytest.fixture
async def admin_app(
    settings: Settings, sessionmaker: SessionMaker, memory_store: MemoryStore
) -> AsyncIterator[httpx.ASGITransport]:
    app = create_app(settings, sessionmaker=sessionmaker, store=memory_store)
    async with app.router.lifespan_context(app):
        yield httpx.ASGITransport(app=app)


def browser(
    transport: httpx.ASGITransport, base_url: str = "http://testserver"
) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=transport, base_url=base_url)


async def create_staff(
    session: AsyncSession, settings: Settings, role: Role = Role.PLATFORM_ADMIN
) -> tuple[User, pyotp.TOTP]:
    secret = pyotp.random_base32()
    user = await create_user(
        session, role=role, mfa_secret=secret, settings=settings, full_name=f"Staff {role.value}"
    )
    return user, pyotp.TOTP(secret)


async def sign_in(
    http: httpx.AsyncClient, user: User, totp: pyotp.TOTP | None, password: str = PASSWORD
) -> httpx.Response:
    form = await http.get("/admin/login")
    assert form.status_code == 200
    data = {"email": user.email, "password": password, "csrf_token": csrf_of(form.text)}
    if totp is not None:
        data["otp"] = totp.now()
    return await http.post("/admin/login", data=data)


async def signed_in(
    transport: httpx.ASGITransport, session: AsyncSession, settings: Settings, role: Role
) -> Signed:
    user, totp = await create_staff(session, settings, role)
    http = browser(transport)
    answer = await sign_in(http, user, totp)
    assert answer.status_code == 303, answer.text
    home = await http.get("/admin/", follow_redirects=True)
    assert home.status_code == 200, home.text
    return Signed(http, user, csrf_of(home.text))
