"""Development-only helpers: the mailbox that stands in for an SMTP server (issue 19)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import SessionDep, StateDep
from api.errors import error_responses
from lending.errors import NotFound
from lending.mail.schemas import DevMailboxMessage
from lending.mail.service import mail_service

router = APIRouter(prefix="/api/v1/dev", tags=["dev"])


@router.get(
    "/mailbox",
    summary="The mail kept instead of sent (development only, no SMTP server configured)",
    responses=error_responses(NotFound),
)
async def dev_mailbox(session: SessionDep, state: StateDep) -> list[DevMailboxMessage]:
    return await mail_service.dev_mailbox(session, settings=state.settings)
