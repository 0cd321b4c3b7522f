"""Lenders and products: the catalog as of a day, every version, new versions effective from a
day, retirement, integration settings, webhook secret rotation and lender performance.

Every action is one call to `lending.lenders.catalog_service.catalog`, `integration_service
.integration` or `performance.performance` (the REST routes' services: `lenders:manage`, the
same validation, audit rows in the same transaction)."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse, RedirectResponse, Response

from admin.forms import json_object, optional_day, validated
from admin.web import (
    OriginDep,
    SessionDep,
    Staff,
    StaffDep,
    refused_page,
    render,
    require_section,
    settings_of,
)
from lending.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from lending.lenders.catalog_service import catalog_service
from lending.lenders.integration_service import integration_service
from lending.lenders.performance import performance_service
from lending.lenders.schemas import (
    IntegrationUpdate,
    LenderCreate,
    LenderEdit,
    ProductCreate,
    ProductEdit,
    ProductTermsSpec,
    ProductVersionRead,
    Retirement,
    RotatedWebhookSecret,
)
from lending.models.lenders import IntegrationAdapter

router = APIRouter(prefix="/lenders", dependencies=[require_section("lenders")])

_REFUSALS = (Conflict, InvalidInput, NotFound, PermissionDenied)
Refusal = Conflict | InvalidInput | NotFound | PermissionDenied
_DONE = {
    "created": "The lender was created.",
    "edited": "A new version of the lender's details was saved.",
    "retired": "The lender's retirement was saved.",
    "integration": "The integration settings were saved.",
    "product": "The product was created.",
    "product-edited": "A new version of the product's terms was saved.",
    "product-retired": "The product's retirement was saved.",
}
_Text = Annotated[str, Form(max_length=2000)]
_Day = Annotated[str, Form(max_length=10)]


@router.get("")
async def lenders(
    request: Request,
    staff: StaffDep,
    session: SessionDep,
    on: Annotated[str | None, Query(max_length=10)] = None,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    day = optional_day(on, "on")
    return await _list(request, session, staff, day, notice=_DONE.get(done or ""))


@router.post("")
async def create_lender(
    request: Request,
    staff: StaffDep,
    session: SessionDep,
    origin: OriginDep,
    slug: Annotated[str, Form(max_length=80)],
    name: _Text,
    nmls_id: _Text = "",
    website: _Text = "",
    description: _Text = "",
    effective_from: _Day = "",
    note: _Text = "",
) -> Response:
    values = {"slug": slug, **_details(name, nmls_id, website, description, effective_from, note)}
    try:
        created = await catalog_service.create_lender(
            session, staff.actor, data=validated(LenderCreate, values), origin=origin
        )
    except _REFUSALS as refused:
        return await refused_page(
            session, refused, _list, request, session, staff, None, form=values
        )
    return RedirectResponse(f"/admin/lenders/{created.lender_id}?done=created", status_code=303)


@router.get("/performance")
async def lender_performance(
    request: Request,
    staff: StaffDep,
    session: SessionDep,
    since: Annotated[str | None, Query(max_length=10)] = None,
    until: Annotated[str | None, Query(max_length=10)] = None,
) -> HTMLResponse:
    first, last = optional_day(since, "since"), optional_day(until, "until")
    figures = await performance_service.lenders(session, staff.actor, since=first, until=last)
    return render(
        request,
        "lenders/performance.html",
        {
            "staff": staff,
            "current": "lenders",
            "title": "Lender performance",
            "figures": figures,
            "since": figures[0].since if figures else first,
            "until": figures[0].until if figures else last,
        },
    )


@router.get("/{lender_id}")
async def lender(
    request: Request,
    lender_id: uuid.UUID,
    staff: StaffDep,
    session: SessionDep,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    return await _detail(request, session, staff, lender_id, notice=_DONE.get(done or ""))


@router.post("/{lender_id}/edit")
async def edit_lender(
    request: Request,
    lender_id: uuid.UUID,
    staff: StaffDep,
    session: SessionDep,
    origin: OriginDep,
    name: _Text = "",
    nmls_id: _Text = "",
    website: _Text = "",
    description: _Text = "",
    effective_from: _Day = "",
    note: _Text = "",
) -> Response:
    values = _details(name, nmls_id, website, description, effective_from, note)
    try:
        await catalog_service.edit_lender(
            session,
            staff.actor,
            lender_id=lender_id,
            data=validated(LenderEdit, values),
            origin=origin,
        )
    except _REFUSALS as refused:
        return await refused_page(session, refused, _detail, request, session, staff, lender_id)
    return RedirectResponse(f"/admin/lenders/{lender_id}?done=edited", status_code=303)


@router.post("/{lender_id}/retire")
async def retire_lender(
    request: Request,
    lender_id: uuid.UUID,
    staff: StaffDep,
    session: SessionDep,
    origin: OriginDep,
    note: _Text = "",
    effective_from: _Day = "",
) -> Response:
    try:
        data = validated(Retirement, {"note": note, "effective_from": effective_from})
        await catalog_service.retire_lender(
            session, staff.actor, lender_id=lender_id, data=data, origin=origin
        )
    except _REFUSALS as refused:
        return await refused_page(session, refused, _detail, request, session, staff, lender_id)
    return RedirectResponse(f"/admin/lenders/{lender_id}?done=retired", status_code=303)


@router.post("/{lender_id}/integration")
async def set_integration(
    request: Request,
    lender_id: uuid.UUID,
    staff: StaffDep,
    session: SessionDep,
    origin: OriginDep,
    adapter: Annotated[str, Form(max_length=20)],
    base_url: Annotated[str, Form(max_length=600)] = "",
) -> Response:
    try:
        data = validated(IntegrationUpdate, {"adapter": adapter, "base_url": base_url})
        await integration_service.set_integration(
            session, staff.actor, lender_id=lender_id, data=data, origin=origin
        )
    except _REFUSALS as refused:
        return await refused_page(session, refused, _detail, request, session, staff, lender_id)
    return RedirectResponse(f"/admin/lenders/{lender_id}?done=integration", status_code=303)


@router.post("/{lender_id}/webhook-secret")
async def rotate_webhook_secret(
    request: Request, lender_id: uuid.UUID, staff: StaffDep, session: SessionDep, origin: OriginDep
) -> Response:
    """The new secret is on this response only (no redirect: a reload would not show it, and
    Cache-Control: no-store keeps it out of the browser's cache)."""
    try:
        rotated = await integration_service.rotate_webhook_secret(
            session, staff.actor, settings=settings_of(request), lender_id=lender_id, origin=origin
        )
    except _REFUSALS as refused:
        return await refused_page(session, refused, _detail, request, session, staff, lender_id)
    return await _detail(request, session, staff, lender_id, rotated=rotated)


@router.post("/{lender_id}/products")
async def create_product(
    request: Request,
    lender_id: uuid.UUID,
    staff: StaffDep,
    session: SessionDep,
    origin: OriginDep,
    code: Annotated[str, Form(max_length=80)],
    terms: Annotated[str, Form(max_length=20000)],
    effective_from: _Day = "",
    note: _Text = "",
) -> Response:
    try:
        values = {
            **json_object(terms, "terms"),
            "code": code,
            "effective_from": effective_from,
            "note": note,
        }
        await catalog_service.create_product(
            session,
            staff.actor,
            lender_id=lender_id,
            data=validated(ProductCreate, values),
            origin=origin,
        )
    except _REFUSALS as refused:
        return await refused_page(
            session, refused, _detail, request, session, staff, lender_id, terms=terms
        )
    return RedirectResponse(f"/admin/lenders/{lender_id}?done=product", status_code=303)


@router.get("/{lender_id}/products/{product_id}")
async def product(
    request: Request,
    lender_id: uuid.UUID,
    product_id: uuid.UUID,
    staff: StaffDep,
    session: SessionDep,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    return await _product(
        request, session, staff, lender_id, product_id, notice=_DONE.get(done or "")
    )


@router.post("/{lender_id}/products/{product_id}/edit")
async def edit_product(
    request: Request,
    lender_id: uuid.UUID,
    product_id: uuid.UUID,
    staff: StaffDep,
    session: SessionDep,
    origin: OriginDep,
    terms: Annotated[str, Form(max_length=20000)],
    effective_from: _Day = "",
    note: _Text = "",
) -> Response:
    try:
        values = {**json_object(terms, "terms"), "effective_from": effective_from, "note": note}
        await _product_of(session, staff, lender_id, product_id)
        await catalog_service.edit_product(
            session,
            staff.actor,
            product_id=product_id,
            data=validated(ProductEdit, values),
            origin=origin,
        )
    except _REFUSALS as refused:
        return await refused_page(
            session, refused, _product, request, session, staff, lender_id, product_id, terms=terms
        )
    return RedirectResponse(
        f"/admin/lenders/{lender_id}/products/{product_id}?done=product-edited", status_code=303
    )


@router.post("/{lender_id}/products/{product_id}/retire")
async def retire_product(
    request: Request,
    lender_id: uuid.UUID,
    product_id: uuid.UUID,
    staff: StaffDep,
    session: SessionDep,
    origin: OriginDep,
    note: _Text = "",
    effective_from: _Day = "",
) -> Response:
    try:
        data = validated(Retirement, {"note": note, "effective_from": effective_from})
        await _product_of(session, staff, lender_id, product_id)
        await catalog_service.retire_product(
            session, staff.actor, product_id=product_id, data=data, origin=origin
        )
    except _REFUSALS as refused:
        return await refused_page(
            session, refused, _product, request, session, staff, lender_id, product_id
        )
    return RedirectResponse(
        f"/admin/lenders/{lender_id}/products/{product_id}?done=product-retired", status_code=303
    )


def _details(
    name: str, nmls_id: str, website: str, description: str, effective_from: str, note: str
) -> dict[str, str]:
    """The lender form's fields as typed (validated by the service's schema, shown again when
    it is refused)."""
    return {
        "name": name,
        "nmls_id": nmls_id,
        "website": website,
        "description": description,
        "effective_from": effective_from,
        "note": note,
    }


# Rendering


async def _list(
    request: Request,
    session: AsyncSession,
    staff: Staff,
    on: date | None,
    *,
    notice: str | None = None,
    error: str | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    found = await catalog_service.list_lenders(session, staff.actor, on=on)
    return render(
        request,
        "lenders/list.html",
        {
            "staff": staff,
            "current": "lenders",
            "title": "Lenders",
            "lenders": found,
            "on": on.isoformat() if on else "",
            "form": form or {},
            "notice": notice,
            "error": error,
        },
        status_code=status_code,
    )


async def _detail(
    request: Request,
    session: AsyncSession,
    staff: Staff,
    lender_id: uuid.UUID,
    *,
    notice: str | None = None,
    error: str | None = None,
    rotated: RotatedWebhookSecret | None = None,
    terms: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    found = await catalog_service.get_lender(session, staff.actor, lender_id=lender_id)
    history = await catalog_service.lender_history(session, staff.actor, lender_id=lender_id)
    latest = history[-1]
    return render(
        request,
        "lenders/detail.html",
        {
            "staff": staff,
            "current": "lenders",
            "title": latest.name,
            "lender": found,
            "latest": latest,
            "history": list(reversed(history)),
            "adapters": list(IntegrationAdapter),
            "rotated": rotated,
            "terms": terms if terms is not None else _EXAMPLE_TERMS,
            "notice": notice,
            "error": error,
        },
        status_code=status_code,
    )


async def _product_of(
    session: AsyncSession, staff: Staff, lender_id: uuid.UUID, product_id: uuid.UUID
) -> list[ProductVersionRead]:
    """The product's versions, oldest first, refused unless it is this lender's."""
    history = await catalog_service.product_history(session, staff.actor, product_id=product_id)
    if history[0].lender_id != lender_id:
        raise NotFound("No such product.")
    return history


async def _product(
    request: Request,
    session: AsyncSession,
    staff: Staff,
    lender_id: uuid.UUID,
    product_id: uuid.UUID,
    *,
    notice: str | None = None,
    error: str | None = None,
    terms: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    history = await _product_of(session, staff, lender_id, product_id)
    latest = history[-1]
    return render(
        request,
        "lenders/product.html",
        {
            "staff": staff,
            "current": "lenders",
            "title": f"Product {latest.name}",
            "lender_id": lender_id,
            "latest": latest,
            "history": list(reversed(history)),
            "terms_of": _terms_json,
            "terms": terms if terms is not None else _terms_json(latest),
            "notice": notice,
            "error": error,
        },
        status_code=status_code,
    )


def _terms_json(version: ProductVersionRead) -> str:
    """A version's terms as the JSON the edit form takes (the product terms' fields only)."""
    values: dict[str, Any] = version.model_dump(mode="json", include=_TERM_FIELDS)
    return json.dumps(values, indent=2, sort_keys=True)


_TERM_FIELDS = set(ProductTermsSpec.model_fields)
_EXAMPLE_TERMS = json.dumps(
    {
        "name": "",
        "product_type": "personal",
        "min_amount": "1000",
        "max_amount": "25000",
        "min_term_months": 12,
        "max_term_months": 60,
        "rate_table": {"excellent": "7.99", "good": "11.99"},
        "min_credit_band": "good",
        "max_dti": "45",
    },
    indent=2,
)
