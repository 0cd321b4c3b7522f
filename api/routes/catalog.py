"""Managing the lender catalog (platform administrators): dated versions of lenders and
products, integration settings, webhook secret rotation, lender performance (issue 17)."""

from __future__ import annotations

import uuid
from datetime import date

from fastapi import APIRouter, Response, status

from api.auth import CurrentActor, OriginDep
from api.deps import SessionDep, StateDep
from api.errors import error_responses
from api.ratelimit import rate_limit
from lending.errors import (
    Conflict,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from lending.identity.errors import MfaEnrollmentRequired
from lending.lenders.catalog_service import EffectiveDateError, RetiredError, catalog_service
from lending.lenders.integration_service import integration_service
from lending.lenders.performance import performance_service
from lending.lenders.schemas import (
    CatalogLender,
    IntegrationRead,
    IntegrationUpdate,
    LenderCreate,
    LenderEdit,
    LenderPerformance,
    LenderVersionRead,
    ProductCreate,
    ProductEdit,
    ProductVersionRead,
    Retirement,
    RotatedWebhookSecret,
)

router = APIRouter(prefix="/api/v1/catalog", tags=["catalog"], dependencies=[rate_limit("default")])
_AUTH = (NotAuthenticated, MfaEnrollmentRequired, RateLimited, PermissionDenied)
_WRITE = (*_AUTH, NotFound, InvalidInput)
_CREATED = status.HTTP_201_CREATED


@router.get(
    "/lenders",
    summary="Every lender with its products, as of a day (default today)",
    responses=error_responses(*_AUTH),
)
async def list_catalog(
    actor: CurrentActor, session: SessionDep, on: date | None = None
) -> list[CatalogLender]:
    return await catalog_service.list_lenders(session, actor, on=on)


@router.post(
    "/lenders",
    status_code=_CREATED,
    summary="Create a lender (version 1, effective from a day)",
    responses=error_responses(*_WRITE, Conflict, EffectiveDateError),
)
async def create_lender(
    body: LenderCreate, actor: CurrentActor, session: SessionDep, origin: OriginDep
) -> LenderVersionRead:
    return await catalog_service.create_lender(session, actor, data=body, origin=origin)


@router.get(
    "/lenders/{lender_id}",
    summary="One lender with its products, as of a day (default today)",
    responses=error_responses(*_AUTH, NotFound),
)
async def read_catalog_lender(
    lender_id: uuid.UUID, actor: CurrentActor, session: SessionDep, on: date | None = None
) -> CatalogLender:
    return await catalog_service.get_lender(session, actor, lender_id=lender_id, on=on)


@router.get(
    "/lenders/{lender_id}/versions",
    summary="Every version of a lender's details, oldest first",
    responses=error_responses(*_AUTH, NotFound),
)
async def lender_versions(
    lender_id: uuid.UUID, actor: CurrentActor, session: SessionDep
) -> list[LenderVersionRead]:
    return await catalog_service.lender_history(session, actor, lender_id=lender_id)


@router.post(
    "/lenders/{lender_id}/versions",
    status_code=_CREATED,
    summary="Edit a lender: a new version of its details, effective from a day",
    responses=error_responses(*_WRITE, RetiredError, EffectiveDateError),
)
async def edit_lender(
    lender_id: uuid.UUID,
    body: LenderEdit,
    actor: CurrentActor,
    session: SessionDep,
    origin: OriginDep,
) -> LenderVersionRead:
    return await catalog_service.edit_lender(
        session, actor, lender_id=lender_id, data=body, origin=origin
    )


@router.post(
    "/lenders/{lender_id}/retirement",
    summary="Retire a lender from a day (nothing is deleted)",
    responses=error_responses(*_WRITE, EffectiveDateError),
)
async def retire_lender(
    lender_id: uuid.UUID,
    body: Retirement,
    actor: CurrentActor,
    session: SessionDep,
    origin: OriginDep,
) -> LenderVersionRead:
    return await catalog_service.retire_lender(
        session, actor, lender_id=lender_id, data=body, origin=origin
    )


@router.post(
    "/lenders/{lender_id}/products",
    status_code=_CREATED,
    summary="Create a product of a lender (version 1, effective from a day)",
    responses=error_responses(*_WRITE, Conflict, RetiredError, EffectiveDateError),
)
async def create_product(
    lender_id: uuid.UUID,
    body: ProductCreate,
    actor: CurrentActor,
    session: SessionDep,
    origin: OriginDep,
) -> ProductVersionRead:
    return await catalog_service.create_product(
        session, actor, lender_id=lender_id, data=body, origin=origin
    )


@router.get(
    "/products/{product_id}/versions",
    summary="Every version of a product's terms, oldest first",
    responses=error_responses(*_AUTH, NotFound),
)
async def product_versions(
    product_id: uuid.UUID, actor: CurrentActor, session: SessionDep
) -> list[ProductVersionRead]:
    return await catalog_service.product_history(session, actor, product_id=product_id)


@router.post(
    "/products/{product_id}/versions",
    status_code=_CREATED,
    summary="Edit a product: a new version of its terms, effective from a day",
    responses=error_responses(*_WRITE, RetiredError, EffectiveDateError),
)
async def edit_product(
    product_id: uuid.UUID,
    body: ProductEdit,
    actor: CurrentActor,
    session: SessionDep,
    origin: OriginDep,
) -> ProductVersionRead:
    return await catalog_service.edit_product(
        session, actor, product_id=product_id, data=body, origin=origin
    )


@router.post(
    "/products/{product_id}/retirement",
    summary="Retire a product from a day (nothing is deleted)",
    responses=error_responses(*_WRITE, EffectiveDateError),
)
async def retire_product(
    product_id: uuid.UUID,
    body: Retirement,
    actor: CurrentActor,
    session: SessionDep,
    origin: OriginDep,
) -> ProductVersionRead:
    return await catalog_service.retire_product(
        session, actor, product_id=product_id, data=body, origin=origin
    )


@router.put(
    "/lenders/{lender_id}/integration",
    summary="How the platform reaches a lender: the simulator, its own API, or not at all",
    responses=error_responses(*_WRITE),
)
async def set_integration(
    lender_id: uuid.UUID,
    body: IntegrationUpdate,
    actor: CurrentActor,
    session: SessionDep,
    origin: OriginDep,
) -> IntegrationRead:
    return await integration_service.set_integration(
        session, actor, lender_id=lender_id, data=body, origin=origin
    )


@router.post(
    "/lenders/{lender_id}/webhook-secret",
    status_code=_CREATED,
    summary="Rotate a lender's webhook secret: the new one is shown this once",
    responses=error_responses(*_AUTH, NotFound),
)
async def rotate_webhook_secret(
    lender_id: uuid.UUID,
    actor: CurrentActor,
    session: SessionDep,
    state: StateDep,
    origin: OriginDep,
    response: Response,
) -> RotatedWebhookSecret:
    # A secret in the answer: no cache may keep it.
    response.headers["Cache-Control"] = "no-store"
    return await integration_service.rotate_webhook_secret(
        session, actor, settings=state.settings, lender_id=lender_id, origin=origin
    )


@router.get(
    "/performance",
    summary="Lenders' approval rate, time to decision and funded volume over days",
    responses=error_responses(*_AUTH, NotFound, InvalidInput),
)
async def lender_performance(
    actor: CurrentActor,
    session: SessionDep,
    since: date | None = None,
    until: date | None = None,
    lender_id: uuid.UUID | None = None,
) -> list[LenderPerformance]:
    return await performance_service.lenders(
        session, actor, since=since, until=until, lender_id=lender_id
    )
