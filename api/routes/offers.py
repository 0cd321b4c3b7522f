"""Offers: lender matches, prequalified and firm offers of an application, accepting a firm
offer, and loan what-ifs. Thin adapters over lending.offers.service, as the tools are."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from api.auth import CurrentActor, OriginDep
from api.deps import SessionDep
from api.errors import error_responses
from api.ratelimit import rate_limit
from api.routes.applications import record_change
from lending.errors import (
    Conflict,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from lending.identity.errors import MfaEnrollmentRequired
from lending.offers.schemas import (
    AcceptedOffer,
    AcceptOfferRequest,
    LenderMatches,
    OffersRead,
    PaymentAnswer,
    PaymentQuestion,
)
from lending.offers.service import offer as offer_service

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
    accepted = await offer_service.accept(session, actor, offer_id=offer_id, version=version)
    await record_change(
        session, actor, origin, "offer.accepted", subject_type="offer", subject_id=offer_id
    )
    return accepted


@router.post(
    "/offers/payment",
    summary="A what-if: payment, totals and APR of a loan, optionally with its schedule",
    responses=error_responses(*_AUTH_ERRORS, InvalidInput),
)
async def compute_payment(
    body: PaymentQuestion, actor: CurrentActor, session: SessionDep
) -> PaymentAnswer:
    return await offer_service.compute_payment(session, actor, question=body)
