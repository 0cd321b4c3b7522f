"""The lender catalog: lenders and their products (brokers, staff; managers see inactive ones)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from api.auth import CurrentActor
from api.deps import SessionDep
from api.errors import error_responses
from api.ratelimit import rate_limit
from lending.errors import NotAuthenticated, NotFound, PermissionDenied, RateLimited
from lending.identity.errors import MfaEnrollmentRequired
from lending.lenders.schemas import LenderWithProducts
from lending.lenders.service import lender_service
from lending.models.applications import ProductType

router = APIRouter(prefix="/api/v1/lenders", tags=["lenders"], dependencies=[rate_limit("default")])
_AUTH_ERRORS = (NotAuthenticated, MfaEnrollmentRequired, RateLimited, PermissionDenied)


@router.get("", summary="Lenders and their products", responses=error_responses(*_AUTH_ERRORS))
async def list_lenders(
    actor: CurrentActor,
    session: SessionDep,
    product_type: ProductType | None = None,
    include_inactive: bool = False,
) -> list[LenderWithProducts]:
    return await lender_service.list_lenders(
        session, actor, product_type=product_type, include_inactive=include_inactive
    )


@router.get(
    "/{lender_id}",
    summary="One lender and its products",
    responses=error_responses(*_AUTH_ERRORS, NotFound),
)
async def read_lender(
    lender_id: uuid.UUID, actor: CurrentActor, session: SessionDep
) -> LenderWithProducts:
    return await lender_service.get(session, actor, lender_id=lender_id)
