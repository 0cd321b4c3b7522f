"""The history of lenders' webhook deliveries: every request to a lender's webhook (with a
well-formed lender code) is recorded with whether its signature verified and what became of it,
and the back office shows an application's deliveries beside its lender submissions.

A delivery is recorded in a short transaction of its own after the answer is decided, so a
failed event (rolled back, retried by the lender) still leaves its row. Recording never changes
the lender's answer: a failure to record is logged. The summary holds no personal data: a
decision's status and how many offers and reasons it carried, a servicing report's kind and day
(no names, amounts or the lender's free text)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from lending.db import SessionMaker, transaction
from lending.errors import NotFound
from lending.identity.actor import Actor
from lending.identity.scopes import Scope
from lending.lenders.integration.protocol import LenderWebhookEvent
from lending.lenders.schemas import WebhookDeliveryRead
from lending.logs import get_logger
from lending.models.applications import Application
from lending.models.lenders import Lender, LenderSubmission, LenderWebhookDelivery, WebhookOutcome

log = get_logger(__name__)

# An application's page shows its newest deliveries, this many.
SHOWN = 100


def event_summary(event: LenderWebhookEvent) -> dict[str, Any]:
    """What the event said, without personal data."""
    if event.decision is not None:
        return {
            "status": event.decision.status.value,
            "offers": len(event.decision.offers),
            "reasons": len(event.decision.reasons),
        }
    assert event.servicing is not None
    return {
        "kind": event.servicing.kind.value,
        "occurred_on": event.servicing.occurred_on.isoformat(),
    }


def application_reference(event: LenderWebhookEvent) -> str:
    if event.decision is not None:
        return event.decision.application_reference[:64]
    assert event.servicing is not None
    return event.servicing.application_reference


class WebhookHistoryService:
    async def record(
        self,
        sessionmaker: SessionMaker,
        *,
        lender_code: str,
        signature_ok: bool,
        outcome: WebhookOutcome,
        reason: str | None = None,
        event: LenderWebhookEvent | None = None,
    ) -> None:
        """Record one delivery (its own transaction); never raises."""
        delivery = LenderWebhookDelivery(
            lender_code=lender_code[:64],
            signature_ok=signature_ok,
            outcome=outcome,
            reason=reason[:200] if reason else None,
            event_id=event.event_id if event else None,
            event_type=event.event_type if event else None,
            application_reference=application_reference(event) if event else None,
            summary=event_summary(event) if event else {},
        )
        try:
            async with transaction(sessionmaker) as session:
                session.add(delivery)
        except Exception as exc:  # the history must never change the lender's answer
            log.warning(
                "lender_webhook_history_not_recorded",
                lender_code=lender_code[:64],
                outcome=outcome.value,
                error=type(exc).__name__,
            )

    async def for_application(
        self, session: AsyncSession, actor: Actor, *, application_id: uuid.UUID
    ) -> list[WebhookDeliveryRead]:
        """The deliveries naming an application, and the deliveries its lenders' webhooks refused
        since it was first submitted (an unverified request names nothing we can trust), newest
        first (platform administrators)."""
        actor.require(Scope.LENDERS_MANAGE, Scope.APPLICATIONS_READ_ALL)
        reference = await session.scalar(
            select(Application.reference).where(Application.id == application_id)
        )
        if reference is None:
            raise NotFound("No such application.")
        reach = LenderWebhookDelivery.application_reference == reference
        submitted = (
            await session.execute(
                select(Lender.slug, LenderSubmission.created_at)
                .join(Lender, Lender.id == LenderSubmission.lender_id)
                .where(LenderSubmission.application_id == application_id)
            )
        ).all()
        if submitted:
            reach = or_(
                reach,
                and_(
                    LenderWebhookDelivery.lender_code.in_([row.slug for row in submitted]),
                    LenderWebhookDelivery.application_reference.is_(None),
                    LenderWebhookDelivery.received_at >= min(row.created_at for row in submitted),
                ),
            )
        statement = (
            select(LenderWebhookDelivery)
            .where(reach)
            .order_by(LenderWebhookDelivery.received_at.desc(), LenderWebhookDelivery.id.desc())
            .limit(SHOWN)
        )
        rows: Sequence[LenderWebhookDelivery] = (await session.scalars(statement)).all()
        return [WebhookDeliveryRead.model_validate(row) for row in rows]


webhook_history_service = WebhookHistoryService()
