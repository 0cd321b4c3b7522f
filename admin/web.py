"""What every back-office page shares: the app's backing services, the request's unit of work,
the signed-in staff member (session cookie + CSRF), rendering, and the errors pages show."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Protocol
from urllib.parse import quote

import jinja2
from fastapi import Depends, Request
from jinja2_fragments import render_block
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse

from admin.sections import BY_KEY, STAFF_ROLES, Section, sections_for
from lending.audit.schemas import Origin
from lending.config import Settings
from lending.db import SessionMaker
from lending.errors import NotAuthenticated, OmnifinError, PermissionDenied
from lending.identity.actor import Actor
from lending.identity.sessions import token_service
from lending.identity.users import user_service
from lending.kv import Store
from lending.models.identity import TokenPurpose

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"

SESSION_COOKIE = "omnifin_admin"
LOGIN_COOKIE = "omnifin_admin_login"  # the signed-out form's CSRF secret
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
COOKIE_PATH = "/admin"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


class Backing(Protocol):
    """What the back office needs from the host app (the API's AppState satisfies it)."""

    settings: Settings
    sessionmaker: SessionMaker | None
    store: Store | None


class SignInRequired(Exception):
    """No live back-office session: the page sends the browser to the sign-in form."""


class CsrfRefused(PermissionDenied):
    message = "This form has expired or did not come from this site: reload the page and try again."


class NotStaff(PermissionDenied):
    message = "The back office is for platform administrators and prompt engineers."


def backing(request: Request) -> Backing:
    found: Backing = request.app.state.backing
    return found


def store_of(request: Request) -> Store:
    store = backing(request).store
    assert store is not None, "lifespan not started"
    return store


def settings_of(request: Request) -> Settings:
    return backing(request).settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: pages and actions never commit; this commits once the
    handler returned (a handler that shows a refusal rolls back first)."""
    maker = backing(request).sessionmaker
    assert maker is not None, "lifespan not started"
    async with maker() as session:
        try:
            yield session
        except Exception:
            await session.rollback()
            raise
        else:
            await session.commit()


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


def origin_of(request: Request) -> Origin:
    user_agent = request.headers.get("user-agent")
    request_id = request.scope.get("state", {}).get("request_id")
    return Origin(
        ip=request.client.host if request.client else None,
        request_id=str(request_id) if request_id else None,
        user_agent=user_agent[:200] if user_agent else None,
        channel="admin",
    )


OriginDep = Annotated[Origin, Depends(origin_of)]


def _mac(settings: Settings, purpose: str, value: str) -> str:
    key = settings.secret("secret_key").get_secret_value().encode()
    return hmac.new(key, f"omnifin-admin/{purpose}/{value}".encode(), hashlib.sha256).hexdigest()


def session_csrf_token(settings: Settings, session_token: str) -> str:
    """The CSRF token of a signed-in session: bound to its cookie, useless without it."""
    return _mac(settings, "csrf", session_token)


def login_csrf_token(settings: Settings, login_secret: str) -> str:
    return _mac(settings, "login-csrf", login_secret)


def new_login_secret() -> str:
    return secrets.token_urlsafe(24)


def cookie_is_secure(request: Request) -> bool:
    """Secure behind TLS (the proxy's X-Forwarded-Proto becomes the scheme) and always in
    production; plain http on a developer's 127.0.0.1 would otherwise drop the cookie."""
    return request.url.scheme == "https" or settings_of(request).environment == "production"


async def submitted_csrf(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


@dataclass(frozen=True)
class Staff:
    """The signed-in staff member of this request."""

    actor: Actor
    name: str
    email: str
    csrf_token: str
    sections: tuple[Section, ...]

    def may_open(self, key: str) -> bool:
        return BY_KEY[key] in self.sections


async def current_staff(request: Request, session: SessionDep) -> Staff:
    """The staff member whose session cookie this request carries; every unsafe method must
    also carry the session's CSRF token (form field or X-CSRF-Token header)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise SignInRequired()
    host = backing(request)
    assert host.store is not None, "lifespan not started"
    try:
        actor = await token_service.authenticate(
            session, store=host.store, settings=host.settings, token=token
        )
    except NotAuthenticated:
        raise SignInRequired() from None
    if actor.purpose is not TokenPurpose.ACCESS or actor.role not in STAFF_ROLES:
        raise SignInRequired()
    user = await user_service.own(session, actor)
    csrf = session_csrf_token(host.settings, token)
    if request.method not in _SAFE_METHODS:
        sent = await submitted_csrf(request)
        if sent is None or not hmac.compare_digest(sent, csrf):
            raise CsrfRefused()
    return Staff(actor, user.full_name, user.email, csrf, sections_for(actor.role))


StaffDep = Annotated[Staff, Depends(current_staff)]


def require_section(key: str) -> Any:
    """A router dependency: the section's roles only (anyone else gets the 403 page)."""

    async def check(staff: StaffDep) -> Staff:
        if not staff.may_open(key):
            raise PermissionDenied(f"Your role ({staff.actor.role.value}) cannot open this page.")
        return staff

    return Depends(check)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    status_code: int = 200,
    block: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """A page, or only `block` of it when htmx asked for that block's element (its id is the
    block's name) - the list's results when a filter changes, for instance."""
    values = {"request": request, **context}
    target = request.headers.get("hx-target")
    if block is not None and is_htmx(request) and target == block:
        html = render_block(templates, template, block, values)
    else:
        html = templates.get_template(template).render(values)
    return HTMLResponse(html, status_code=status_code, headers=dict(headers or {}))


def sign_in_url(request: Request) -> str:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    return "/admin/login?next=" + quote(target, safe="")


def error_message(error: OmnifinError) -> str:
    """What a refusal says on a page: the service's own words (field errors joined)."""
    detail = error.detail
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                where = ".".join(str(p) for p in item.get("loc", []) if p != "body")
                parts.append(f"{where}: {item.get('msg')}" if where else str(item.get("msg")))
            else:
                parts.append(str(item))
        return "; ".join(parts)
    if isinstance(detail, dict) and isinstance(detail.get("message"), str):
        return str(detail["message"])
    return error.message


async def refused_page(
    session: AsyncSession,
    refused: OmnifinError,
    page: Callable[..., Awaitable[HTMLResponse]],
    *args: Any,
    **kwargs: Any,
) -> HTMLResponse:
    """A form the service refused: the transaction rolled back, then `page(*args, **kwargs)`
    shown again with the refusal's words (`error=`) and its status code (`status_code=`)."""
    await session.rollback()
    return await page(
        *args, error=error_message(refused), status_code=refused.status_code, **kwargs
    )
