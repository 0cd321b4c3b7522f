"""The back-office sub-application: sign-in and sign-out, the pages, static assets, error pages."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import FastAPI, Form, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from admin.pages import (
    applications,
    audit,
    commission_rules,
    commissions,
    conversations,
    dashboard,
    documents,
    evals,
    experiments,
    firms,
    funded_loans,
    invitations,
    knowledge,
    lenders,
    mfa_resets,
    people,
    privacy,
    prompts,
    reconciliation,
    voice,
)
from admin.sections import MFA_ROLES, STAFF_ROLES
from admin.web import (
    COOKIE_PATH,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    STATIC_DIR,
    Backing,
    OriginDep,
    SessionDep,
    SignInRequired,
    StaffDep,
    cookie_is_secure,
    error_message,
    is_htmx,
    login_csrf_token,
    new_login_secret,
    render,
    settings_of,
    sign_in_url,
    store_of,
)
from lending.errors import OmnifinError
from lending.identity.errors import LoginFailed, OtpRequired, TooManyLoginAttempts
from lending.identity.sessions import token_service
from lending.identity.sign_in import sign_in_service
from lending.identity.users import user_service
from lending.models.identity import TokenPurpose

_SECURITY_HEADERS = {
    # Everything is served from here; htmx needs no eval. Frames: none.
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def create_admin_app(host: Backing) -> FastAPI:
    """The back office, reading the host app's settings, sessions and store (set in its
    lifespan, so read on each request)."""
    app = FastAPI(title="Omnifin back office", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.backing = host
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.middleware("http")
    async def security_headers(request: Request, call_next: object) -> Response:
        response: Response = await call_next(request)  # type: ignore[operator]
        if not request.url.path.startswith("/admin/static/"):
            for name, value in _SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
        return response

    @app.get("/", include_in_schema=False)
    async def home(staff: StaffDep) -> RedirectResponse:
        return RedirectResponse(staff.sections[0].path, status_code=303)

    @app.get("/login", include_in_schema=False)
    async def login_form(request: Request) -> Response:
        return _login_page(request)

    @app.post("/login", include_in_schema=False)
    async def login(
        request: Request,
        session: SessionDep,
        origin: OriginDep,
        email: Annotated[str, Form(max_length=320)],
        password: Annotated[str, Form(max_length=4096)],
        csrf_token: Annotated[str, Form(max_length=200)] = "",
        otp: Annotated[str, Form(max_length=64)] = "",
        next_path: Annotated[str, Form(alias="next", max_length=2000)] = "",
    ) -> Response:
        settings = settings_of(request)
        secret = request.cookies.get(LOGIN_COOKIE, "")
        expected = login_csrf_token(settings, secret) if secret else ""
        if not secret or not hmac.compare_digest(csrf_token, expected):
            return _login_page(
                request,
                error="This form has expired: please sign in again.",
                status_code=403,
                email=email,
            )
        try:
            issued = await sign_in_service.login(
                session,
                store=store_of(request),
                settings=settings,
                email=email,
                password=password,
                otp=otp.strip() or None,
                origin=origin,
            )
        except OtpRequired:
            return _login_page(
                request,
                error="Enter the six-digit code from your authenticator app.",
                status_code=401,
                email=email,
                next_path=next_path,
            )
        except TooManyLoginAttempts as refused:
            await session.commit()
            return _login_page(request, error=error_message(refused), status_code=429, email=email)
        except LoginFailed as refused:
            await session.commit()  # the refusal's audit event outlives the refused request
            return _login_page(request, error=error_message(refused), status_code=401, email=email)
        token = issued.access_token
        actor = await token_service.authenticate(
            session, store=store_of(request), settings=settings, token=token
        )
        user = await user_service.own(session, actor)
        refusal = None
        if actor.role not in STAFF_ROLES:
            refusal = "The back office is for platform administrators and prompt engineers."
        elif actor.purpose is not TokenPurpose.ACCESS or (
            actor.role in MFA_ROLES and not user.mfa_enabled
        ):
            refusal = (
                "Your role must use two-factor authentication: turn it on in the web app "
                "(My account, Security), then sign in here with a code."
            )
        if refusal is not None:
            await token_service.logout(session, actor, store=store_of(request), origin=origin)
            return _login_page(request, error=refusal, status_code=403, email=email)
        response = RedirectResponse(_safe_next(next_path), status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=settings.access_token_ttl_seconds,
            path=COOKIE_PATH,
            secure=cookie_is_secure(request),
            httponly=True,
            samesite="strict",
        )
        response.delete_cookie(LOGIN_COOKIE, path=COOKIE_PATH)
        return response

    @app.post("/logout", include_in_schema=False)
    async def logout(
        request: Request, staff: StaffDep, session: SessionDep, origin: OriginDep
    ) -> Response:
        await token_service.logout(session, staff.actor, store=store_of(request), origin=origin)
        response = RedirectResponse("/admin/login?signed_out=1", status_code=303)
        response.delete_cookie(
            SESSION_COOKIE,
            path=COOKIE_PATH,
            secure=cookie_is_secure(request),
            httponly=True,
            samesite="strict",
        )
        return response

    for module in (
        dashboard,
        applications,
        documents,
        commissions,
        commission_rules,
        funded_loans,
        reconciliation,
        lenders,
        people,
        firms,
        invitations,
        mfa_resets,
        privacy,
        audit,
        prompts,
        experiments,
        evals,
        conversations,
        knowledge,
        voice,
    ):
        app.include_router(module.router)

    @app.exception_handler(SignInRequired)
    async def sign_in_required(request: Request, exc: Exception) -> Response:
        if is_htmx(request):
            return Response(status_code=401, headers={"HX-Redirect": sign_in_url(request)})
        return RedirectResponse(sign_in_url(request), status_code=303)

    @app.exception_handler(OmnifinError)
    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, OmnifinError)
        return _error_page(request, exc.status_code, error_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return _error_page(request, exc.status_code, str(exc.detail))

    return app


def _error_page(request: Request, status_code: int, message: str) -> Response:
    titles = {403: "Not allowed", 404: "Not found", 409: "Not possible now", 422: "Not valid"}
    return render(
        request,
        "error.html",
        {
            "title": titles.get(status_code, "Something went wrong"),
            "status_code": status_code,
            "message": message,
        },
        status_code=status_code,
    )


def _login_page(
    request: Request,
    *,
    error: str | None = None,
    status_code: int = 200,
    email: str = "",
    next_path: str | None = None,
) -> Response:
    secret = new_login_secret()
    response = render(
        request,
        "login.html",
        {
            "error": error,
            "email": email,
            "signed_out": request.query_params.get("signed_out") == "1",
            "next": _safe_next(next_path or request.query_params.get("next", "")),
            "csrf_token": login_csrf_token(settings_of(request), secret),
        },
        status_code=status_code,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        secret,
        max_age=3600,
        path=COOKIE_PATH,
        secure=cookie_is_secure(request),
        httponly=True,
        samesite="strict",
    )
    return response


def _safe_next(target: str) -> str:
    """Only a back-office path of this site (never another host) after signing in."""
    if target.startswith("/admin/") and not target.startswith("/admin//") and "\\" not in target:
        return target
    return "/admin/"
