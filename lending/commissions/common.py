"""What the commission services share: job names, the platform's defaults, the audit call and
how an amount is written in an explanation."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from decimal import Decimal

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from lending.audit.schemas import Origin
from lending.audit.service import audit_service
from lending.identity.actor import Actor
from lending.identity.repository import OrganizationRepository

ACCRUE_FUNDED_TASK = "commissions.accrue_funded"
CLAWBACK_TASK = "commissions.claw_back"
TRAIL_TASK = "commissions.accrue_trail"
# The platform lends in the US today: loans are US-dollar loans under US rules unless a rule
# says otherwise (a jurisdiction is data: see commission_jurisdiction).
DEFAULT_JURISDICTION = "US"
DEFAULT_CURRENCY = "USD"


def money_text(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:,.2f}"


async def audit_change(
    session: AsyncSession,
    actor: Actor,
    action: str,
    origin: Origin | None,
    subject_type: str,
    subject_id: uuid.UUID | str,
    changed: BaseModel | Iterable[str] = (),
) -> None:
    """Audit a commission change, last in its unit of work (the fields a request set, by name)."""
    fields = changed.model_fields_set if isinstance(changed, BaseModel) else changed
    await audit_service.record_change(
        session,
        actor,
        action,
        origin=origin,
        subject_type=subject_type,
        subject_id=subject_id,
        fields=fields,
    )


async def platform_id(session: AsyncSession) -> uuid.UUID:
    """The platform organization (the payee of the platform's share)."""
    return (await OrganizationRepository.from_session(session).get_platform()).id
