"""The notification tools: "anything new on my application?" and a broker's "remind Riley to
upload her pay stub".

Thin wrappers over lending.notifications and lending.reminders, with their permission checks;
the person is always the actor, never an argument the model chooses.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from lending.applications.service import application_service
from lending.identity.scopes import Scope
from lending.notifications.service import notification_service
from lending.reminders.schemas import DocumentReminderRead
from lending.reminders.service import reminder_service
from tools.base import Tool, ToolCall, tool

# Every role that has applications to ask about: their own, their clients', the firm's, all.
NEWS_SCOPES = [
    Scope.APPLICATIONS_READ_OWN,
    Scope.APPLICATIONS_READ_FIRM,
    Scope.APPLICATIONS_READ_ALL,
]
_NEWS_LIMIT = 20


class NewsInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    application_id: uuid.UUID | None = None


class NewsItem(BaseModel):
    kind: str
    message: str
    application_id: uuid.UUID | None
    created_at: str


class NewsRead(BaseModel):
    items: list[NewsItem]
    still_unread: int = Field(description="Unread notifications not in this answer.")


class ReminderInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    application_id: uuid.UUID
    document: str | None = Field(default=None, max_length=64)


@tool(scopes=NEWS_SCOPES, side_effect=True)
async def check_my_notifications(call: ToolCall, data: NewsInput) -> NewsRead:
    """What is new for the person talking: their unread notifications (a lender's decision,
    offers, a document not accepted or still missing, commission), newest first, in their
    language. The ones returned are marked read, because the person has now been told; say
    each briefly. None means nothing new since they last looked.

    Use for "anything new on my application?", "any news?", "did the lender answer?".

    Args:
        application_id: Only this application's news; empty for everything new.
    """
    if data.application_id is not None:
        # An application the person may not see is not found, as everywhere else (the list below
        # would only be empty, which tells a caller nothing true).
        await application_service.load(call.session, call.actor, application_id=data.application_id)
    found = await notification_service.list_own(
        call.session,
        call.actor,
        unread_only=True,
        limit=_NEWS_LIMIT,
        application_id=data.application_id,
    )
    await notification_service.mark_read(
        call.session, call.actor, notification_ids=[item.id for item in found.items]
    )
    return NewsRead(
        items=[
            NewsItem(
                kind=item.kind,
                message=item.message,
                application_id=item.application_id,
                created_at=item.created_at.isoformat(),
            )
            for item in found.items
        ],
        still_unread=max(0, found.unread_count - len(found.items)),
    )


@tool(scopes=[Scope.REFERRALS_SHARE], side_effect=True)
async def remind_client_about_documents(
    call: ToolCall, data: ReminderInput
) -> DocumentReminderRead:
    """Remind one of your clients (a borrower whose application you handle) to upload what
    their application is missing: they get a notification in the app and an e-mail naming the
    document. At most one reminder per client a day; only a document the application is
    actually missing.

    Use for "remind Riley to upload her pay stub" after finding Riley's application with
    list_applications. Say which document the reminder named.

    Args:
        application_id: The client's application.
        document: What to ask for: a document type (pay_stub, w2, bank_statement,
            identification, tax_return, proof_of_address, business_licence) or empty for
            everything the application is missing.
    """
    return await reminder_service.remind_document(
        call.session,
        call.actor,
        settings=call.settings,
        application_id=data.application_id,
        requirement=data.document,
        origin=call.context.origin,
    )


NOTIFICATION_TOOLS: list[Tool[Any, Any]] = [
    check_my_notifications,
    remind_client_about_documents,
]
