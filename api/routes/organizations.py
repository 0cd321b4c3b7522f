"""Organizations: broker firms and the platform (managed by platform administrators)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from api.auth import CurrentActor, OriginDep
from api.deps import SessionDep, StateDep, StoreDep
from api.errors import error_responses
from api.ratelimit import rate_limit
from lending.errors import Conflict, NotAuthenticated, NotFound, PermissionDenied, RateLimited
from lending.identity.errors import MfaEnrollmentRequired
from lending.identity.organizations import organization_service
from lending.identity.schemas import OrganizationCreate, OrganizationRead, OrganizationUpdate

router = APIRouter(
    prefix="/api/v1/organizations", tags=["organizations"], dependencies=[rate_limit("default")]
)
_AUTH_ERRORS = (NotAuthenticated, MfaEnrollmentRequired, RateLimited)


@router.get(
    "",
    summary="Organizations you can see (all for platform administrators, else your own)",
    responses=error_responses(*_AUTH_ERRORS),
)
async def list_organizations(actor: CurrentActor, session: SessionDep) -> list[OrganizationRead]:
    found = await organization_service.list(session, actor)
    return [OrganizationRead.model_validate(organization) for organization in found]


@router.post(
    "",
    summary="Create a broker firm",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(*_AUTH_ERRORS, PermissionDenied, Conflict),
)
async def create_organization(
    body: OrganizationCreate, actor: CurrentActor, session: SessionDep, origin: OriginDep
) -> OrganizationRead:
    created = await organization_service.create(session, actor, data=body, origin=origin)
    return OrganizationRead.model_validate(created)


@router.get(
    "/{organization_id}",
    summary="One organization",
    responses=error_responses(*_AUTH_ERRORS, NotFound),
)
async def read_organization(
    organization_id: uuid.UUID, actor: CurrentActor, session: SessionDep
) -> OrganizationRead:
    found = await organization_service.get(session, actor, organization_id=organization_id)
    return OrganizationRead.model_validate(found)


@router.patch(
    "/{organization_id}",
    summary="Rename, suspend or reactivate an organization, or set its MFA requirement",
    responses=error_responses(*_AUTH_ERRORS, PermissionDenied, NotFound, Conflict),
)
async def update_organization(
    organization_id: uuid.UUID,
    body: OrganizationUpdate,
    actor: CurrentActor,
    session: SessionDep,
    store: StoreDep,
    state: StateDep,
    origin: OriginDep,
) -> OrganizationRead:
    updated = await organization_service.update(
        session,
        actor,
        store=store,
        settings=state.settings,
        organization_id=organization_id,
        data=body,
        origin=origin,
    )
    return OrganizationRead.model_validate(updated)
