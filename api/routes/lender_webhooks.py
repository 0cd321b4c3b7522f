"""Lenders' webhooks: `POST /api/v1/lenders/webhooks/{lender_code}`.

Called by lenders, not users: no bearer token, the HMAC signature is the authentication (see
`lending.lenders.integration`). A bad or missing signature, or a lender we cannot verify (no
lender API configured, an unknown code), is a 401 and logged; a duplicate delivery is a 200 and
nothing is done again. Two kinds of event, each in its own transaction:

- `decision.updated`: the lender's decision and firm offers, through
  `application.record_lender_decision`;
- `loan.servicing`: what happened to a loan the lender funded (balance, arrears, arrears cured,
  discharged, refinanced), named by its application reference, through
  `commission.record_servicing_event` with `source="lender"` (which stops trail and queues the
  clawback as it does for an admin's record). The lender's event id is stored with the event and
  unique per loan, so a re-delivery after the replay window is still recorded once. A reference
  that is not a loan this lender funded is a 404.

If processing fails the event's replay key is released before the error answer, so the lender's
re-delivery is processed.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import select

from api.auth import app_state
from api.errors import error_responses
from api.state import AppState
from lending.applications.hmda import DenialReason
from lending.applications.service import FirmOfferTerms, LenderDecision
from lending.applications.service import application as application_service
from lending.commissions.repository import CommissionRepository
from lending.commissions.schemas import ServicingEventCreate
from lending.commissions.service import commission
from lending.db import transaction
from lending.errors import Conflict, InvalidInput, NotFound
from lending.lenders.integration.errors import DuplicateWebhook, InvalidWebhook, WebhookRejected
from lending.lenders.integration.protocol import (
    DecisionStatus,
    LenderWebhookEvent,
    OfferKind,
    ServicingKind,
)
from lending.lenders.integration.protocol import LenderDecision as LenderReportedDecision
from lending.lenders.integration.registry import LenderAdapters
from lending.lenders.integration.replay import StoreReplayGuard
from lending.lenders.repository import LenderRepository
from lending.logs import get_logger
from lending.models.applications import Application
from lending.models.commissions import ServicingEventKind

log = get_logger(__name__)

router = APIRouter(prefix="/api/v1/lenders/webhooks", tags=["lenders"])

_ADAPTERS_KEY = "lender_adapters"

_DECISIONS = {
    DecisionStatus.PENDING: LenderDecision.RECEIVED,
    DecisionStatus.APPROVED: LenderDecision.APPROVED,
    DecisionStatus.REFERRED: LenderDecision.REFERRED,
    DecisionStatus.DECLINED: LenderDecision.DECLINED,
}

# Lenders give reasons in words; HMDA wants codes. A reason naming one of these is that code,
# any other is "other" (9).
_DENIAL_WORDS = (
    ("credit", DenialReason.CREDIT_HISTORY),
    ("debt", DenialReason.DEBT_TO_INCOME),
    ("income", DenialReason.DEBT_TO_INCOME),
    ("employment", DenialReason.EMPLOYMENT_HISTORY),
    ("collateral", DenialReason.COLLATERAL),
)


_SERVICING_KINDS = {kind: ServicingEventKind(kind.value) for kind in ServicingKind}


class WebhookAnswer(BaseModel):
    status: Literal["processed", "duplicate"]


def lender_adapters(state: AppState) -> LenderAdapters:
    """The app's lender adapters, made on first use (webhook replay keys on the shared store)."""
    adapters = state.extras.get(_ADAPTERS_KEY)
    if not isinstance(adapters, LenderAdapters):
        assert state.store is not None, "lifespan not started"
        adapters = LenderAdapters(state.settings, replay_guard=StoreReplayGuard(state.store))
        state.extras[_ADAPTERS_KEY] = adapters
    return adapters


def _denial_reasons(reasons: list[str]) -> list[DenialReason]:
    codes: list[DenialReason] = []
    for reason in reasons:
        text = reason.lower()
        code = next((c for word, c in _DENIAL_WORDS if word in text), DenialReason.OTHER)
        if code not in codes:
            codes.append(code)
    return codes[:4]  # HMDA reports at most four


def _firm_offers(decision: LenderReportedDecision) -> list[FirmOfferTerms]:
    now = datetime.now(UTC)
    return [
        FirmOfferTerms(
            amount=offer.amount,
            term_months=offer.term_months,
            note_rate=offer.note_rate,
            fees=tuple(
                (fee.name.lower().replace(" ", "_")[:32], fee.name, fee.amount, fee.finance_charge)
                for fee in offer.fees
            ),
            validity_days=max(1, math.ceil((offer.expires_at - now).total_seconds() / 86400)),
        )
        for offer in decision.offers
        if offer.kind is OfferKind.FIRM
    ]


async def _record(state: AppState, event: LenderWebhookEvent) -> None:
    assert state.sessionmaker is not None, "lifespan not started"
    decision = event.decision
    assert decision is not None, "a decision.updated event carries its decision"
    async with transaction(state.sessionmaker) as session:
        lender = await LenderRepository.from_session(session).get_lender_by_slug(event.lender_code)
        application_id = await session.scalar(
            select(Application.id).where(Application.reference == decision.application_reference)
        )
        if lender is None or application_id is None:
            raise NotFound("No submission of this application to this lender.")
        offers = _firm_offers(decision) if decision.status is DecisionStatus.APPROVED else []
        if decision.status is DecisionStatus.APPROVED and len(offers) < len(decision.offers):
            log.warning(
                "lender approval carried offers that are not firm; they are not recorded",
                lender_code=event.lender_code,
                external_id=decision.external_id,
            )
        await application_service.record_lender_decision(
            session,
            application_id=application_id,
            lender_id=lender.id,
            decision=_DECISIONS[decision.status],
            offers=offers,
            reason="; ".join(decision.reasons) or None,
            denial_reasons=(
                _denial_reasons(decision.reasons)
                if decision.status is DecisionStatus.DECLINED
                else ()
            ),
            external_reference=decision.external_id,
        )


async def _record_servicing(state: AppState, event: LenderWebhookEvent) -> bool:
    """Record a lender's servicing report; False when this event id was recorded already."""
    assert state.sessionmaker is not None, "lifespan not started"
    report = event.servicing
    assert report is not None, "a loan.servicing event carries its report"
    async with transaction(state.sessionmaker) as session:
        lender = await LenderRepository.from_session(session).get_lender_by_slug(event.lender_code)
        repository = CommissionRepository.from_session(session)
        loan = await repository.loan_by_reference(report.application_reference)
        if lender is None or loan is None or loan.lender_id != lender.id:
            raise NotFound("No loan funded by this lender under this application reference.")
        if await repository.servicing_event_from_lender(loan.id, event.event_id) is not None:
            return False
        await commission.record_servicing_event(
            session,
            None,
            loan_id=loan.id,
            data=ServicingEventCreate(
                kind=_SERVICING_KINDS[report.kind],
                occurred_on=report.occurred_on,
                outstanding_balance=report.outstanding_balance,
                offset_balance=report.offset_balance,
                note=report.note,
            ),
            source="lender",
            lender_event_id=event.event_id,
        )
    return True


@router.post(
    "/{lender_code}",
    summary="A lender's webhook: decisions and loan servicing events (HMAC-signed)",
    responses=error_responses(WebhookRejected, InvalidWebhook, NotFound, Conflict, InvalidInput),
)
async def receive_lender_webhook(lender_code: str, request: Request) -> WebhookAnswer:
    state = app_state(request)
    body = await request.body()
    adapter, reason = lender_adapters(state).get(lender_code)
    if adapter is None:
        log.warning("lender_webhook_rejected", lender_code=lender_code[:64], reason=reason)
        raise WebhookRejected(lender_code, reason)
    try:
        event = await adapter.verify_webhook(request.headers, body)
    except DuplicateWebhook:
        return WebhookAnswer(status="duplicate")
    try:
        if event.event_type == "loan.servicing":
            if not await _record_servicing(state, event):
                return WebhookAnswer(status="duplicate")
        else:
            await _record(state, event)
    except BaseException:
        await adapter.release_webhook(event)
        log.warning(
            "lender_webhook_failed",
            lender_code=lender_code,
            event_id=event.event_id,
            event_type=event.event_type,
            subject=event.subject,
        )
        raise
    return WebhookAnswer(status="processed")
