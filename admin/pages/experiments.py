"""Prompt A/B experiments: a prompt's experiments, creating one (a draft), starting and stopping
it, and each arm's results - all `agents.prompts.service.prompt_service` calls (creating,
starting and stopping need `prompts:manage`; results `prompts:read`; each change audited)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse, RedirectResponse, Response

from admin.forms import validated
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
from agents.prompts.schemas import ExperimentCreate
from agents.prompts.service import prompt_service
from lending.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from lending.identity.scopes import Scope
from lending.models.prompts import PromptLabelName

router = APIRouter(prefix="/prompts", dependencies=[require_section("prompts")])

_REFUSALS = (Conflict, InvalidInput, NotFound, PermissionDenied)
_ARM_ROWS = 3
_DONE = {
    "created": "The experiment was created as a draft: start it to serve its arms.",
    "started": "The experiment is running: its arms are served on its label now.",
    "stopped": "The experiment was stopped: the label's version serves everyone again.",
}


@router.get("/{name}/experiments")
async def experiments(
    request: Request,
    name: str,
    staff: StaffDep,
    session: SessionDep,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    return await _list(request, session, staff, name, notice=_DONE.get(done or ""))


@router.post("/{name}/experiments")
async def create_experiment(
    request: Request,
    name: str,
    staff: StaffDep,
    session: SessionDep,
    origin: OriginDep,
    title: Annotated[str, Form(max_length=100)],
    label: Annotated[str, Form(max_length=20)],
    description: Annotated[str, Form(max_length=2000)] = "",
    arm_name: Annotated[list[str] | None, Form()] = None,
    arm_version: Annotated[list[str] | None, Form()] = None,
    arm_weight: Annotated[list[str] | None, Form()] = None,
) -> Response:
    rows = zip(arm_name or [], arm_version or [], arm_weight or [], strict=False)
    arms = [
        {"name": arm.strip() or None, "version": version.strip(), "weight": weight.strip()}
        for arm, version, weight in rows
        if version.strip() or weight.strip()
    ]
    try:
        data = validated(
            ExperimentCreate,
            {"name": title, "description": description, "label": label, "arms": arms},
        )
        await prompt_service.create_experiment(
            session, staff.actor, name=name, data=data, origin=origin
        )
    except _REFUSALS as refused:
        return await refused_page(session, refused, _list, request, session, staff, name)
    return RedirectResponse(f"/admin/prompts/{name}/experiments?done=created", status_code=303)


@router.post("/{name}/experiments/{experiment_id}/{action}")
async def start_or_stop(
    request: Request,
    name: str,
    experiment_id: uuid.UUID,
    action: str,
    staff: StaffDep,
    session: SessionDep,
    origin: OriginDep,
) -> Response:
    if action not in ("start", "stop"):
        raise NotFound("No such action.")
    change = (
        prompt_service.start_experiment if action == "start" else prompt_service.stop_experiment
    )
    try:
        await change(
            session,
            staff.actor,
            name=name,
            experiment_id=experiment_id,
            store=store_of(request),
            origin=origin,
        )
    except _REFUSALS as refused:
        return await refused_page(
            session, refused, _results, request, session, staff, name, experiment_id
        )
    done = "started" if action == "start" else "stopped"
    return RedirectResponse(
        f"/admin/prompts/{name}/experiments/{experiment_id}?done={done}", status_code=303
    )


@router.get("/{name}/experiments/{experiment_id}")
async def results(
    request: Request,
    name: str,
    experiment_id: uuid.UUID,
    staff: StaffDep,
    session: SessionDep,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    return await _results(
        request, session, staff, name, experiment_id, notice=_DONE.get(done or "")
    )


async def _list(
    request: Request,
    session: AsyncSession,
    staff: Staff,
    name: str,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    detail = await prompt_service.get(session, staff.actor, name=name)
    return render(
        request,
        "prompts/experiments.html",
        {
            "staff": staff,
            "current": "prompts",
            "title": f"Experiments of {detail.name}",
            "prompt": detail,
            "labels": list(PromptLabelName),
            "arm_rows": range(_ARM_ROWS),
            "may_manage": staff.actor.has(Scope.PROMPTS_MANAGE),
            "notice": notice,
            "error": error,
        },
        status_code=status_code,
    )


async def _results(
    request: Request,
    session: AsyncSession,
    staff: Staff,
    name: str,
    experiment_id: uuid.UUID,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    found = await prompt_service.experiment_results(
        session, staff.actor, name=name, experiment_id=experiment_id
    )
    return render(
        request,
        "prompts/experiment.html",
        {
            "staff": staff,
            "current": "prompts",
            "title": f"Experiment {found.experiment.name}",
            "found": found,
            "may_manage": staff.actor.has(Scope.PROMPTS_MANAGE),
            "notice": notice,
            "error": error,
        },
        status_code=status_code,
    )
