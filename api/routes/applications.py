"""Loan applications: start, read, fill in, submit, withdraw, decide; their status events.

Thin adapters over lending.applications.service, the same service (and scopes) the assistant's
tools use; the service audits each change (REST passes the request's origin), whoever calls it.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from api.auth import CurrentActor, OriginDep
from api.deps import SessionDep
from api.errors import error_responses
from api.ratelimit import rate_limit
from lending.applications.schemas import (
    SEARCH_MAX_LENGTH,
    ApplicationCreate,
    ApplicationFilters,
    ApplicationList,
    ApplicationOrder,
    ApplicationRead,
    ApplicationUpdate,
    AssignBroker,
    EventRead,
    SubmitRequest,
    TransitionRequest,
    WithdrawRequest,
)
from lending.applications.service import application_service
from lending.db import MAX_OFFSET
from lending.errors import (
    Conflict,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from lending.identity.errors import MfaEnrollmentRequired
from lending.models.applications import ApplicationStatus, ProductType

router = APIRouter(
    prefix="/api/v1/applications", tags=["applications"], dependencies=[rate_limit("default")]
)
_AUTH_ERRORS = (NotAuthenticated, MfaEnrollmentRequired, RateLimited, PermissionDenied)
_CHANGE_ERRORS = (*_AUTH_ERRORS, NotFound, InvalidInput, Conflict)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Start a draft application (for yourself, or for a borrower you work with)",
    responses=error_responses(*_CHANGE_ERRORS),
)
async def start_application(
    body: ApplicationCreate, actor: CurrentActor, session: SessionDep, origin: OriginDep
) -> ApplicationRead:
    return await application_service.start(session, actor, data=body, origin=origin)


@router.get(
    "",
    summary="Applications you may see: filtered, searched, sorted, a page at a time",
    responses=error_responses(*_AUTH_ERRORS),
)
async def list_applications(
    actor: CurrentActor,
    session: SessionDep,
    status: Annotated[
        list[ApplicationStatus] | None,
        Query(description="Any of these statuses (repeat the parameter for more than one)."),
    ] = None,
    product_type: Annotated[
        list[ProductType] | None, Query(description="Any of these product types (repeatable).")
    ] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=SEARCH_MAX_LENGTH,
            description="Text found in the reference or the borrower's name or email (any case).",
        ),
    ] = None,
    order: ApplicationOrder = ApplicationOrder.NEWEST,
    borrower_user_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> ApplicationList:
    search = q.strip() if q else None
    return await application_service.list_applications(
        session,
        actor,
        ApplicationFilters(
            statuses=tuple(dict.fromkeys(status or ())),
            product_types=tuple(dict.fromkeys(product_type or ())),
            borrower_user_id=borrower_user_id,
            search=search or None,
            order=order,
        ),
        limit=limit,
        offset=offset,
    )


@router.get(
    "/{application_id}",
    summary="One application: answers, missing fields, DTI/LTV with inputs, submissions",
    responses=error_responses(*_AUTH_ERRORS, NotFound),
)
async def read_application(
    application_id: uuid.UUID, actor: CurrentActor, session: SessionDep
) -> ApplicationRead:
    return await application_service.get(session, actor, application_id=application_id)


@router.patch(
    "/{application_id}",
    summary="Change a draft's amount, term, purpose or slot values (optimistic locking)",
    responses=error_responses(*_CHANGE_ERRORS),
)
async def update_application(
    application_id: uuid.UUID,
    body: ApplicationUpdate,
    actor: CurrentActor,
    session: SessionDep,
    origin: OriginDep,
) -> ApplicationRead:
    return await application_service.update(
        session, actor, application_id=application_id, data=body, origin=origin
    )


@router.post(
    "/{application_id}/submit",
    summary="Submit a complete draft to the chosen lenders (one delivery job per lender)",
    responses=error_responses(*_CHANGE_ERRORS),
)
async def submit_application(
    application_id: uuid.UUID,
    body: SubmitRequest,
    actor: CurrentActor,
    session: SessionDep,
    origin: OriginDep,
) -> ApplicationRead:
    return await application_service.submit(
        session,
        actor,
        application_id=application_id,
        lender_ids=body.lender_ids,
        version=body.version,
        origin=origin,
    )


@router.post(
    "/{application_id}/withdraw",
    summary="Withdraw an application (final)",
    responses=error_responses(*_CHANGE_ERRORS),
)
async def withdraw_application(
    application_id: uuid.UUID,
    body: WithdrawRequest,
    actor: CurrentActor,
    session: SessionDep,
    origin: OriginDep,
) -> ApplicationRead:
    return await application_service.withdraw(
        session,
        actor,
        application_id=application_id,
        reason=body.reason,
        version=body.version,
        origin=origin,
    )


@router.post(
    "/{application_id}/transitions",
    summary="Move an application along the status table (decisions: platform administrators)",
    responses=error_responses(*_CHANGE_ERRORS),
)
async def transition_application(
    application_id: uuid.UUID,
    body: TransitionRequest,
    actor: CurrentActor,
    session: SessionDep,
    origin: OriginDep,
) -> ApplicationRead:
    return await application_service.transition(
        session,
        actor,
        application_id=application_id,
        to_status=body.to_status,
        reason=body.reason,
        version=body.version,
        denial_reasons=body.denial_reasons,
        origin=origin,
    )


@router.post(
    "/{application_id}/broker",
    summary="Assign the application to a broker of its firm (firm managers, platform)",
    responses=error_responses(*_CHANGE_ERRORS),
)
async def assign_broker(
    application_id: uuid.UUID,
    body: AssignBroker,
    actor: CurrentActor,
    session: SessionDep,
    origin: OriginDep,
) -> ApplicationRead:
    return await application_service.assign_broker(
        session,
        actor,
        application_id=application_id,
        broker_user_id=body.broker_user_id,
        version=body.version,
        origin=origin,
    )


@router.get(
    "/{application_id}/events",
    summary="The application's status changes: who, when, why, HMDA outcome",
    responses=error_responses(*_AUTH_ERRORS, NotFound),
)
async def application_events(
    application_id: uuid.UUID, actor: CurrentActor, session: SessionDep
) -> list[EventRead]:
    return await application_service.events(session, actor, application_id=application_id)
