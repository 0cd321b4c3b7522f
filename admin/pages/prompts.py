"""Prompts: every prompt, its versions with diffs, and moving labels (publish and roll back)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse, RedirectResponse, Response

from admin.listing import enum_filter
from admin.web import (
    OriginDep,
    SessionDep,
    Staff,
    StaffDep,
    refused_page,
    render,
    require_section,
    store_of,
)
from agents.prompts.service import prompt_service
from lending.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from lending.identity.scopes import Scope
from lending.models.prompts import PromptLabelName

router = APIRouter(prefix="/prompts", dependencies=[require_section("prompts")])


@router.get("")
async def prompts(
    request: Request,
    staff: StaffDep,
    session: SessionDep,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> HTMLResponse:
    # A few dozen prompts: searched here, not paged.
    found = await prompt_service.list_prompts(session, staff.actor)
    text = (q or "").strip().lower()
    if text:
        found = [p for p in found if text in p.name.lower() or text in p.description.lower()]
    return render(
        request,
        "prompts/list.html",
        {"staff": staff, "current": "prompts", "title": "Prompts", "prompts": found, "q": q or ""},
        block="results",
    )


@router.get("/{name}")
async def prompt(
    request: Request,
    name: str,
    staff: StaffDep,
    session: SessionDep,
    diff_from: Annotated[int | None, Query(alias="from", ge=1)] = None,
    diff_to: Annotated[int | None, Query(alias="to", ge=1)] = None,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    notice = "The label was moved: running assistants use it now." if done == "moved" else None
    return await _detail(request, session, staff, name, diff_from, diff_to, notice=notice)


@router.post("/{name}/labels")
async def move_label(
    request: Request,
    name: str,
    staff: StaffDep,
    session: SessionDep,
    origin: OriginDep,
    label: Annotated[str, Form(max_length=20)],
    version: Annotated[int, Form(ge=1)],
) -> Response:
    try:
        chosen = enum_filter(PromptLabelName, label, "label")
        if chosen is None:
            raise InvalidInput("Choose a label.")
        await prompt_service.move_label(
            session,
            staff.actor,
            name=name,
            label=chosen,
            version=version,
            store=store_of(request),
            origin=origin,
        )
    except (Conflict, InvalidInput, PermissionDenied, NotFound) as refused:
        return await refused_page(
            session, refused, _detail, request, session, staff, name, None, None
        )
    return RedirectResponse(f"/admin/prompts/{name}?done=moved", status_code=303)


async def _detail(
    request: Request,
    session: AsyncSession,
    staff: Staff,
    name: str,
    diff_from: int | None,
    diff_to: int | None,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    detail = await prompt_service.get(session, staff.actor, name=name)
    diff = None
    if diff_from is not None and diff_to is not None:
        diff = await prompt_service.diff(
            session, staff.actor, name=name, from_version=diff_from, to_version=diff_to
        )
    newest = detail.versions[0].number if detail.versions else None
    return render(
        request,
        "prompts/detail.html",
        {
            "staff": staff,
            "current": "prompts",
            "title": f"Prompt {detail.name}",
            "prompt": detail,
            "diff": diff,
            "diff_from": diff_from or (newest - 1 if newest and newest > 1 else newest),
            "diff_to": diff_to or newest,
            "labels": list(PromptLabelName),
            "may_manage": staff.actor.has(Scope.PROMPTS_MANAGE),
            "notice": notice,
            "error": error,
        },
        status_code=status_code,
        block="diff",
    )
