"""A broker's reminder to a client about the documents their application is missing (the same
service as the assistant's `remind_client_about_documents`)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from api.auth import CurrentActor, OriginDep
from api.deps import SessionDep, StateDep
from api.errors import error_responses
from api.ratelimit import rate_limit
from lending.errors import Conflict, NotAuthenticated, NotFound, PermissionDenied, RateLimited
from lending.identity.errors import MfaEnrollmentRequired
from lending.reminders.schemas import DocumentReminderCreate, DocumentReminderRead
from lending.reminders.service import reminder_service

router = APIRouter(
    prefix="/api/v1/applications", tags=["applications"], dependencies=[rate_limit("default")]
)


@router.post(
    "/{application_id}/document-reminders",
    summary="Remind your client to upload what their application is missing (brokers; once a "
    "day per client): a notification and an e-mail naming the document",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(
        NotAuthenticated, MfaEnrollmentRequired, PermissionDenied, NotFound, Conflict, RateLimited
    ),
)
async def remind_about_documents(
    application_id: uuid.UUID,
    body: DocumentReminderCreate,
    actor: CurrentActor,
    session: SessionDep,
    state: StateDep,
    origin: OriginDep,
) -> DocumentReminderRead:
    return await reminder_service.remind_document(
        session,
        actor,
        settings=state.settings,
        application_id=application_id,
        requirement=body.document,
        origin=origin,
    )
