"""Commission rules: each rule's immutable versions, a new version from a date, a new rule.

The terms are typed as JSON (the REST API's `RuleTerms`), prefilled from the latest version;
the jurisdiction's guards refuse a rule in the service's own words. There is no maker-checker
here because the service has none for rules: a platform admin with `commissions:approve` saves.
"""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse, RedirectResponse, Response

from admin.forms import json_object, validated
from admin.web import (
    OriginDep,
    SessionDep,
    Staff,
    StaffDep,
    refused_page,
    render,
    require_section,
)
from lending.commissions.commission_rules import commission_rule_service
from lending.commissions.schemas import RuleCreate, RuleRead, RuleTerms
from lending.errors import Conflict, InvalidInput, PermissionDenied

router = APIRouter(prefix="/commissions/rules", dependencies=[require_section("commissions")])

_REFUSALS = (Conflict, InvalidInput, PermissionDenied)
_DONE = {
    "created": "The rule was saved with its first version.",
    "versioned": "The new version was saved; earlier amounts keep the version that made them.",
}
# What a new rule's form starts from: a platform-wide US rule paying 1% upfront to the broker.
_NEW_RULE = {
    "name": "",
    "scope": "platform",
    "scope_id": None,
    "jurisdiction": "US",
    "currency": "USD",
    "effective_from": "",
    "basis": "funded_amount",
    "upfront_percent": "1.00",
    "tax_percent": "0",
    "splits": {"broker": "100"},
}


@router.get("")
async def rules(request: Request, staff: StaffDep, session: SessionDep) -> HTMLResponse:
    return await _list(request, session, staff)


@router.post("")
async def create_rule(
    request: Request,
    staff: StaffDep,
    session: SessionDep,
    origin: OriginDep,
    terms: Annotated[str, Form(max_length=20_000)],
) -> Response:
    try:
        data = validated(RuleCreate, json_object(terms, "rule's terms"))
        created = await commission_rule_service.create_rule(
            session, staff.actor, data=data, origin=origin
        )
    except _REFUSALS as refused:
        return await refused_page(session, refused, _list, request, session, staff, terms=terms)
    return RedirectResponse(f"/admin/commissions/rules/{created.id}?done=created", 303)


@router.get("/{rule_id}")
async def rule(
    request: Request,
    rule_id: uuid.UUID,
    staff: StaffDep,
    session: SessionDep,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    return await _detail(request, session, staff, rule_id, notice=_DONE.get(done or ""))


@router.post("/{rule_id}/versions")
async def add_version(
    request: Request,
    rule_id: uuid.UUID,
    staff: StaffDep,
    session: SessionDep,
    origin: OriginDep,
    effective_from: Annotated[str, Form(max_length=20)],
    terms: Annotated[str, Form(max_length=20_000)],
) -> Response:
    try:
        values = {**json_object(terms, "version's terms"), "effective_from": effective_from}
        await commission_rule_service.add_version(
            session,
            staff.actor,
            rule_id=rule_id,
            data=validated(RuleTerms, values),
            origin=origin,
        )
    except _REFUSALS as refused:
        return await refused_page(
            session,
            refused,
            _detail,
            request,
            session,
            staff,
            rule_id,
            form={"effective_from": effective_from, "terms": terms},
        )
    return RedirectResponse(f"/admin/commissions/rules/{rule_id}?done=versioned", 303)


def latest_terms(found: RuleRead) -> str:
    """The latest version's terms as the JSON a new version starts from (no date: the new
    version's own date is a field of its own)."""
    if not found.versions:
        return "{}"
    latest = max(found.versions, key=lambda version: version.version).model_dump(mode="json")
    terms = {name: latest[name] for name in RuleTerms.model_fields if name in latest}
    terms.pop("effective_from", None)
    return json.dumps(terms, indent=2)


async def _list(
    request: Request,
    session: AsyncSession,
    staff: Staff,
    *,
    error: str | None = None,
    terms: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "commissions/rules.html",
        {
            "staff": staff,
            "current": "commissions",
            "tab": "rules",
            "title": "Commission rules",
            "rules": await commission_rule_service.list_rules(session, staff.actor),
            "jurisdictions": await commission_rule_service.jurisdictions(session, staff.actor),
            "terms": terms if terms is not None else json.dumps(_NEW_RULE, indent=2),
            "error": error,
        },
        status_code=status_code,
    )


async def _detail(
    request: Request,
    session: AsyncSession,
    staff: Staff,
    rule_id: uuid.UUID,
    *,
    notice: str | None = None,
    error: str | None = None,
    form: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    found = await commission_rule_service.get_rule(session, staff.actor, rule_id=rule_id)
    return render(
        request,
        "commissions/rule.html",
        {
            "staff": staff,
            "current": "commissions",
            "tab": "rules",
            "title": found.name,
            "rule": found,
            "versions": sorted(found.versions, key=lambda version: -version.version),
            "form": form or {"effective_from": "", "terms": latest_terms(found)},
            "notice": notice,
            "error": error,
        },
        status_code=status_code,
    )
