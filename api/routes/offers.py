"""Offers: lender matches, prequalified and firm offers of an application, accepting a firm
offer, and loan what-ifs. Thin adapters over lending.offers.service, as the tools are."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Path, status
from pydantic import BaseModel, ConfigDict

from api.auth import CurrentActor, OriginDep
from api.deps import SessionDep, StateDep, StoreDep
from api.errors import error_responses
from api.ratelimit import rate_limit
from lending.audit.schemas import Origin
from lending.errors import (
    Conflict,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    OmnifinError,
    PermissionDenied,
    RateLimited,
)
from lending.identity.actor import Actor
from lending.identity.errors import MfaEnrollmentRequired
from lending.identity.scopes import Scope
from lending.kv import Store
from lending.offers.schemas import (
    AcceptedOffer,
    AcceptOfferRequest,
    LenderMatches,
    OffersRead,
    PaymentAnswer,
    PaymentQuestion,
)
from lending.offers.service import offer as offer_service
from tools.base import ToolError
from tools.context import ApprovalRequest, ToolContext
from tools.registry import registry

router = APIRouter(prefix="/api/v1", tags=["offers"], dependencies=[rate_limit("default")])
_AUTH_ERRORS = (NotAuthenticated, MfaEnrollmentRequired, RateLimited, PermissionDenied)


@router.get(
    "/applications/{application_id}/offers",
    summary="The application's offers, ranked, with the anti-steering set and exclusions",
    description="A draft is prequalified on first read, and again when it, the borrower's "
    "profile or its offers' validity changed (or with refresh=true); prequalification needs the "
    "borrower's credit-check consent.",
    responses=error_responses(*_AUTH_ERRORS, NotFound, InvalidInput, Conflict),
)
async def application_offers(
    application_id: uuid.UUID,
    actor: CurrentActor,
    session: SessionDep,
    refresh: bool = False,
) -> OffersRead:
    return await offer_service.get_offers(
        session, actor, application_id=application_id, refresh=refresh
    )


@router.get(
    "/applications/{application_id}/lender-matches",
    summary="Which products fit the application, and why each other one does not",
    responses=error_responses(*_AUTH_ERRORS, NotFound, InvalidInput),
)
async def lender_matches(
    application_id: uuid.UUID, actor: CurrentActor, session: SessionDep
) -> LenderMatches:
    return await offer_service.find_lenders(session, actor, application_id=application_id)


@router.post(
    "/offers/{offer_id}/accept",
    summary="Accept a firm offer on an approved application (the borrower)",
    responses=error_responses(*_AUTH_ERRORS, NotFound, InvalidInput, Conflict),
)
async def accept_offer(
    offer_id: uuid.UUID,
    actor: CurrentActor,
    session: SessionDep,
    origin: OriginDep,
    body: AcceptOfferRequest | None = None,
) -> AcceptedOffer:
    version = body.version if body else None
    return await offer_service.accept(
        session, actor, offer_id=offer_id, version=version, origin=origin
    )


@router.post(
    "/offers/payment",
    summary="A what-if: payment, totals and APR of a loan, optionally with its schedule",
    responses=error_responses(*_AUTH_ERRORS, InvalidInput),
)
async def compute_payment(
    body: PaymentQuestion, actor: CurrentActor, session: SessionDep
) -> PaymentAnswer:
    return await offer_service.compute_payment(session, actor, question=body)


# Accepting from a web page goes through the tool registry exactly as the assistant's accept_offer
# does: the call is rehearsed (rolled back), the person sees the approval the chat would show
# (its summary and arguments), and only their answer runs it, audited as tool.accept_offer
# (the call) and offer.accepted (the change, by the offers service).
_ACCEPT_TOOL = "accept_offer"
APPROVAL_TTL_SECONDS = 600


class AcceptanceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int | None = None


class PendingApproval(BaseModel):
    """What the person is asked to approve: the same summary the chat's approval card shows."""

    approval_id: str
    tool: str
    summary: str
    arguments: dict[str, Any]
    expires_at: datetime


class ApprovalDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approved: bool
    channel: Literal["button", "voice", "api"] = "button"


class AcceptanceResult(BaseModel):
    approved: bool
    accepted: AcceptedOffer | None = None


class _Asked(Exception):  # noqa: N818 (a signal, not an error)
    def __init__(self, request: ApprovalRequest) -> None:
        super().__init__(request.summary)
        self.request = request


async def _ask(request: ApprovalRequest) -> bool:
    raise _Asked(request)


_ERRORS_BY_KIND: dict[str, type[OmnifinError]] = {
    cls.__name__: cls for cls in (InvalidInput, NotFound, Conflict, PermissionDenied)
}


def _service_error(error: ToolError) -> OmnifinError:
    kind = _ERRORS_BY_KIND.get(error.kind)
    if kind is None:
        kind = next(
            (c for c in _ERRORS_BY_KIND.values() if c.status_code == error.status), Conflict
        )
    return kind(error.detail if isinstance(error.detail, list) else error.message)


def _approval_key(user_id: uuid.UUID, approval_id: str) -> str:
    return f"web:approval:{user_id}:{approval_id}"


async def remember_approval(
    store: Store, user_id: uuid.UUID, offer_id: uuid.UUID, request: ApprovalRequest
) -> str:
    """Keep what `user_id` was asked to approve (for the TTL); its new approval id."""
    approval_id = secrets.token_urlsafe(16)
    record = {"tool": request.tool, "arguments": request.arguments, "offer_id": str(offer_id)}
    await store.set(
        _approval_key(user_id, approval_id), orjson.dumps(record), ttl_seconds=APPROVAL_TTL_SECONDS
    )
    return approval_id


def _tool_context(
    state: StateDep, actor: Actor, origin: Origin, approver: Any = None
) -> ToolContext:
    assert state.sessionmaker is not None, "lifespan not started"
    return ToolContext(
        actor=actor,
        sessionmaker=state.sessionmaker,
        settings=state.settings,
        channel="web",
        origin=origin,
        approver=approver,
    )


@router.post(
    "/offers/{offer_id}/acceptance",
    status_code=status.HTTP_201_CREATED,
    summary="Ask to accept a firm offer: rehearses it and returns the approval to show",
    description="The accept_offer tool is rehearsed (rolled back) as in the chat, so an offer "
    "that cannot be accepted is refused here; the answer is the approval card's summary. Answer "
    f"it within {APPROVAL_TTL_SECONDS // 60} minutes with POST .../acceptance/{{approval_id}}.",
    responses=error_responses(*_AUTH_ERRORS, NotFound, InvalidInput, Conflict),
)
async def request_acceptance(
    offer_id: uuid.UUID,
    actor: CurrentActor,
    state: StateDep,
    store: StoreDep,
    origin: OriginDep,
    body: AcceptanceCreate | None = None,
) -> PendingApproval:
    actor.require(Scope.OFFERS_ACCEPT)
    arguments: dict[str, Any] = {"offer_id": str(offer_id)}
    if body is not None and body.version is not None:
        arguments["version"] = body.version
    try:
        await registry.execute(_ACCEPT_TOOL, arguments, _tool_context(state, actor, origin, _ask))
    except _Asked as asked:
        request = asked.request
    except ToolError as error:
        raise _service_error(error) from None
    else:  # pragma: no cover - accept_offer always asks first
        raise Conflict("The offer was accepted without an approval.")
    expires_at = datetime.now(UTC) + timedelta(seconds=APPROVAL_TTL_SECONDS)
    approval_id = await remember_approval(store, actor.user_id, offer_id, request)
    return PendingApproval(
        approval_id=approval_id,
        tool=request.tool,
        summary=request.summary,
        arguments=request.arguments,
        expires_at=expires_at,
    )


@router.post(
    "/offers/{offer_id}/acceptance/{approval_id}",
    summary="Approve (accepting the offer) or reject the acceptance asked for",
    responses=error_responses(*_AUTH_ERRORS, NotFound, InvalidInput, Conflict),
)
async def answer_acceptance(
    offer_id: uuid.UUID,
    approval_id: Annotated[str, Path(max_length=64)],
    body: ApprovalDecision,
    actor: CurrentActor,
    state: StateDep,
    store: StoreDep,
    origin: OriginDep,
) -> AcceptanceResult:
    actor.require(Scope.OFFERS_ACCEPT)
    key = _approval_key(actor.user_id, approval_id)
    raw = await store.get(key)
    record = orjson.loads(raw) if raw is not None else None
    if record is None or record.get("offer_id") != str(offer_id):
        raise NotFound("No such approval is waiting; ask to accept the offer again.")
    if not body.approved:
        await store.delete(key)
        return AcceptanceResult(approved=False)
    try:
        # The approval id is the idempotency key: a second click returns the first result.
        output = await registry.execute(
            record["tool"],
            record["arguments"],
            _tool_context(state, actor, origin),
            idempotency_key=f"web-approval:{approval_id}",
            approved=True,
        )
    except ToolError as error:
        raise _service_error(error) from None
    assert isinstance(output, AcceptedOffer)
    return AcceptanceResult(approved=True, accepted=output)
