"""The authorization matrix: every API route × every role × the caller's own firm / another firm.

Each route has one entry in MATRIX: how to call it (`build`) and the status each caller must get
for a target in their own organization and in another firm. `test_every_api_route_is_in_the_matrix`
fails as soon as a route exists without an entry (or an entry outlives its route), so nothing is
added without its authorization being designed and checked.

Adding a route:
1. Write `async def build(w: World, who: Who, where: Where) -> Call` returning the request: use
   `w.user(who)` for the caller, `w.org(who, where)` / `w.target_user(who, where)` for a target in
   the caller's own organization ("own") or in the other firm ("other"), and create any row the
   call needs with the factories in tests/identity/factories.py (`w.session`, `w.settings`).
   `Call.token` defaults to the caller's token (None for "anonymous").
2. Add `(METHOD, "/path/{template}"): Entry(build, expected)` to MATRIX, where `expected` maps
   each caller to (own status, other status); the helpers `everyone(...)`, `only(...)` and
   `scoped(...)` write the common shapes. A route without a target (`targeted=False`) is called
   once and its two statuses are equal.
Designed rules: no token → 401; an enrolment-only token (staff who must still enrol MFA) → 403
outside the MFA endpoints; a role without the scope → 403 whatever the target; a target the
caller may not see → 404, exactly as if it did not exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

import httpx
import pyotp
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.app import create_app
from knowledge.ingest import knowledge_ingest_service
from knowledge.ingestion import SourceFile
from knowledge.schemas import IngestOptions
from lending.config import Settings
from lending.identity.second_factor import mfa_service
from lending.identity.tokens import digest
from lending.kv import MemoryStore, Store
from lending.lenders.repository import LenderRepository
from lending.models.chat import ChatRun, ChatThread
from lending.models.documents import DocumentStatus
from lending.models.identity import AccessToken, Organization, Role, TokenPurpose, User
from tests.agents.prompts.factories import GREETING, create_experiment, create_prompt
from tests.api import commissions_world as cw
from tests.api.lending_world import (
    borrower_of,
    firm_offer,
    prequalified_application,
    submitted_application,
)
from tests.documents.factories import create_document
from tests.documents.files import pdf_bytes
from tests.identity.factories import (
    PASSWORD,
    actor_of,
    create_invitation,
    create_organization,
    create_user,
    issue_token,
    platform_organization,
    turn_on_totp,
    unique,
)
from tests.lending.factories import create_application, create_catalog
from tools.approvals import Confirmation, approval_service
from tools.registry import fingerprint, registry

Who = Literal[
    "borrower",
    "broker",
    "broker_manager",
    "platform_admin",
    "prompt_engineer",
    "mfa_pending",  # a platform admin holding an enrolment-only token
    "anonymous",
]
Where = Literal["own", "other"]
WHO: tuple[Who, ...] = (
    "borrower",
    "broker",
    "broker_manager",
    "platform_admin",
    "prompt_engineer",
    "mfa_pending",
    "anonymous",
)
# Operations endpoints (/healthz, /readyz, /metrics) are public and outside these prefixes.
MATRIX_PREFIXES = ("/api/", "/v1/")
_DEFAULT = object()


@dataclass
class Call:
    method: str
    path: str
    json: Any = None
    params: dict[str, str] | None = None
    token: Any = _DEFAULT  # _DEFAULT: the caller's own token
    files: Any = None  # multipart uploads


@dataclass
class World:
    """Two broker firms and the platform, with one user (and token) per role in each."""

    session: AsyncSession
    settings: Settings
    platform: Organization
    own_firm: Organization
    other_firm: Organization
    users: dict[tuple[str, str], User] = field(default_factory=dict)
    tokens: dict[uuid.UUID, str] = field(default_factory=dict)
    store: Store | None = None  # the app's store (approvals asked for on the web live there)

    def home(self, who: Who) -> Organization:
        in_platform = who in ("platform_admin", "prompt_engineer", "mfa_pending")
        return self.platform if in_platform else self.own_firm

    def user(self, who: Who) -> User:
        return self.users[("home", "anonymous" if who == "anonymous" else who)]

    def token(self, who: Who) -> str | None:
        return None if who == "anonymous" else self.tokens[self.user(who).id]

    def org(self, who: Who, where: Where) -> Organization:
        return self.home(who) if where == "own" else self.other_firm

    def target_user(self, who: Who, where: Where) -> User:
        """A borrower in the caller's own organization, or one in the other firm."""
        if where == "other":
            return self.users[("other", "borrower")]
        return self.users[("platform" if self.home(who) is self.platform else "home", "borrower")]

    async def fresh_token(self, who: Who) -> str | None:
        if who == "anonymous":
            return None
        user = self.user(who)
        purpose = TokenPurpose.MFA_ENROLLMENT if who == "mfa_pending" else TokenPurpose.ACCESS
        return await issue_token(self.session, user, settings=self.settings, purpose=purpose)

    async def enable_mfa(self, who: Who) -> pyotp.TOTP:
        """Turn TOTP on for the caller (anonymous: someone); the TOTP to make codes with."""
        user = self.user("borrower" if who == "anonymous" else who)
        return await turn_on_totp(self.session, user, settings=self.settings)


async def build_world(session: AsyncSession, settings: Settings) -> World:
    world = World(
        session=session,
        settings=settings,
        platform=await platform_organization(session),
        own_firm=await create_organization(session, name="Own Firm"),
        other_firm=await create_organization(session, name="Other Firm"),
    )
    firm_roles = (Role.BROKER_MANAGER, Role.BROKER, Role.BORROWER)
    for role in firm_roles:
        world.users[("home", role.value)] = await create_user(
            session, organization=world.own_firm, role=role
        )
        world.users[("other", role.value)] = await create_user(
            session, organization=world.other_firm, role=role
        )
    for key, role in (
        ("platform_admin", Role.PLATFORM_ADMIN),
        ("prompt_engineer", Role.PROMPT_ENGINEER),
        ("mfa_pending", Role.PLATFORM_ADMIN),
    ):
        world.users[("home", key)] = await create_user(session, role=role)
    world.users[("platform", "borrower")] = await create_user(session)
    for (_, who), user in world.users.items():
        purpose = TokenPurpose.MFA_ENROLLMENT if who == "mfa_pending" else TokenPurpose.ACCESS
        world.tokens[user.id] = await issue_token(session, user, settings=settings, purpose=purpose)
    return world


Build = Callable[[World, Who, Where], Awaitable[Call]]
Expected = Mapping[Who, tuple[int, int]]


@dataclass(frozen=True)
class Entry:
    build: Build
    expected: Expected
    targeted: bool = True


def everyone(status: int, *, mfa_pending: int = 403, anonymous: int = 401) -> Expected:
    """Every signed-in role gets `status` (self-service routes)."""
    table: dict[Who, tuple[int, int]] = {who: (status, status) for who in WHO}
    table["mfa_pending"] = (mfa_pending, mfa_pending)
    table["anonymous"] = (anonymous, anonymous)
    return table


def only(allowed: Mapping[Who, tuple[int, int]]) -> Expected:
    """The given roles get their statuses; every other signed-in role 403, anonymous 401."""
    table: dict[Who, tuple[int, int]] = {who: (403, 403) for who in WHO}
    table["anonymous"] = (401, 401)
    table.update(allowed)
    return table


def scoped(status: int) -> Expected:
    """Firm-scoped administration: the admin everywhere, a manager in their own firm only."""
    return only({"platform_admin": (status, status), "broker_manager": (status, 404)})


def _call(method: str, path: str, **kwargs: Any) -> Build:
    async def build(w: World, who: Who, where: Where) -> Call:
        return Call(method, path, **kwargs)

    return build


async def _erasure_review(w: World, who: Who, where: Where) -> Call:
    """A pending erasure of a borrower, asked by an administrator other than any caller."""
    from lending.privacy.repository import PrivacyRepository
    from lending.privacy.schemas import ErasureRequestCreate
    from lending.privacy.service import privacy_service

    target = w.target_user(who, where)
    # One pending request per person: callers before this one may have left it pending.
    request = await PrivacyRepository.from_session(w.session).pending_for(target.id)
    if request is None:
        asker = await create_user(w.session, role=Role.PLATFORM_ADMIN)
        request = await privacy_service.request_erasure(
            w.session,
            actor_of(asker),
            data=ErasureRequestCreate(user_id=target.id, reason="matrix"),
        )
    return Call(
        "POST",
        f"/api/v1/privacy/erasure-requests/{request.id}/review",
        json={"approve": False, "note": "matrix"},
    )


async def _person_export(w: World, who: Who, where: Where) -> Call:
    return Call("GET", f"/api/v1/privacy/export/{w.target_user(who, where).id}")


# Builders of the routes that need one.

_ANALYTICS_RANGE = {"date_from": "2026-11-01", "date_to": "2026-12-31"}


async def _token(w: World, who: Who, where: Where) -> Call:
    email = "nobody@example.com" if who == "anonymous" else w.user(who).email
    return Call("POST", "/api/v1/auth/token", json={"email": email, "password": PASSWORD})


async def _register(w: World, who: Who, where: Where) -> Call:
    body = {"email": f"{unique('reg')}@example.com", "password": PASSWORD, "full_name": "Reg"}
    return Call("POST", "/api/v1/auth/register", json=body)


async def _logout(w: World, who: Who, where: Where) -> Call:
    return Call("POST", "/api/v1/auth/logout", token=await w.fresh_token(who))


async def _password(w: World, who: Who, where: Where) -> Call:
    body = {"current_password": PASSWORD, "new_password": "quartz-meadow-lantern-9"}
    return Call("POST", "/api/v1/auth/password", json=body, token=await w.fresh_token(who))


async def _password_reset(w: World, who: Who, where: Where) -> Call:
    # One address per caller: the requests per address are throttled.
    email = "nobody@example.com" if who == "anonymous" else w.user(who).email
    return Call("POST", "/api/v1/auth/password-reset", json={"email": email})


async def _mfa_confirm(w: World, who: Who, where: Where) -> Call:
    code = "123456"
    if who != "anonymous":
        enrollment = await mfa_service.enroll(w.session, actor_of(w.user(who)), settings=w.settings)
        code = pyotp.TOTP(enrollment.secret).now()
    return Call("POST", "/api/v1/mfa/confirm", json={"code": code})


async def _mfa_disable(w: World, who: Who, where: Where) -> Call:
    totp = await w.enable_mfa(who)
    return Call("POST", "/api/v1/mfa/disable", json={"password": PASSWORD, "code": totp.now()})


async def _mfa_recovery(w: World, who: Who, where: Where) -> Call:
    totp = await w.enable_mfa(who)
    return Call("POST", "/api/v1/mfa/recovery-codes", json={"code": totp.now()})


async def _create_org(w: World, who: Who, where: Where) -> Call:
    return Call("POST", "/api/v1/organizations", json={"name": "New Firm", "slug": unique("new")})


async def _read_org(w: World, who: Who, where: Where) -> Call:
    return Call("GET", f"/api/v1/organizations/{w.org(who, where).id}")


async def _update_org(w: World, who: Who, where: Where) -> Call:
    organization = w.org(who, where)
    return Call("PATCH", f"/api/v1/organizations/{organization.id}", json={"name": "Renamed"})


async def _list_invitations(w: World, who: Who, where: Where) -> Call:
    params = {"organization_id": str(w.org(who, where).id)}
    return Call("GET", "/api/v1/invitations", params=params)


async def _create_invitation(w: World, who: Who, where: Where) -> Call:
    body = {"role": "borrower", "organization_id": str(w.org(who, where).id)}
    return Call("POST", "/api/v1/invitations", json=body)


async def _revoke_invitation(w: World, who: Who, where: Where) -> Call:
    invitation, _ = await create_invitation(w.session, organization=w.org(who, where))
    return Call("DELETE", f"/api/v1/invitations/{invitation.id}")


async def _list_users(w: World, who: Who, where: Where) -> Call:
    return Call("GET", "/api/v1/users", params={"organization_id": str(w.org(who, where).id)})


async def _read_user(w: World, who: Who, where: Where) -> Call:
    return Call("GET", f"/api/v1/users/{w.target_user(who, where).id}")


async def _update_user(w: World, who: Who, where: Where) -> Call:
    target = w.target_user(who, where)
    return Call("PATCH", f"/api/v1/users/{target.id}", json={"full_name": "Renamed Person"})


async def _unlock_user(w: World, who: Who, where: Where) -> Call:
    return Call("POST", f"/api/v1/users/{w.target_user(who, where).id}/sign-in-unlock")


async def _revoke_token(w: World, who: Who, where: Where) -> Call:
    """Own: another token of the caller's. Other: a token of a user in the other firm."""
    owner = w.user("borrower" if who == "anonymous" else who)
    if where == "other":
        owner = w.users[("other", "borrower")]
    token = await issue_token(w.session, owner, settings=w.settings)
    token_id = (
        await w.session.execute(
            select(AccessToken.id).where(AccessToken.token_hash == digest(token))
        )
    ).scalar_one()
    return Call("DELETE", f"/api/v1/tokens/{token_id}")


# Lending (applications, offers, lenders, profile). "Own" is a borrower the caller works with:
# themselves (a borrower), a client they referred (a broker), a borrower of their firm (a
# manager), a direct borrower (platform staff); "other" is a borrower of the other firm.


async def _lending_borrower(w: World, who: Who, where: Where) -> User:
    caller = None if who == "anonymous" else w.user(who)
    return await borrower_of(w.session, w.settings, caller, w.org(who, where))


async def _draft_path(w: World, who: Who, where: Where, suffix: str = "") -> str:
    application = await create_application(w.session, await _lending_borrower(w, who, where))
    return f"/api/v1/applications/{application.id}{suffix}"


async def _start_application(w: World, who: Who, where: Where) -> Call:
    borrower = await _lending_borrower(w, who, where)
    body: dict[str, Any] = {"product_type": "personal", "amount": "12000.00"}
    if who != "borrower" or where == "other":
        body["borrower_user_id"] = str(borrower.id)
    return Call("POST", "/api/v1/applications", json=body)


async def _read_application(w: World, who: Who, where: Where) -> Call:
    return Call("GET", await _draft_path(w, who, where))


async def _update_application(w: World, who: Who, where: Where) -> Call:
    return Call("PATCH", await _draft_path(w, who, where), json={"amount": "12500.00"})


async def _application_events(w: World, who: Who, where: Where) -> Call:
    return Call("GET", await _draft_path(w, who, where, "/events"))


async def _withdraw_application(w: World, who: Who, where: Where) -> Call:
    path = await _draft_path(w, who, where, "/withdraw")
    return Call("POST", path, json={"reason": "No longer needed."})


async def _submit_application(w: World, who: Who, where: Where) -> Call:
    borrower = await _lending_borrower(w, who, where)
    application, lender_id = await prequalified_application(w.session, borrower)
    path = f"/api/v1/applications/{application.id}/submit"
    return Call("POST", path, json={"lender_ids": [str(lender_id)]})


async def _transition_application(w: World, who: Who, where: Where) -> Call:
    borrower = await _lending_borrower(w, who, where)
    if who == "platform_admin":
        application, _ = await submitted_application(w.session, borrower)
    else:
        application = await create_application(w.session, borrower)
    body = {"to_status": "under_review", "reason": "Reviewing."}
    return Call("POST", f"/api/v1/applications/{application.id}/transitions", json=body)


async def _assign_broker(w: World, who: Who, where: Where) -> Call:
    firm, side = (w.own_firm, "home") if where == "own" else (w.other_firm, "other")
    caller = None if who == "anonymous" else w.user(who)
    application = await create_application(
        w.session, await borrower_of(w.session, w.settings, caller, firm)
    )
    body = {"broker_user_id": str(w.users[(side, "broker")].id)}
    return Call("POST", f"/api/v1/applications/{application.id}/broker", json=body)


async def _application_offers(w: World, who: Who, where: Where) -> Call:
    borrower = await _lending_borrower(w, who, where)
    application, _ = await prequalified_application(w.session, borrower)
    return Call("GET", f"/api/v1/applications/{application.id}/offers")


async def _lender_matches(w: World, who: Who, where: Where) -> Call:
    await create_catalog(w.session)
    return Call("GET", await _draft_path(w, who, where, "/lender-matches"))


async def _accept_offer(w: World, who: Who, where: Where) -> Call:
    offer_id = await firm_offer(w.session, await _lending_borrower(w, who, where))
    return Call("POST", f"/api/v1/offers/{offer_id}/accept", json={})


async def _ask_acceptance(w: World, who: Who, where: Where) -> Call:
    offer_id = await firm_offer(w.session, await _lending_borrower(w, who, where))
    return Call("POST", f"/api/v1/offers/{offer_id}/acceptance", json={})


async def _answer_acceptance(w: World, who: Who, where: Where) -> Call:
    """An approval the caller asked for (a borrower, of their own offer); for anyone else, the
    borrower's approval of the offer in question, which is not theirs to answer."""
    borrower = await _lending_borrower(w, who, where)
    offer_id = await firm_offer(w.session, borrower)
    arguments = {"offer_id": str(offer_id)}
    approval = await approval_service.ask(
        w.session,
        actor_of(borrower),
        tool_name="accept_offer",
        arguments_sha256=fingerprint(registry.get("accept_offer"), arguments, w.settings),
        arguments=arguments,
        confirmation=Confirmation(en="Accept the offer?", zh="接受报价吗？"),
        language="en",
        channel="web",
        ttl=timedelta(minutes=10),
    )
    approval_id = approval.id
    return Call(
        "POST", f"/api/v1/offers/{offer_id}/acceptance/{approval_id}", json={"approved": True}
    )


async def _read_lender(w: World, who: Who, where: Where) -> Call:
    lenders = await create_catalog(w.session)
    return Call("GET", f"/api/v1/lenders/{lenders['harbor-bank'].id}")


def _catalog_call(method: str, suffix: str, json: Any = None, *, product: bool = False) -> Build:
    """A catalog management call on the demo catalog's Harbor bank (or its personal loan)."""

    async def build(w: World, who: Who, where: Where) -> Call:
        lenders = await create_catalog(w.session)
        lender = lenders["harbor-bank"]
        if product:
            found = await LenderRepository.from_session(w.session).get_product_by_code(
                lender.id, "harbor-personal"
            )
            assert found is not None
            return Call(method, f"/api/v1/catalog/products/{found.id}{suffix}", json=json)
        return Call(method, f"/api/v1/catalog/lenders/{lender.id}{suffix}", json=json)

    return build


_NEW_PRODUCT = {
    "code": "harbor-matrix",
    "name": "Harbor Matrix Loan",
    "product_type": "personal",
    "min_amount": "1000.00",
    "max_amount": "9000.00",
    "min_term_months": 12,
    "max_term_months": 36,
    "rate_table": {"good": "9.5000"},
    "min_credit_band": "good",
    "max_dti": "40.0000",
}


async def _read_borrower_profile(w: World, who: Who, where: Where) -> Call:
    borrower = await _lending_borrower(w, who, where)
    return Call("GET", f"/api/v1/borrowers/{borrower.id}/profile")


async def _update_borrower_profile(w: World, who: Who, where: Where) -> Call:
    borrower = await _lending_borrower(w, who, where)
    body = {"phone": "+1 415 555 0100"}
    return Call("PATCH", f"/api/v1/borrowers/{borrower.id}/profile", json=body)


# The prompt registry is platform-wide (no firm owns a prompt): prompt engineers change it,
# platform admins read it, everyone else is refused for lack of the scope.


async def _prompt_path(suffix: str, w: World) -> str:
    prompt = await create_prompt(w.session, versions=[GREETING, GREETING])
    return f"/api/v1/prompts/{prompt.name}{suffix}"


def _on_prompt(method: str, suffix: str = "", **kwargs: Any) -> Build:
    async def build(w: World, who: Who, where: Where) -> Call:
        return Call(method, await _prompt_path(suffix, w), **kwargs)

    return build


async def _create_prompt(w: World, who: Who, where: Where) -> Call:
    body = {"name": f"test.{unique('m').replace('-', '_')}", "category": "greeting", "text": "Hi"}
    return Call("POST", "/api/v1/prompts", json=body)


def _on_experiment(action: str, method: str = "POST") -> Build:
    async def build(w: World, who: Who, where: Where) -> Call:
        prompt = await create_prompt(w.session, versions=[GREETING, GREETING])
        experiment = await create_experiment(w.session, prompt)
        path = f"/api/v1/prompts/{prompt.name}/experiments/{experiment.id}/{action}"
        return Call(method, path)

    return build


_PROMPT_READERS: dict[Who, tuple[int, int]] = {
    "platform_admin": (200, 200),
    "prompt_engineer": (200, 200),
}
_GREETING_VALUES = {"user_name": "Ana", "assistant_name": "Omni"}
_AB_ARMS = [{"version": 1, "weight": 50}, {"version": 2, "weight": 50}]


def reach(status: int) -> Expected:
    """Lending data: a borrower, a broker and a manager reach their own; the platform all."""
    return only(
        {
            "borrower": (status, 404),
            "broker": (status, 404),
            "broker_manager": (status, 404),
            "platform_admin": (status, status),
        }
    )


_APPLICANTS: dict[Who, tuple[int, int]] = {
    "borrower": (200, 200),
    "broker": (200, 200),
    "broker_manager": (200, 200),
    "platform_admin": (200, 200),
}


def _admin_only(status: int) -> dict[Who, tuple[int, int]]:
    """Platform administrators alone (managing the lender catalog)."""
    return {"platform_admin": (status, status)}


_CATALOG_READERS: dict[Who, tuple[int, int]] = {
    "broker": (200, 200),
    "broker_manager": (200, 200),
    "platform_admin": (200, 200),
    "prompt_engineer": (200, 200),
}
# /profile is one's own borrower profile: staff have none, and are told to name a borrower.
_OWN_PROFILE: dict[Who, tuple[int, int]] = {
    "borrower": (200, 200),
    "broker": (422, 422),
    "broker_manager": (422, 422),
    "platform_admin": (422, 422),
}
_PAYMENT = {"amount": "10000.00", "annual_rate": "7.5", "term_months": 36}


# The assistant: a thread is its owner's alone; anyone else's is "not found".
async def _thread_of(w: World, who: Who, where: Where) -> ChatThread:
    owner = w.user("borrower" if who == "anonymous" else who)
    if where == "other":
        owner = w.users[("other", "borrower")]
    graph = "borrower" if owner.role is Role.BORROWER else "broker"
    thread = ChatThread(
        id=uuid.uuid4(),
        user_id=owner.id,
        organization_id=owner.organization_id,
        graph=graph,
        channel="web",
    )
    w.session.add(thread)
    await w.session.flush()
    return thread


async def _voice_session(w: World, who: Who, where: Where) -> Call:
    thread = await _thread_of(w, who, where)
    return Call("POST", "/api/v1/voice/sessions", json={"thread_id": str(thread.id)})


def _on_thread(method: str, suffix: str = "", **kwargs: Any) -> Build:
    async def build(w: World, who: Who, where: Where) -> Call:
        thread = await _thread_of(w, who, where)
        return Call(method, f"/api/v1/chat/threads/{thread.id}{suffix}", **kwargs)

    return build


async def _feedback(w: World, who: Who, where: Where) -> Call:
    thread = await _thread_of(w, who, where)
    run = ChatRun(
        id=uuid.uuid4(),
        thread_id=thread.id,
        status="completed",
        mode="guided",
        input_tokens=0,
        output_tokens=0,
        cost=0,
        prompt_versions={},
    )
    w.session.add(run)
    await w.session.flush()
    return Call(
        "POST", f"/api/v1/chat/threads/{thread.id}/runs/{run.id}/feedback", json={"rating": 1}
    )


async def _completion(w: World, who: Who, where: Where) -> Call:
    model = "omnifin-borrower" if who in ("borrower", "anonymous") else "omnifin-broker"
    return Call(
        "POST",
        "/v1/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": "hello"}]},
    )


_CHAT_USERS: dict[Who, tuple[int, int]] = {
    who: (200, 404)
    for who in ("borrower", "broker", "broker_manager", "platform_admin", "prompt_engineer")
}


# The knowledge base: searched by everyone signed in, managed by admins and prompt engineers.
_KNOWLEDGE_MANAGERS: dict[Who, tuple[int, int]] = {
    "platform_admin": (200, 200),
    "prompt_engineer": (200, 200),
}
_MARKDOWN = b"# Matrix fees\n\nA late payment fee of $29 applies after 15 days."


def _upload() -> dict[str, Any]:
    return {"file": ("fees.md", _MARKDOWN, "text/markdown")}


async def _knowledge_entry(w: World) -> uuid.UUID:
    result = await knowledge_ingest_service.ingest(
        w.session,
        None,
        source=SourceFile(f"{uuid.uuid4().hex}.md", _MARKDOWN),
        options=IngestOptions(publish=True),
        settings=w.settings.model_copy(update={"knowledge_embedder": "fake"}),
    )
    return result.entry_id


def _on_entry(method: str, suffix: str = "", *, upload: bool = False, **kwargs: Any) -> Build:
    async def build(w: World, who: Who, where: Where) -> Call:
        entry_id = await _knowledge_entry(w)
        files = _upload() if upload else None
        return Call(method, f"/api/v1/knowledge/entries/{entry_id}{suffix}", files=files, **kwargs)

    return build


async def _upload_entry(w: World, who: Who, where: Where) -> Call:
    return Call("POST", "/api/v1/knowledge/entries", files=_upload())


# Documents: a document on an application of a borrower the caller works with ("own") or of
# the other firm; uploaded by that borrower.
_REVIEWERS: dict[Who, tuple[int, int]] = {
    "broker": (200, 404),
    "broker_manager": (200, 404),
    "platform_admin": (200, 200),
}
# Commissions: readers (broker own, manager firm, admin all); the rest is platform admins'.
_COMMISSION_READERS: dict[Who, tuple[int, int]] = {
    "broker": (200, 200),
    "broker_manager": (200, 200),
    "platform_admin": (200, 200),
}
_COMMISSION_REACH: dict[Who, tuple[int, int]] = {
    "broker": (200, 404),
    "broker_manager": (200, 404),
    "platform_admin": (200, 200),
}


async def _document_application(w: World, who: Who, where: Where) -> tuple[User, uuid.UUID]:
    borrower = await _lending_borrower(w, who, where)
    application = await create_application(w.session, borrower)
    return borrower, application.id


async def _upload_document(w: World, who: Who, where: Where) -> Call:
    _, application_id = await _document_application(w, who, where)
    return Call(
        "POST",
        "/api/v1/documents",
        params=None,
        files={
            "application_id": (None, str(application_id)),
            "file": ("stub.pdf", pdf_bytes(uuid.uuid4().hex), "application/pdf"),
        },
    )


async def _list_documents(w: World, who: Who, where: Where) -> Call:
    _, application_id = await _document_application(w, who, where)
    return Call("GET", "/api/v1/documents", params={"application_id": str(application_id)})


async def _application_documents(w: World, who: Who, where: Where) -> Call:
    _, application_id = await _document_application(w, who, where)
    return Call("GET", f"/api/v1/applications/{application_id}/documents")


async def _remind_documents(w: World, who: Who, where: Where) -> Call:
    _, application_id = await _document_application(w, who, where)
    return Call(
        "POST",
        f"/api/v1/applications/{application_id}/document-reminders",
        json={"document": "pay_stub"},
    )


def _on_document(method: str, suffix: str = "", *, review: bool = False, **kwargs: Any) -> Build:
    async def build(w: World, who: Who, where: Where) -> Call:
        borrower, application_id = await _document_application(w, who, where)
        status = DocumentStatus.NEEDS_REVIEW if review else None
        document_id = await create_document(
            w.session, w.settings, borrower, application_id, status=status
        )
        return Call(method, f"/api/v1/documents/{document_id}{suffix}", **kwargs)

    return build


async def _explanation(w: World, who: Who, where: Where) -> Call:
    entry = await cw.entry_id(w, who, where)
    return Call("GET", f"/api/v1/commissions/entries/{entry}/explanation")


async def _payee_statement(w: World, who: Who, where: Where) -> Call:
    payee = await cw.payee_id(w, who, where)
    return Call("GET", f"/api/v1/commissions/statements/payees/{payee}", params=cw.PERIOD)


async def _firm_statement(w: World, who: Who, where: Where) -> Call:
    org = w.org(who, where).id
    return Call("GET", f"/api/v1/commissions/statements/firms/{org}", params=cw.PERIOD)


_RULE = {
    "name": "Matrix rule",
    "effective_from": "2026-01-01",
    "upfront_percent": "0.5",
    "splits": {"broker": "100"},
}


async def _rule_version(w: World, who: Who, where: Where) -> Call:
    await cw.funded_loan(w, "platform_admin", "own")
    rule = w._commission_rule  # type: ignore[attr-defined]
    body = {"effective_from": "2026-06-01", "upfront_percent": "0.6", "splits": {"broker": "100"}}
    return Call("POST", f"/api/v1/commissions/rules/{rule.id}/versions", json=body)


async def _servicing_event(w: World, who: Who, where: Where) -> Call:
    loan = await cw.funded_loan(w, "platform_admin", "own")
    body = {"kind": "balance", "occurred_on": "2026-03-01", "outstanding_balance": "190000.00"}
    return Call("POST", f"/api/v1/commissions/loans/{loan.id}/events", json=body)


async def _adjustment(w: World, who: Who, where: Where) -> Call:
    body = {
        "payee_kind": "user",
        "payee_id": str(w.users[("home", "broker")].id),
        "party": "broker",
        "amount": "-10.00",
        "effective_on": "2026-03-01",
        "reason": "Matrix correction",
    }
    return Call("POST", "/api/v1/commissions/adjustments", json=body)


async def _reversal(w: World, who: Who, where: Where) -> Call:
    entry = await cw.entry_id(w, "platform_admin", "own")
    return Call("POST", f"/api/v1/commissions/entries/{entry}/reversal", json={"reason": "Matrix"})


async def _create_batch(w: World, who: Who, where: Where) -> Call:
    await cw.entry_id(w, "broker", "own")
    body = {"cutoff_on": "2026-12-31", "minimum_amount": "0"}
    return Call("POST", "/api/v1/commissions/batches", json=body)


def _on_batch(state: str, method: str, suffix: str = "", **kwargs: Any) -> Build:
    async def build(w: World, who: Who, where: Where) -> Call:
        batch, payee = await cw.batch_id(w, state)
        path = f"/api/v1/commissions/batches/{batch}{suffix}".replace("{payee}", payee)
        return Call(method, path, **kwargs)

    return build


async def _attach_document(w: World, who: Who, where: Where) -> Call:
    borrower, application_id = await _document_application(w, who, where)
    uploader = w.user(who) if who in _REVIEWERS or who == "borrower" else borrower
    document_id = await create_document(w.session, w.settings, uploader, None)
    body = {"application_id": str(application_id)}
    return Call("POST", f"/api/v1/documents/{document_id}/attach", json=body)


async def _import_statement(w: World, who: Who, where: Where) -> Call:
    lender = await cw.lender(w)
    return Call("POST", "/api/v1/commissions/reconciliations", json=cw.statement_body(lender.id))


async def _read_reconciliation(w: World, who: Who, where: Where) -> Call:
    statement, _ = await cw.reconciliation_id(w)
    return Call("GET", f"/api/v1/commissions/reconciliations/{statement}")


async def _resolve_line(w: World, who: Who, where: Where) -> Call:
    statement, line = await cw.reconciliation_id(w)
    return Call(
        "POST",
        f"/api/v1/commissions/reconciliations/{statement}/lines/{line}/resolution",
        json={"reason": "Checked with the lender"},
    )


MATRIX: dict[tuple[str, str], Entry] = {
    # Sign-in and registration: open to anyone; an enrolment-only token still signs in.
    ("POST", "/api/v1/auth/token"): Entry(
        _token, everyone(200, mfa_pending=200, anonymous=401), targeted=False
    ),
    ("POST", "/api/v1/auth/register"): Entry(
        _register, everyone(201, mfa_pending=201, anonymous=201), targeted=False
    ),
    ("POST", "/api/v1/auth/logout"): Entry(_logout, everyone(204, mfa_pending=204), targeted=False),
    ("POST", "/api/v1/auth/password"): Entry(_password, everyone(204), targeted=False),
    # Password reset and e-mail confirmation (issue 19): the link's token is the credential.
    ("POST", "/api/v1/auth/password-reset"): Entry(
        _password_reset, everyone(202, mfa_pending=202, anonymous=202), targeted=False
    ),
    ("POST", "/api/v1/auth/password-reset/confirm"): Entry(
        _call(
            "POST",
            "/api/v1/auth/password-reset/confirm",
            json={"token": "not-a-real-link", "new_password": "quartz-meadow-lantern-9"},
        ),
        everyone(422, mfa_pending=422, anonymous=422),
        targeted=False,
    ),
    ("POST", "/api/v1/auth/verify-email/confirm"): Entry(
        _call("POST", "/api/v1/auth/verify-email/confirm", json={"token": "not-a-real-link"}),
        everyone(422, mfa_pending=422, anonymous=422),
        targeted=False,
    ),
    # Every matrix user is confirmed already (made by a factory, not registration).
    ("POST", "/api/v1/auth/verify-email/resend"): Entry(
        _call("POST", "/api/v1/auth/verify-email/resend"), everyone(409), targeted=False
    ),
    # The dev mailbox exists only in development; the matrix runs in test.
    ("GET", "/api/v1/dev/mailbox"): Entry(
        _call("GET", "/api/v1/dev/mailbox"),
        everyone(404, mfa_pending=404, anonymous=404),
        targeted=False,
    ),
    # One's own notifications; another's (or none) is not found.
    ("GET", "/api/v1/notifications"): Entry(
        _call("GET", "/api/v1/notifications"), everyone(200), targeted=False
    ),
    ("GET", "/api/v1/notifications/stream"): Entry(
        _call("GET", "/api/v1/notifications/stream"), everyone(200), targeted=False
    ),
    ("POST", "/api/v1/notifications/read-all"): Entry(
        _call("POST", "/api/v1/notifications/read-all"), everyone(200), targeted=False
    ),
    ("POST", "/api/v1/notifications/{notification_id}/read"): Entry(
        _call("POST", f"/api/v1/notifications/{uuid.uuid4()}/read"), everyone(404), targeted=False
    ),
    # Preferences are one's own; essential mail cannot be turned off (422 for everyone).
    ("GET", "/api/v1/notifications/preferences"): Entry(
        _call("GET", "/api/v1/notifications/preferences"), everyone(200), targeted=False
    ),
    ("PATCH", "/api/v1/notifications/preferences/{kind}"): Entry(
        _call("PATCH", "/api/v1/notifications/preferences/account.security", json={"email": False}),
        everyone(422),
        targeted=False,
    ),
    # The unsubscribe link is its own credential (signed): no sign-in, a forged one refused.
    ("GET", "/api/v1/notifications/unsubscribe"): Entry(
        _call("GET", "/api/v1/notifications/unsubscribe?token=forged"),
        everyone(200, mfa_pending=200, anonymous=200),
        targeted=False,
    ),
    ("POST", "/api/v1/notifications/unsubscribe"): Entry(
        _call("POST", "/api/v1/notifications/unsubscribe?token=forged"),
        everyone(422, mfa_pending=422, anonymous=422),
        targeted=False,
    ),
    # An e-mail change needs the current password (a wrong one: 422 for everyone).
    ("POST", "/api/v1/auth/email-change"): Entry(
        _call(
            "POST",
            "/api/v1/auth/email-change",
            json={"new_email": "moved@example.com", "password": "not-the-password"},
        ),
        everyone(422),
        targeted=False,
    ),
    # One's own profile, MFA and tokens.
    ("GET", "/api/v1/me"): Entry(
        _call("GET", "/api/v1/me"), everyone(200, mfa_pending=200), targeted=False
    ),
    ("PATCH", "/api/v1/me"): Entry(
        _call("PATCH", "/api/v1/me", json={"full_name": "New Name"}), everyone(200), targeted=False
    ),
    ("GET", "/api/v1/me/referral"): Entry(
        _call("GET", "/api/v1/me/referral"),
        only({"broker": (200, 200), "broker_manager": (200, 200)}),
        targeted=False,
    ),
    ("POST", "/api/v1/me/referral/send"): Entry(
        _call("POST", "/api/v1/me/referral/send", json={"email": "prospect@example.com"}),
        only({"broker": (202, 202), "broker_manager": (202, 202)}),
        targeted=False,
    ),
    ("GET", "/api/v1/mfa"): Entry(
        _call("GET", "/api/v1/mfa"), everyone(200, mfa_pending=200), targeted=False
    ),
    ("POST", "/api/v1/mfa/enroll"): Entry(
        _call("POST", "/api/v1/mfa/enroll"), everyone(200, mfa_pending=200), targeted=False
    ),
    ("POST", "/api/v1/mfa/confirm"): Entry(
        _mfa_confirm, everyone(200, mfa_pending=200), targeted=False
    ),
    ("POST", "/api/v1/mfa/disable"): Entry(
        # Required for platform admins and prompt engineers: they cannot turn it off (409).
        _mfa_disable,
        {**everyone(204), "platform_admin": (409, 409), "prompt_engineer": (409, 409)},
        targeted=False,
    ),
    ("POST", "/api/v1/mfa/recovery-codes"): Entry(_mfa_recovery, everyone(200), targeted=False),
    ("GET", "/api/v1/tokens"): Entry(_call("GET", "/api/v1/tokens"), everyone(200), targeted=False),
    ("DELETE", "/api/v1/tokens/{token_id}"): Entry(
        _revoke_token,
        {**{who: (204, 404) for who in WHO}, "mfa_pending": (403, 403), "anonymous": (401, 401)},
    ),
    # Organizations: everyone sees their own; only platform admins see others or change any.
    ("GET", "/api/v1/organizations"): Entry(
        _call("GET", "/api/v1/organizations"), everyone(200), targeted=False
    ),
    ("POST", "/api/v1/organizations"): Entry(
        _create_org, only({"platform_admin": (201, 201)}), targeted=False
    ),
    ("GET", "/api/v1/organizations/{organization_id}"): Entry(
        _read_org,
        {
            **{who: (200, 404) for who in WHO},
            "platform_admin": (200, 200),
            "mfa_pending": (403, 403),
            "anonymous": (401, 401),
        },
    ),
    ("PATCH", "/api/v1/organizations/{organization_id}"): Entry(
        _update_org, only({"platform_admin": (200, 200)})
    ),
    # Users and invitations: a manager in their firm, a platform admin everywhere.
    ("GET", "/api/v1/invitations"): Entry(_list_invitations, scoped(200)),
    ("POST", "/api/v1/invitations"): Entry(_create_invitation, scoped(201)),
    ("DELETE", "/api/v1/invitations/{invitation_id}"): Entry(_revoke_invitation, scoped(204)),
    ("GET", "/api/v1/users"): Entry(_list_users, scoped(200)),
    ("GET", "/api/v1/users/{user_id}"): Entry(_read_user, scoped(200)),
    ("PATCH", "/api/v1/users/{user_id}"): Entry(_update_user, scoped(200)),
    ("POST", "/api/v1/users/{user_id}/sign-in-unlock"): Entry(
        _unlock_user, only({"platform_admin": (204, 204)})
    ),
    # The audit log: platform admins only.
    ("GET", "/api/v1/audit/events"): Entry(
        _call("GET", "/api/v1/audit/events"), only({"platform_admin": (200, 200)}), targeted=False
    ),
    # A person's rights: everyone their own; staff for a person (issue 22).
    ("GET", "/api/v1/privacy/export"): Entry(
        _call("GET", "/api/v1/privacy/export"), everyone(200), targeted=False
    ),
    ("GET", "/api/v1/privacy/export/{user_id}"): Entry(
        # A borrower's "own" target is themselves: their own export by id.
        _person_export,
        only({"platform_admin": (200, 200), "borrower": (200, 403)}),
    ),
    ("POST", "/api/v1/privacy/erasure-requests"): Entry(
        _call("POST", "/api/v1/privacy/erasure-requests", json={"reason": "forget me"}),
        everyone(201),
        targeted=False,
    ),
    ("GET", "/api/v1/privacy/erasure-requests"): Entry(
        _call("GET", "/api/v1/privacy/erasure-requests"), everyone(200), targeted=False
    ),
    ("POST", "/api/v1/privacy/erasure-requests/{request_id}/review"): Entry(
        _erasure_review, only({"platform_admin": (200, 200)})
    ),
    ("GET", "/api/v1/audit/verify"): Entry(
        _call("GET", "/api/v1/audit/verify"), only({"platform_admin": (200, 200)}), targeted=False
    ),
    # Analytics (issue 20): the platform's admins, and broker managers (their firm's rows only,
    # whatever organization they name: tests/observability/test_analytics.py); brokers their
    # own applications' funnel, drop-off, step times and intake, not the firm-wide views.
    **{
        ("GET", f"/api/v1/analytics/{name}"): Entry(
            _call("GET", f"/api/v1/analytics/{name}", params=_ANALYTICS_RANGE),
            only({"platform_admin": (200, 200), "broker_manager": (200, 200)}),
            targeted=False,
        )
        for name in ("agents", "lenders")
    },
    **{
        ("GET", f"/api/v1/analytics/{name}"): Entry(
            _call("GET", f"/api/v1/analytics/{name}", params=_ANALYTICS_RANGE),
            only(
                {
                    "platform_admin": (200, 200),
                    "broker_manager": (200, 200),
                    "broker": (200, 200),
                }
            ),
            targeted=False,
        )
        for name in ("funnel", "drop-off", "step-times", "intake-drop-off")
    },
    # The commissions trend: whoever reads commissions (own, firm or all entries).
    ("GET", "/api/v1/analytics/commissions"): Entry(
        _call("GET", "/api/v1/analytics/commissions", params=_ANALYTICS_RANGE),
        only(_COMMISSION_READERS),
        targeted=False,
    ),
    # Voice latency (issue 18): the platform's admins and prompt engineers.
    ("GET", "/api/v1/analytics/voice"): Entry(
        _call("GET", "/api/v1/analytics/voice", params=_ANALYTICS_RANGE),
        only({"platform_admin": (200, 200), "prompt_engineer": (200, 200)}),
        targeted=False,
    ),
    # Applications: a borrower's own, a broker's clients', a manager's firm's, the platform's all.
    ("POST", "/api/v1/applications"): Entry(_start_application, reach(201)),
    ("GET", "/api/v1/applications"): Entry(
        _call("GET", "/api/v1/applications"), only(_APPLICANTS), targeted=False
    ),
    ("GET", "/api/v1/applications/{application_id}"): Entry(_read_application, reach(200)),
    ("PATCH", "/api/v1/applications/{application_id}"): Entry(_update_application, reach(200)),
    ("GET", "/api/v1/applications/{application_id}/events"): Entry(_application_events, reach(200)),
    ("POST", "/api/v1/applications/{application_id}/withdraw"): Entry(
        _withdraw_application, reach(200)
    ),
    # Submitting needs applications:submit, which the platform's staff do not hold.
    ("POST", "/api/v1/applications/{application_id}/submit"): Entry(
        _submit_application,
        only({"borrower": (200, 404), "broker": (200, 404), "broker_manager": (200, 404)}),
    ),
    # Credit decisions in the back office: platform administrators only.
    ("POST", "/api/v1/applications/{application_id}/transitions"): Entry(
        _transition_application, only({"platform_admin": (200, 200)})
    ),
    ("POST", "/api/v1/applications/{application_id}/broker"): Entry(_assign_broker, scoped(200)),
    ("GET", "/api/v1/applications/{application_id}/offers"): Entry(_application_offers, reach(200)),
    ("GET", "/api/v1/applications/{application_id}/lender-matches"): Entry(
        _lender_matches, reach(200)
    ),
    # Accepting an offer is the borrower's alone.
    ("POST", "/api/v1/offers/{offer_id}/accept"): Entry(
        _accept_offer, only({"borrower": (200, 404)})
    ),
    # Accepting through the tool's approval (the web app's way): the borrower's alone too.
    ("POST", "/api/v1/offers/{offer_id}/acceptance"): Entry(
        _ask_acceptance, only({"borrower": (201, 404)})
    ),
    ("POST", "/api/v1/offers/{offer_id}/acceptance/{approval_id}"): Entry(
        _answer_acceptance, only({"borrower": (200, 404)})
    ),
    ("POST", "/api/v1/offers/payment"): Entry(
        _call("POST", "/api/v1/offers/payment", json=_PAYMENT),
        only({**_APPLICANTS, "prompt_engineer": (200, 200)}),
        targeted=False,
    ),
    # The lender catalog: staff; borrowers see lenders through their offers.
    ("GET", "/api/v1/lenders"): Entry(
        _call("GET", "/api/v1/lenders"), only(_CATALOG_READERS), targeted=False
    ),
    ("GET", "/api/v1/lenders/{lender_id}"): Entry(
        _read_lender, only(_CATALOG_READERS), targeted=False
    ),
    # Managing the catalog (issue 17): platform administrators alone.
    ("GET", "/api/v1/catalog/lenders"): Entry(
        _call("GET", "/api/v1/catalog/lenders"), only(_admin_only(200)), targeted=False
    ),
    ("POST", "/api/v1/catalog/lenders"): Entry(
        _call("POST", "/api/v1/catalog/lenders", json={"slug": "matrix-bank", "name": "Matrix"}),
        only(_admin_only(201)),
        targeted=False,
    ),
    ("GET", "/api/v1/catalog/lenders/{lender_id}"): Entry(
        _catalog_call("GET", ""), only(_admin_only(200)), targeted=False
    ),
    ("GET", "/api/v1/catalog/lenders/{lender_id}/versions"): Entry(
        _catalog_call("GET", "/versions"), only(_admin_only(200)), targeted=False
    ),
    ("POST", "/api/v1/catalog/lenders/{lender_id}/versions"): Entry(
        _catalog_call("POST", "/versions", {"description": "Edited."}),
        only(_admin_only(201)),
        targeted=False,
    ),
    ("POST", "/api/v1/catalog/lenders/{lender_id}/retirement"): Entry(
        _catalog_call("POST", "/retirement", {"note": "Closed."}),
        only(_admin_only(200)),
        targeted=False,
    ),
    ("POST", "/api/v1/catalog/lenders/{lender_id}/products"): Entry(
        _catalog_call("POST", "/products", _NEW_PRODUCT),
        only(_admin_only(201)),
        targeted=False,
    ),
    ("PUT", "/api/v1/catalog/lenders/{lender_id}/integration"): Entry(
        _catalog_call("PUT", "/integration", {"adapter": "none"}),
        only(_admin_only(200)),
        targeted=False,
    ),
    ("POST", "/api/v1/catalog/lenders/{lender_id}/webhook-secret"): Entry(
        _catalog_call("POST", "/webhook-secret"), only(_admin_only(201)), targeted=False
    ),
    ("GET", "/api/v1/catalog/products/{product_id}/versions"): Entry(
        _catalog_call("GET", "/versions", product=True),
        only(_admin_only(200)),
        targeted=False,
    ),
    ("POST", "/api/v1/catalog/products/{product_id}/versions"): Entry(
        _catalog_call("POST", "/versions", {"max_dti": "41.0000"}, product=True),
        only(_admin_only(201)),
        targeted=False,
    ),
    ("POST", "/api/v1/catalog/products/{product_id}/retirement"): Entry(
        _catalog_call("POST", "/retirement", {"note": "Withdrawn."}, product=True),
        only(_admin_only(200)),
        targeted=False,
    ),
    ("GET", "/api/v1/catalog/performance"): Entry(
        _call("GET", "/api/v1/catalog/performance"), only(_admin_only(200)), targeted=False
    ),
    # Lenders' decision webhooks: authenticated by the lender's signature, never by a bearer
    # token; an unsigned delivery is refused whoever sends it.
    ("POST", "/api/v1/lenders/webhooks/{lender_code}"): Entry(
        _call("POST", "/api/v1/lenders/webhooks/harbor-bank", json={"event_id": "e1"}),
        everyone(401, mfa_pending=401, anonymous=401),
        targeted=False,
    ),
    # Borrower profiles and consent.
    ("GET", "/api/v1/profile"): Entry(
        _call("GET", "/api/v1/profile"), only(_OWN_PROFILE), targeted=False
    ),
    ("PATCH", "/api/v1/profile"): Entry(
        _call("PATCH", "/api/v1/profile", json={"phone": "+1 415 555 0100"}),
        only(_OWN_PROFILE),
        targeted=False,
    ),
    ("POST", "/api/v1/profile/consents"): Entry(
        _call("POST", "/api/v1/profile/consents", json={"kind": "credit_check"}),
        only({"borrower": (201, 201)}),
        targeted=False,
    ),
    ("GET", "/api/v1/borrowers/{user_id}/profile"): Entry(_read_borrower_profile, reach(200)),
    ("PATCH", "/api/v1/borrowers/{user_id}/profile"): Entry(_update_borrower_profile, reach(200)),
    # The prompt registry: read by platform admins and prompt engineers, changed by the latter.
    ("GET", "/api/v1/prompts"): Entry(
        _call("GET", "/api/v1/prompts"), only(_PROMPT_READERS), targeted=False
    ),
    ("POST", "/api/v1/prompts"): Entry(
        _create_prompt, only({"prompt_engineer": (201, 201)}), targeted=False
    ),
    ("GET", "/api/v1/prompts/{name}"): Entry(
        _on_prompt("GET"), only(_PROMPT_READERS), targeted=False
    ),
    ("POST", "/api/v1/prompts/{name}/versions"): Entry(
        _on_prompt("POST", "/versions", json={"text": "Hi"}),
        only({"prompt_engineer": (201, 201)}),
        targeted=False,
    ),
    ("GET", "/api/v1/prompts/{name}/versions/{number}"): Entry(
        _on_prompt("GET", "/versions/1"), only(_PROMPT_READERS), targeted=False
    ),
    ("PUT", "/api/v1/prompts/{name}/labels/{label}"): Entry(
        _on_prompt("PUT", "/labels/production", json={"version": 2}),
        only({"prompt_engineer": (200, 200)}),
        targeted=False,
    ),
    ("GET", "/api/v1/prompts/{name}/diff"): Entry(
        _on_prompt("GET", "/diff", params={"from": "1", "to": "2"}),
        only(_PROMPT_READERS),
        targeted=False,
    ),
    ("POST", "/api/v1/prompts/{name}/preview"): Entry(
        _on_prompt("POST", "/preview", json={"variables": _GREETING_VALUES}),
        only(_PROMPT_READERS),
        targeted=False,
    ),
    ("POST", "/api/v1/prompts/{name}/experiments"): Entry(
        _on_prompt("POST", "/experiments", json={"name": "AB", "arms": _AB_ARMS}),
        only({"prompt_engineer": (201, 201)}),
        targeted=False,
    ),
    ("POST", "/api/v1/prompts/{name}/experiments/{experiment_id}/start"): Entry(
        _on_experiment("start"), only({"prompt_engineer": (200, 200)}), targeted=False
    ),
    ("POST", "/api/v1/prompts/{name}/experiments/{experiment_id}/stop"): Entry(
        _on_experiment("stop"), only({"prompt_engineer": (200, 200)}), targeted=False
    ),
    ("GET", "/api/v1/prompts/{name}/experiments/{experiment_id}/results"): Entry(
        _on_experiment("results", "GET"), only(_PROMPT_READERS), targeted=False
    ),
    # The assistant (chat over SSE, and its OpenAI-compatible face).
    ("POST", "/api/v1/chat/threads"): Entry(
        _call("POST", "/api/v1/chat/threads", json={}), everyone(201), targeted=False
    ),
    ("GET", "/api/v1/chat/threads"): Entry(
        _call("GET", "/api/v1/chat/threads"), everyone(200), targeted=False
    ),
    ("GET", "/api/v1/chat/threads/{thread_id}"): Entry(_on_thread("GET"), only(_CHAT_USERS)),
    ("POST", "/api/v1/chat/threads/{thread_id}/runs"): Entry(
        _on_thread("POST", "/runs", json={"message": "hello"}), only(_CHAT_USERS)
    ),
    ("POST", "/api/v1/chat/threads/{thread_id}/approvals/{approval_id}"): Entry(
        _on_thread("POST", "/approvals/none-waiting", json={"approved": True}),
        only({who: (404, 404) for who in _CHAT_USERS}),
    ),
    ("POST", "/api/v1/chat/threads/{thread_id}/runs/{run_id}/feedback"): Entry(
        _feedback, only({who: (201, 404) for who in _CHAT_USERS})
    ),
    # Voice: a room token for one's own thread; voice is not configured in these settings, so
    # the owner gets 503 "not configured" (tests/voice covers the configured token).
    ("POST", "/api/v1/voice/sessions"): Entry(
        _voice_session, only({who: (503, 404) for who in _CHAT_USERS})
    ),
    ("GET", "/v1/models"): Entry(_call("GET", "/v1/models"), everyone(200), targeted=False),
    ("POST", "/v1/chat/completions"): Entry(_completion, everyone(200), targeted=False),
    ("GET", "/api/v1/knowledge/search"): Entry(
        _call("GET", "/api/v1/knowledge/search", params={"q": "late fee"}),
        everyone(200),
        targeted=False,
    ),
    ("GET", "/api/v1/knowledge/entries"): Entry(
        _call("GET", "/api/v1/knowledge/entries"), only(_KNOWLEDGE_MANAGERS), targeted=False
    ),
    ("POST", "/api/v1/knowledge/entries"): Entry(
        _upload_entry,
        only({who: (202, 202) for who in _KNOWLEDGE_MANAGERS}),
        targeted=False,
    ),
    ("GET", "/api/v1/knowledge/entries/{entry_id}"): Entry(
        _on_entry("GET"), only(_KNOWLEDGE_MANAGERS), targeted=False
    ),
    ("PATCH", "/api/v1/knowledge/entries/{entry_id}"): Entry(
        _on_entry("PATCH", json={"title": "Renamed"}), only(_KNOWLEDGE_MANAGERS), targeted=False
    ),
    ("POST", "/api/v1/knowledge/entries/{entry_id}/versions"): Entry(
        _on_entry("POST", "/versions", upload=True),
        only({who: (202, 202) for who in _KNOWLEDGE_MANAGERS}),
        targeted=False,
    ),
    ("POST", "/api/v1/knowledge/entries/{entry_id}/versions/{version}/publish"): Entry(
        _on_entry("POST", "/versions/1/publish"), only(_KNOWLEDGE_MANAGERS), targeted=False
    ),
    ("POST", "/api/v1/knowledge/entries/{entry_id}/archive"): Entry(
        _on_entry("POST", "/archive"), only(_KNOWLEDGE_MANAGERS), targeted=False
    ),
    ("GET", "/api/v1/knowledge/embedding-sets"): Entry(
        _call("GET", "/api/v1/knowledge/embedding-sets"),
        only(_KNOWLEDGE_MANAGERS),
        targeted=False,
    ),
    ("POST", "/api/v1/knowledge/reindex"): Entry(
        _call("POST", "/api/v1/knowledge/reindex"),
        only({who: (202, 202) for who in _KNOWLEDGE_MANAGERS}),
        targeted=False,
    ),
    # Documents: reached as their application is; review by brokers and platform administrators.
    ("POST", "/api/v1/documents"): Entry(_upload_document, reach(201)),
    ("GET", "/api/v1/documents"): Entry(_list_documents, reach(200)),
    ("GET", "/api/v1/documents/{document_id}"): Entry(_on_document("GET"), reach(200)),
    ("GET", "/api/v1/documents/{document_id}/content"): Entry(
        _on_document("GET", "/content"), reach(200)
    ),
    ("POST", "/api/v1/documents/{document_id}/type"): Entry(
        _on_document("POST", "/type", json={"document_type": "w2"}), reach(200)
    ),
    ("POST", "/api/v1/documents/{document_id}/verify"): Entry(
        _on_document("POST", "/verify", review=True), only(_REVIEWERS)
    ),
    ("POST", "/api/v1/documents/{document_id}/reject"): Entry(
        _on_document("POST", "/reject", review=True, json={"reason": "Illegible scan."}),
        only(_REVIEWERS),
    ),
    ("POST", "/api/v1/documents/{document_id}/attach"): Entry(_attach_document, reach(200)),
    ("GET", "/api/v1/applications/{application_id}/documents"): Entry(
        _application_documents, reach(200)
    ),
    # A document reminder: a broker (or manager) to their own client; nobody else.
    ("POST", "/api/v1/applications/{application_id}/document-reminders"): Entry(
        _remind_documents, only({"broker": (201, 404), "broker_manager": (201, 404)})
    ),
    # Commissions: a broker their own, a manager their firm's, the platform all.
    ("GET", "/api/v1/commissions/summary"): Entry(
        _call("GET", "/api/v1/commissions/summary"), only(_COMMISSION_READERS), targeted=False
    ),
    ("GET", "/api/v1/commissions/entries"): Entry(
        _call("GET", "/api/v1/commissions/entries"), only(_COMMISSION_READERS), targeted=False
    ),
    ("GET", "/api/v1/commissions/entries/{entry_id}/explanation"): Entry(
        _explanation, only(_COMMISSION_REACH)
    ),
    ("GET", "/api/v1/commissions/statements/payees/{payee_id}"): Entry(
        _payee_statement, only(_COMMISSION_REACH)
    ),
    ("GET", "/api/v1/commissions/statements/firms/{organization_id}"): Entry(
        _firm_statement,
        only({"broker_manager": (200, 404), "platform_admin": (200, 200)}),
    ),
    # Rules, guards, servicing events, corrections, batches and reconciliation: platform admins.
    ("GET", "/api/v1/commissions/jurisdictions"): Entry(
        _call("GET", "/api/v1/commissions/jurisdictions"),
        only({"platform_admin": (200, 200)}),
        targeted=False,
    ),
    ("PATCH", "/api/v1/commissions/jurisdictions/{code}"): Entry(
        _call("PATCH", "/api/v1/commissions/jurisdictions/AU", json={"bans_volume_bonuses": True}),
        only({"platform_admin": (200, 200)}),
        targeted=False,
    ),
    ("GET", "/api/v1/commissions/rules"): Entry(
        _call("GET", "/api/v1/commissions/rules"),
        only({"platform_admin": (200, 200)}),
        targeted=False,
    ),
    ("POST", "/api/v1/commissions/rules"): Entry(
        _call("POST", "/api/v1/commissions/rules", json=_RULE),
        only({"platform_admin": (201, 201)}),
        targeted=False,
    ),
    ("POST", "/api/v1/commissions/rules/{rule_id}/versions"): Entry(
        _rule_version, only({"platform_admin": (201, 201)}), targeted=False
    ),
    ("POST", "/api/v1/commissions/loans/{loan_id}/events"): Entry(
        _servicing_event, only({"platform_admin": (201, 201)}), targeted=False
    ),
    ("POST", "/api/v1/commissions/trail-accruals"): Entry(
        _call("POST", "/api/v1/commissions/trail-accruals", json={"month": "2026-03-01"}),
        only({"platform_admin": (200, 200)}),
        targeted=False,
    ),
    ("POST", "/api/v1/commissions/adjustments"): Entry(
        _adjustment, only({"platform_admin": (201, 201)}), targeted=False
    ),
    ("POST", "/api/v1/commissions/entries/{entry_id}/reversal"): Entry(
        _reversal, only({"platform_admin": (201, 201)}), targeted=False
    ),
    ("POST", "/api/v1/commissions/batches"): Entry(
        _create_batch, only({"platform_admin": (201, 201)}), targeted=False
    ),
    ("GET", "/api/v1/commissions/batches/{batch_id}"): Entry(
        _on_batch("draft", "GET"), only({"platform_admin": (200, 200)}), targeted=False
    ),
    ("POST", "/api/v1/commissions/batches/{batch_id}/approve"): Entry(
        _on_batch("draft", "POST", "/approve"),
        only({"platform_admin": (200, 200)}),
        targeted=False,
    ),
    ("POST", "/api/v1/commissions/batches/{batch_id}/export"): Entry(
        _on_batch("approved", "POST", "/export"),
        only({"platform_admin": (200, 200)}),
        targeted=False,
    ),
    ("GET", "/api/v1/commissions/batches/{batch_id}/statements/{payee_id}"): Entry(
        _on_batch("exported", "GET", "/statements/{payee}"),
        only({"platform_admin": (200, 200)}),
        targeted=False,
    ),
    ("POST", "/api/v1/commissions/batches/{batch_id}/paid"): Entry(
        _on_batch("exported", "POST", "/paid", json={"payment_reference": "ACH-1"}),
        only({"platform_admin": (200, 200)}),
        targeted=False,
    ),
    ("POST", "/api/v1/commissions/batches/{batch_id}/failed"): Entry(
        _on_batch("draft", "POST", "/failed", json={"reason": "Dropped"}),
        only({"platform_admin": (200, 200)}),
        targeted=False,
    ),
    ("POST", "/api/v1/commissions/reconciliations"): Entry(
        _import_statement, only({"platform_admin": (201, 201)}), targeted=False
    ),
    ("GET", "/api/v1/commissions/reconciliations/{statement_id}"): Entry(
        _read_reconciliation, only({"platform_admin": (200, 200)}), targeted=False
    ),
    (
        "POST",
        "/api/v1/commissions/reconciliations/{statement_id}/lines/{line_id}/resolution",
    ): Entry(_resolve_line, only({"platform_admin": (200, 200)}), targeted=False),
}


def _operations(settings: Settings) -> dict[tuple[str, str], dict[str, Any]]:
    """Every operation of the app's OpenAPI document (the public contract) under the prefixes.

    A route hidden with include_in_schema=False would escape: API routes are never hidden.
    """
    paths: dict[str, dict[str, Any]] = create_app(settings).openapi()["paths"]
    return {
        (method.upper(), path): operation
        for path, operations in paths.items()
        if path.startswith(MATRIX_PREFIXES)
        for method, operation in operations.items()
        if method in {"get", "post", "put", "patch", "delete"}
    }


def test_every_api_route_is_in_the_matrix(settings: Settings) -> None:
    routes = set(_operations(settings))

    missing = sorted(routes - MATRIX.keys())
    stale = sorted(MATRIX.keys() - routes)

    assert not missing, (
        f"routes without an authorization matrix entry (see the top of {__name__}): {missing}"
    )
    assert not stale, f"matrix entries for routes that no longer exist: {stale}"


def test_openapi_documents_every_error_status_the_matrix_sees(settings: Settings) -> None:
    operations = _operations(settings)
    undocumented = []
    for key, entry in MATRIX.items():
        documented = set(operations.get(key, {}).get("responses", {}))
        for own, other in entry.expected.values():
            undocumented += [
                (key, s) for s in (own, other) if s >= 400 and str(s) not in documented
            ]

    assert not undocumented, sorted(set(undocumented))


def test_every_entry_covers_every_caller() -> None:
    for key, entry in MATRIX.items():
        assert set(entry.expected) == set(WHO), key


@pytest.mark.parametrize("route", sorted(MATRIX), ids=lambda route: f"{route[0]} {route[1]}")
async def test_authorization(
    route: tuple[str, str],
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    memory_store: MemoryStore,
) -> None:
    entry = MATRIX[route]
    world = await build_world(session, settings)
    world.store = memory_store
    wheres: tuple[Where, ...] = ("own", "other") if entry.targeted else ("own",)
    mismatches = []
    for who in WHO:
        for index, where in enumerate(wheres):
            call = await entry.build(world, who, where)
            token = world.token(who) if call.token is _DEFAULT else call.token
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            response = await client.request(
                call.method,
                call.path,
                json=call.json,
                params=call.params,
                files=call.files,
                headers=headers,
            )
            expected = entry.expected[who][index]
            if response.status_code != expected:
                mismatches.append(
                    f"{who:>16} {where:<5} expected {expected}, got {response.status_code}: "
                    f"{response.text[:160]}"
                )
            elif expected >= 400:
                assert response.json()["request_id"], "every refusal carries the error envelope"
    assert not mismatches, "\n" + "\n".join(mismatches)
