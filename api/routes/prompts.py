"""Prompt registry: prompt engineers version, label, diff, preview and A/B test the prompts."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from agents.prompts.schemas import (
    ExperimentCreate,
    ExperimentRead,
    ExperimentResults,
    LabelMove,
    LabelRead,
    PreviewRequest,
    PromptCreate,
    PromptDetail,
    PromptDiff,
    PromptSummary,
    RenderedPrompt,
    VersionCreate,
    VersionRead,
)
from agents.prompts.service import prompt_service
from api.auth import CurrentActor, OriginDep
from api.deps import SessionDep, StoreDep
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
from lending.models.prompts import PromptLabelName

router = APIRouter(prefix="/api/v1/prompts", tags=["prompts"], dependencies=[rate_limit("default")])
_AUTH_ERRORS = (NotAuthenticated, MfaEnrollmentRequired, RateLimited, PermissionDenied)
Name = Annotated[str, Path(max_length=100, description="The prompt's name, e.g. borrower.system.")]
Number = Annotated[int, Path(ge=1, description="A version number.")]


@router.get("", summary="Every prompt with its labels", responses=error_responses(*_AUTH_ERRORS))
async def list_prompts(actor: CurrentActor, session: SessionDep) -> list[PromptSummary]:
    return await prompt_service.list_prompts(session, actor)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a prompt with its first version (no label yet)",
    responses=error_responses(*_AUTH_ERRORS, InvalidInput, Conflict),
)
async def create_prompt(
    body: PromptCreate, actor: CurrentActor, session: SessionDep, origin: OriginDep
) -> PromptDetail:
    return await prompt_service.create_prompt(session, actor, data=body, origin=origin)


@router.get(
    "/{name}",
    summary="A prompt with its versions, labels and experiments",
    responses=error_responses(*_AUTH_ERRORS, NotFound),
)
async def read_prompt(name: Name, actor: CurrentActor, session: SessionDep) -> PromptDetail:
    return await prompt_service.get(session, actor, name=name)


@router.post(
    "/{name}/versions",
    status_code=status.HTTP_201_CREATED,
    summary="Add a version (versions are immutable: an edit is a new version)",
    description="Every `{placeholder}` must be declared in `variables` and every declared "
    "variable used; `{{` and `}}` are literal braces. Problems come back as a 422 per field.",
    responses=error_responses(*_AUTH_ERRORS, NotFound, InvalidInput),
)
async def create_version(
    name: Name, body: VersionCreate, actor: CurrentActor, session: SessionDep, origin: OriginDep
) -> VersionRead:
    return await prompt_service.create_version(session, actor, name=name, data=body, origin=origin)


@router.get(
    "/{name}/versions/{number}",
    summary="One version of a prompt",
    responses=error_responses(*_AUTH_ERRORS, NotFound),
)
async def read_version(
    name: Name, number: Number, actor: CurrentActor, session: SessionDep
) -> VersionRead:
    return await prompt_service.get_version(session, actor, name=name, number=number)


@router.put(
    "/{name}/labels/{label}",
    summary="Point a label at a version (deploy)",
    description="Running assistants serve the new version within seconds, without a restart.",
    responses=error_responses(*_AUTH_ERRORS, NotFound),
)
async def move_label(
    name: Name,
    label: PromptLabelName,
    body: LabelMove,
    actor: CurrentActor,
    session: SessionDep,
    store: StoreDep,
    origin: OriginDep,
) -> LabelRead:
    return await prompt_service.move_label(
        session, actor, name=name, label=label, version=body.version, store=store, origin=origin
    )


@router.get(
    "/{name}/diff",
    summary="Unified diff between two versions",
    responses=error_responses(*_AUTH_ERRORS, NotFound),
)
async def diff_versions(
    name: Name,
    actor: CurrentActor,
    session: SessionDep,
    from_version: Annotated[int, Query(alias="from", ge=1)],
    to_version: Annotated[int, Query(alias="to", ge=1)],
) -> PromptDiff:
    return await prompt_service.diff(
        session, actor, name=name, from_version=from_version, to_version=to_version
    )


@router.post(
    "/{name}/preview",
    summary="Render a version, or what a label serves, without recording anything",
    responses=error_responses(*_AUTH_ERRORS, NotFound, InvalidInput),
)
async def preview(
    name: Name, body: PreviewRequest, actor: CurrentActor, session: SessionDep
) -> RenderedPrompt:
    return await prompt_service.preview(session, actor, name=name, request=body)


@router.post(
    "/{name}/experiments",
    status_code=status.HTTP_201_CREATED,
    summary="Create an A/B experiment between versions (starts as a draft)",
    description="Arms' weights are percents summing to 100. Each user is served the same arm "
    "for the experiment's whole run.",
    responses=error_responses(*_AUTH_ERRORS, NotFound, InvalidInput),
)
async def create_experiment(
    name: Name, body: ExperimentCreate, actor: CurrentActor, session: SessionDep, origin: OriginDep
) -> ExperimentRead:
    return await prompt_service.create_experiment(
        session, actor, name=name, data=body, origin=origin
    )


@router.post(
    "/{name}/experiments/{experiment_id}/start",
    summary="Start serving an experiment's arms",
    responses=error_responses(*_AUTH_ERRORS, NotFound, Conflict),
)
async def start_experiment(
    name: Name,
    experiment_id: uuid.UUID,
    actor: CurrentActor,
    session: SessionDep,
    store: StoreDep,
    origin: OriginDep,
) -> ExperimentRead:
    return await prompt_service.start_experiment(
        session, actor, name=name, experiment_id=experiment_id, store=store, origin=origin
    )


@router.get(
    "/{name}/experiments/{experiment_id}/results",
    summary="Per-arm outcomes of an experiment",
    description="For each arm: users served, turns, applications started and submitted, thumbs, "
    "failed tool calls and turns, tokens and cost, counted from the recorded runs while the "
    "experiment ran (until now while it runs).",
    responses=error_responses(*_AUTH_ERRORS, NotFound),
)
async def experiment_results(
    name: Name, experiment_id: uuid.UUID, actor: CurrentActor, session: SessionDep
) -> ExperimentResults:
    return await prompt_service.experiment_results(
        session, actor, name=name, experiment_id=experiment_id
    )


@router.post(
    "/{name}/experiments/{experiment_id}/stop",
    summary="Stop an experiment; the label's version serves everyone again",
    responses=error_responses(*_AUTH_ERRORS, NotFound, Conflict),
)
async def stop_experiment(
    name: Name,
    experiment_id: uuid.UUID,
    actor: CurrentActor,
    session: SessionDep,
    store: StoreDep,
    origin: OriginDep,
) -> ExperimentRead:
    return await prompt_service.stop_experiment(
        session, actor, name=name, experiment_id=experiment_id, store=store, origin=origin
    )
