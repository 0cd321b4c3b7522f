"""Offers: lender matches, prequalified and firm offers of an application, accepting a firm
offer, and loan what-ifs. Thin adapters over lending.offers.service, as the tools are."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict

from api.auth import CurrentActor, OriginDep
from api.deps import SessionDep, StateDep
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
from lending.offers.schemas import (
    AcceptedOffer,
    AcceptOfferRequest,
    LenderMatches,
    OffersRead,
    PaymentAnswer,
    PaymentQuestion,
)
from lending.offers.service import offer_service
from tools.base import ToolError
from tools.context import ToolContext
from tools.page_approvals import page_approvals
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
    """What the person is asked to approve: the same question the chat's approval card shows
    (`summary`), and the facts behind it (`arguments`: lender, amounts, never internal ids)."""

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


def _tool_context(state: StateDep, actor: Actor, origin: Origin) -> ToolContext:
    assert state.sessionmaker is not None, "lifespan not started"
    return ToolContext(
        actor=actor,
        sessionmaker=state.sessionmaker,
        settings=state.settings,
        channel="web",
        origin=origin,
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
    origin: OriginDep,
    body: AcceptanceCreate | None = None,
) -> PendingApproval:
    actor.require(Scope.OFFERS_ACCEPT)
    arguments: dict[str, Any] = {"offer_id": str(offer_id)}
    if body is not None and body.version is not None:
        arguments["version"] = body.version
    try:
        approval = await page_approvals.ask(
            registry,
            _tool_context(state, actor, origin),
            _ACCEPT_TOOL,
            arguments,
            ttl=timedelta(seconds=APPROVAL_TTL_SECONDS),
        )
    except ToolError as error:
        raise _service_error(error) from None
    return PendingApproval(
        approval_id=str(approval.id),
        tool=approval.tool_name,
        summary=approval.question,
        arguments=approval.details,
        expires_at=approval.expires_at,
    )


@router.post(
    "/offers/{offer_id}/acceptance/{approval_id}",
    summary="Approve (accepting the offer) or reject the acceptance asked for",
    responses=error_responses(*_AUTH_ERRORS, NotFound, InvalidInput, Conflict),
)
async def answer_acceptance(
    offer_id: uuid.UUID,
    approval_id: uuid.UUID,
    body: ApprovalDecision,
    actor: CurrentActor,
    state: StateDep,
    origin: OriginDep,
) -> AcceptanceResult:
    actor.require(Scope.OFFERS_ACCEPT)
    try:
        resolution, output = await page_approvals.answer(
            registry,
            _tool_context(state, actor, origin),
            approval_id,
            approved=body.approved,
            channel=body.channel,
            expected={"tool": _ACCEPT_TOOL, "offer_id": str(offer_id)},
        )
    except ToolError as error:
        raise _service_error(error) from None
    if output is None:
        return AcceptanceResult(approved=False)
    assert isinstance(output, AcceptedOffer)
    return AcceptanceResult(approved=True, accepted=output)
