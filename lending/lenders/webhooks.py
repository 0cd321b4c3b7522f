"""What a lender's verified webhook event means here, each kind in its own transaction.

- `decision.updated`: the lender's decision and firm offers, through
  `application.record_lender_decision` (HMDA denial codes from the lender's reasons, firm offers
  only);
- `loan.servicing`: what happened to a loan the lender funded, named by its application
  reference, through `servicing.record_servicing_event` with `source="lender"`; the lender's
  event id is unique per loan, so a re-delivery after the replay window is recorded once.

The transport (signature, replay window, answers) stays with the webhook route (api); this is
the domain's reading of an event already verified.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from sqlalchemy import select

from lending.applications.hmda import DenialReason
from lending.applications.service import FirmOfferTerms, LenderDecision, application_service
from lending.commissions.repository import CommissionRepository
from lending.commissions.schemas import ServicingEventCreate
from lending.commissions.servicing import servicing_service
from lending.db import SessionMaker, transaction
from lending.errors import NotFound
from lending.lenders.integration.protocol import (
    DecisionStatus,
    LenderWebhookEvent,
    OfferKind,
    ServicingKind,
)
from lending.lenders.integration.protocol import LenderDecision as LenderReportedDecision
from lending.lenders.repository import LenderRepository
from lending.logs import get_logger
from lending.models.applications import Application
from lending.models.commissions import ServicingEventKind

log = get_logger(__name__)

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


async def _record_decision(sessionmaker: SessionMaker, event: LenderWebhookEvent) -> None:
    decision = event.decision
    assert decision is not None, "a decision.updated event carries its decision"
    async with transaction(sessionmaker) as session:
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


async def _record_servicing(sessionmaker: SessionMaker, event: LenderWebhookEvent) -> bool:
    """Record a lender's servicing report; False when this event id was recorded already."""
    report = event.servicing
    assert report is not None, "a loan.servicing event carries its report"
    async with transaction(sessionmaker) as session:
        lender = await LenderRepository.from_session(session).get_lender_by_slug(event.lender_code)
        repository = CommissionRepository.from_session(session)
        loan = await repository.loan_by_reference(report.application_reference)
        if lender is None or loan is None or loan.lender_id != lender.id:
            raise NotFound("No loan funded by this lender under this application reference.")
        if await repository.servicing_event_from_lender(loan.id, event.event_id) is not None:
            return False
        await servicing_service.record_servicing_event(
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


async def record_lender_event(sessionmaker: SessionMaker, event: LenderWebhookEvent) -> bool:
    """Apply a verified event in its own transaction; False when it was recorded already."""
    if event.event_type == "loan.servicing":
        return await _record_servicing(sessionmaker, event)
    await _record_decision(sessionmaker, event)
    return True
