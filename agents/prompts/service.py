"""The prompt registry: versions, labels, experiments for prompt engineers; rendering for the agents.

Reads need `prompts:read`, changes `prompts:manage`. `render` is called by the turn runner on
behalf of a run (no actor: it reads only what the run will show the model) and goes through the
process cache (agents.prompts.cache); everything else reads the database directly.
"""

from __future__ import annotations

import difflib
import hashlib
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from agents.prompts import template as templates
from agents.prompts.cache import (
    CompiledArm,
    CompiledExperiment,
    CompiledVersion,
    PromptCache,
    Resolution,
    invalidate_after_commit,
)
from agents.prompts.defaults import DEFAULT_PROMPTS, DEFAULTS_BY_NAME
from agents.prompts.errors import PromptNotFound, PromptRenderError
from agents.prompts.repository import PromptRepository
from agents.prompts.schemas import (
    ArmOutcome,
    ArmRead,
    ExperimentCreate,
    ExperimentRead,
    ExperimentResults,
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
from lending.audit.schemas import Origin
from lending.audit.service import audit_service
from lending.errors import Conflict, InvalidInput, NotFound
from lending.identity.actor import Actor
from lending.identity.scopes import Scope
from lending.kv import Store
from lending.logs import get_logger
from lending.models.prompts import (
    ExperimentStatus,
    Prompt,
    PromptExperiment,
    PromptLabel,
    PromptLabelName,
    PromptVersion,
)

log = get_logger(__name__)

# Experiment traffic is split in whole percent.
BUCKETS = 100


def bucket_of(experiment_id: uuid.UUID, user_id: uuid.UUID) -> int:
    """The user's bucket (0-99) in an experiment: stable for the pair, independent across
    experiments, with nothing stored."""
    digest = hashlib.sha256(f"{experiment_id}:{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def choose_arm(experiment: CompiledExperiment, user_id: uuid.UUID) -> CompiledArm:
    """The arm serving `user_id`: arms take consecutive bucket ranges in their stored order."""
    bucket = bucket_of(experiment.id, user_id)
    upper = 0
    for arm in experiment.arms:
        upper += arm.weight
        if bucket < upper:
            return arm
    return experiment.arms[-1]  # weights sum to 100, so only if they were edited by hand


def _now() -> datetime:
    return datetime.now(UTC)


def _check_template(data: VersionCreate) -> None:
    """Raise a field-level InvalidInput listing every problem of the text and its variables."""
    _, problems = templates.check(data.text, data.variables)
    if problems:
        raise InvalidInput([problem.as_error() for problem in problems])


def _version_read(version: PromptVersion, labels: Sequence[PromptLabel]) -> VersionRead:
    return VersionRead(
        number=version.number,
        text=version.text,
        variables=list(version.variables),
        author_user_id=version.author_user_id,
        change_note=version.change_note,
        created_at=version.created_at,
        labels=[label.label for label in labels if label.version_number == version.number],
    )


def _experiment_read(
    prompt: Prompt, experiment: PromptExperiment, counts: Mapping[tuple[uuid.UUID, str], int]
) -> ExperimentRead:
    return ExperimentRead(
        id=experiment.id,
        prompt_name=prompt.name,
        label=experiment.label,
        name=experiment.name,
        description=experiment.description,
        status=experiment.status,
        arms=[
            ArmRead(
                name=arm["name"],
                version=arm["version"],
                weight=arm["weight"],
                assigned_users=counts.get((experiment.id, arm["name"]), 0),
            )
            for arm in experiment.arms
        ],
        created_by_user_id=experiment.created_by_user_id,
        created_at=experiment.created_at,
        started_at=experiment.started_at,
        stopped_at=experiment.stopped_at,
    )


async def _add_version(
    repository: PromptRepository,
    prompt_id: uuid.UUID,
    author_user_id: uuid.UUID | None,
    data: VersionCreate,
    *,
    number: int,
) -> PromptVersion:
    version = PromptVersion(
        prompt_id=prompt_id,
        number=number,
        text=data.text,
        variables=list(data.variables),
        author_user_id=author_user_id,
        change_note=data.change_note,
    )
    await repository.add(version)
    await repository.session.refresh(version)
    return version


def _compiled(version: PromptVersion) -> CompiledVersion:
    return CompiledVersion(
        version.number, templates.compile_checked(version.text, version.variables)
    )


class PromptService:
    def __init__(self, cache: PromptCache) -> None:
        self.cache = cache

    # Reading (prompts:read).

    async def list_prompts(self, session: AsyncSession, actor: Actor) -> list[PromptSummary]:
        actor.require(Scope.PROMPTS_READ)
        repository = PromptRepository.from_session(session)
        prompts = await repository.list_prompts()
        ids = [prompt.id for prompt in prompts]
        latest = await repository.latest_numbers()
        labels = await repository.labels(ids)
        running = await repository.running_experiment_ids(ids)
        return [
            PromptSummary(
                name=prompt.name,
                category=prompt.category,
                description=prompt.description,
                latest_version=latest.get(prompt.id, 0),
                labels={
                    lbl.label: lbl.version_number for lbl in labels if lbl.prompt_id == prompt.id
                },
                running_experiment_ids=running.get(prompt.id, []),
                updated_at=prompt.updated_at,
            )
            for prompt in prompts
        ]

    async def get(self, session: AsyncSession, actor: Actor, *, name: str) -> PromptDetail:
        actor.require(Scope.PROMPTS_READ)
        repository = PromptRepository.from_session(session)
        prompt = await self._prompt(repository, name)
        return await self._detail(repository, prompt)

    async def get_version(
        self, session: AsyncSession, actor: Actor, *, name: str, number: int
    ) -> VersionRead:
        actor.require(Scope.PROMPTS_READ)
        repository = PromptRepository.from_session(session)
        prompt = await self._prompt(repository, name)
        version = await self._version(repository, prompt, number)
        return _version_read(version, await repository.labels([prompt.id]))

    async def diff(
        self, session: AsyncSession, actor: Actor, *, name: str, from_version: int, to_version: int
    ) -> PromptDiff:
        """A unified diff of two versions' texts, and how their variables differ."""
        actor.require(Scope.PROMPTS_READ)
        repository = PromptRepository.from_session(session)
        prompt = await self._prompt(repository, name)
        old = await self._version(repository, prompt, from_version)
        new = await self._version(repository, prompt, to_version)
        lines = difflib.unified_diff(
            old.text.splitlines(),
            new.text.splitlines(),
            fromfile=f"{name} v{old.number}",
            tofile=f"{name} v{new.number}",
            lineterm="",
        )
        text = "\n".join(lines)
        return PromptDiff(
            prompt_name=name,
            from_version=old.number,
            to_version=new.number,
            diff=text + "\n" if text else "",
            variables_added=sorted(set(new.variables) - set(old.variables)),
            variables_removed=sorted(set(old.variables) - set(new.variables)),
        )

    async def preview(
        self, session: AsyncSession, actor: Actor, *, name: str, request: PreviewRequest
    ) -> RenderedPrompt:
        """Render as the assistant would, from the database (not the cache), recording nothing."""
        actor.require(Scope.PROMPTS_READ)
        if request.version is not None and request.label is not None:
            raise InvalidInput(
                [
                    {
                        "loc": ["version"],
                        "msg": "give a version or a label, not both",
                        "type": "value_error",
                    }
                ]
            )
        repository = PromptRepository.from_session(session)
        if request.version is not None:
            prompt = await self._prompt(repository, name)
            version = _compiled(await self._version(repository, prompt, request.version))
            return _render(name, version, request.variables)
        label = request.label or PromptLabelName.PRODUCTION
        resolution = await self._load(repository, name, label)
        return _render_resolution(resolution, request.variables, request.user_id or actor.user_id)

    # Changing (prompts:manage).

    async def create_prompt(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        data: PromptCreate,
        origin: Origin | None = None,
    ) -> PromptDetail:
        """A new prompt with version 1 and no label."""
        actor.require(Scope.PROMPTS_MANAGE)
        _check_template(data)
        repository = PromptRepository.from_session(session)
        prompt = Prompt(
            id=uuid.uuid4(),
            name=data.name,
            category=data.category,
            description=data.description,
            created_by_user_id=actor.user_id,
        )
        if not await repository.insert_prompt_if_absent(prompt):
            raise Conflict(f"A prompt named {data.name} already exists; add a version to it.")
        created = await self._prompt(repository, data.name)
        await _add_version(repository, created.id, actor.user_id, data, number=1)
        await audit_service.record(
            session,
            actor,
            action="prompt.created",
            origin=origin,
            subject_type="prompt",
            subject_id=created.id,
            details={"name": created.name, "category": created.category.value, "version": 1},
        )
        return await self._detail(repository, created)

    async def create_version(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        name: str,
        data: VersionCreate,
        origin: Origin | None = None,
    ) -> VersionRead:
        """The prompt's next version. Versions are never edited: a change is a new version, and
        no label moves until someone moves it."""
        actor.require(Scope.PROMPTS_MANAGE)
        repository = PromptRepository.from_session(session)
        prompt = await self._prompt(repository, name, for_update=True)
        _check_template(data)
        number = await repository.latest_number(prompt.id) + 1
        version = await _add_version(repository, prompt.id, actor.user_id, data, number=number)
        prompt.updated_at = _now()
        await audit_service.record(
            session,
            actor,
            action="prompt.version_created",
            origin=origin,
            subject_type="prompt",
            subject_id=prompt.id,
            details={"name": prompt.name, "version": number, "change_note": data.change_note},
        )
        return _version_read(version, [])

    async def move_label(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        name: str,
        label: PromptLabelName,
        version: int,
        store: Store | None,
        origin: Origin | None = None,
    ) -> LabelRead:
        """Point `label` at `version` (the deploy). Running assistants see it once the
        transaction commits: an invalidation is then published on `store`."""
        actor.require(Scope.PROMPTS_MANAGE)
        repository = PromptRepository.from_session(session)
        prompt = await self._prompt(repository, name, for_update=True)
        await self._version(repository, prompt, version)
        row = await repository.label(prompt.id, label)
        previous = row.version_number if row is not None else None
        if row is None:
            row = PromptLabel(prompt_id=prompt.id, label=label, version_number=version)
        elif previous == version:
            return _label_read(prompt, row, previous)
        row.version_number = version
        row.moved_by_user_id = actor.user_id
        row.moved_at = _now()
        await repository.add(row)
        prompt.updated_at = _now()
        invalidate_after_commit(session, name=prompt.name, cache=self.cache, store=store)
        await audit_service.record(
            session,
            actor,
            action="prompt.label_moved",
            origin=origin,
            subject_type="prompt",
            subject_id=prompt.id,
            details={
                "name": prompt.name,
                "label": label.value,
                "version": version,
                "previous_version": previous,
            },
        )
        return _label_read(prompt, row, previous)

    async def create_experiment(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        name: str,
        data: ExperimentCreate,
        origin: Origin | None = None,
    ) -> ExperimentRead:
        """An experiment in status draft; it serves traffic once started."""
        actor.require(Scope.PROMPTS_MANAGE)
        repository = PromptRepository.from_session(session)
        prompt = await self._prompt(repository, name)
        numbers = {version.number for version in await repository.versions(prompt.id)}
        errors = [
            {
                "loc": ["arms", index, "version"],
                "msg": f"{name} has no version {arm.version}",
                "type": "value_error",
            }
            for index, arm in enumerate(data.arms)
            if arm.version not in numbers
        ]
        if errors:
            raise InvalidInput(errors)
        experiment = PromptExperiment(
            prompt_id=prompt.id,
            label=data.label,
            name=data.name,
            description=data.description,
            status=ExperimentStatus.DRAFT,
            arms=[
                {
                    "name": arm.name or f"v{arm.version}",
                    "version": arm.version,
                    "weight": arm.weight,
                }
                for arm in data.arms
            ],
            created_by_user_id=actor.user_id,
        )
        await repository.add(experiment)
        await session.refresh(experiment)
        await audit_service.record(
            session,
            actor,
            action="prompt.experiment_created",
            origin=origin,
            subject_type="prompt_experiment",
            subject_id=experiment.id,
            details={"name": prompt.name, "label": data.label.value, "arms": experiment.arms},
        )
        return _experiment_read(prompt, experiment, {})

    async def start_experiment(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        name: str,
        experiment_id: uuid.UUID,
        store: Store | None,
        origin: Origin | None = None,
    ) -> ExperimentRead:
        """Serve the experiment's arms on its label; one experiment runs per label at a time,
        and a stopped one does not restart (its results stay those of its own run)."""
        actor.require(Scope.PROMPTS_MANAGE)
        repository = PromptRepository.from_session(session)
        prompt = await self._prompt(repository, name, for_update=True)
        experiment = await self._experiment(repository, prompt, experiment_id)
        if experiment.status is not ExperimentStatus.DRAFT:
            raise Conflict(
                f"The experiment is {experiment.status.value}; only a draft experiment starts. "
                "Create a new experiment to run again."
            )
        running = await repository.running_experiment(prompt.name, experiment.label)
        if running is not None:
            raise Conflict(
                f"Experiment {running[0].name!r} is already running on {experiment.label.value}; "
                "stop it first."
            )
        experiment.status = ExperimentStatus.RUNNING
        experiment.started_at = _now()
        await session.flush()
        invalidate_after_commit(session, name=prompt.name, cache=self.cache, store=store)
        await audit_service.record(
            session,
            actor,
            action="prompt.experiment_started",
            origin=origin,
            subject_type="prompt_experiment",
            subject_id=experiment.id,
            details={"name": prompt.name, "label": experiment.label.value},
        )
        return await self._experiment_with_counts(repository, prompt, experiment)

    async def experiment_results(
        self, session: AsyncSession, actor: Actor, *, name: str, experiment_id: uuid.UUID
    ) -> ExperimentResults:
        """Per-arm outcomes of an experiment from the recorded runs: who was served each arm,
        their turns, thumbs, failed tool calls, cost, and the applications they started and
        submitted while it ran. Every arm is listed, served or not."""
        actor.require(Scope.PROMPTS_READ)
        repository = PromptRepository.from_session(session)
        prompt = await self._prompt(repository, name)
        experiment = await self._experiment(repository, prompt, experiment_id)
        read = await self._experiment_with_counts(repository, prompt, experiment)
        end = experiment.stopped_at or _now()
        measured = (
            await repository.arm_outcomes(experiment.id, prompt.name, experiment.started_at, end)
            if experiment.started_at is not None
            else {}
        )
        arms = []
        for arm in experiment.arms:
            row = measured.get(arm["name"], {})
            arms.append(
                ArmOutcome(
                    variant=arm["name"],
                    version_number=arm["version"],
                    users=row.get("users", 0),
                    turns=row.get("turns", 0),
                    applications_started=row.get("applications_started", 0),
                    applications_submitted=row.get("applications_submitted", 0),
                    thumbs_up=row.get("thumbs_up", 0),
                    thumbs_down=row.get("thumbs_down", 0),
                    tool_errors=row.get("tool_errors", 0),
                    failed_turns=row.get("failed_turns", 0),
                    input_tokens=row.get("input_tokens", 0),
                    output_tokens=row.get("output_tokens", 0),
                    cost=Decimal(row.get("cost", 0)),
                )
            )
        return ExperimentResults(
            experiment=read, window_start=experiment.started_at, window_end=end, arms=arms
        )

    async def stop_experiment(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        name: str,
        experiment_id: uuid.UUID,
        store: Store | None,
        origin: Origin | None = None,
    ) -> ExperimentRead:
        """Stop serving the experiment (a draft is cancelled); the label's version serves again."""
        actor.require(Scope.PROMPTS_MANAGE)
        repository = PromptRepository.from_session(session)
        prompt = await self._prompt(repository, name, for_update=True)
        experiment = await self._experiment(repository, prompt, experiment_id)
        if experiment.status is ExperimentStatus.STOPPED:
            raise Conflict("The experiment is already stopped.")
        experiment.status = ExperimentStatus.STOPPED
        experiment.stopped_at = _now()
        await session.flush()
        invalidate_after_commit(session, name=prompt.name, cache=self.cache, store=store)
        await audit_service.record(
            session,
            actor,
            action="prompt.experiment_stopped",
            origin=origin,
            subject_type="prompt_experiment",
            subject_id=experiment.id,
            details={"name": prompt.name, "label": experiment.label.value},
        )
        return await self._experiment_with_counts(repository, prompt, experiment)

    # Rendering (the agents).

    async def render(
        self,
        session: AsyncSession,
        *,
        name: str,
        variables: Mapping[str, Any],
        user_id: uuid.UUID,
        label: PromptLabelName | str = PromptLabelName.PRODUCTION,
    ) -> RenderedPrompt:
        """Render what `label` of prompt `name` serves to `user_id`.

        With an experiment running on the label, the user's arm is chosen by hash (the same arm
        every time) and the assignment is written to `session`: commit it with the run. Values
        are turned into text with `str`; extra variables are ignored, so one context can serve
        every prompt. The production label falls back to the text in agents/prompts/defaults.py
        (version 0, source "default") when the registry has none, and logs a warning.

        Raises:
            PromptRenderError: a variable the version uses has no value (or None).
            PromptNotFound: no such prompt, or nothing under this label (and no default).
        """
        label = PromptLabelName(label)
        resolution = self.cache.get(name, label)
        if resolution is None:
            generation = self.cache.generation
            resolution = await self._load(PromptRepository.from_session(session), name, label)
            self.cache.put(resolution, generation=generation)
        rendered = _render_resolution(resolution, variables, user_id)
        if rendered.experiment_id is not None and rendered.variant is not None:
            await PromptRepository.from_session(session).record_assignment(
                rendered.experiment_id,
                user_id,
                variant=rendered.variant,
                version_number=rendered.version,
            )
        return rendered

    # Helpers.

    async def _load(
        self, repository: PromptRepository, name: str, label: PromptLabelName
    ) -> Resolution:
        version = await repository.labelled_version(name, label)
        compiled = _compiled(version) if version is not None else None
        experiment: CompiledExperiment | None = None
        running = await repository.running_experiment(name, label)
        if running is not None:
            row, prompt_id = running
            numbers = [arm["version"] for arm in row.arms]
            by_number = {
                v.number: _compiled(v) for v in await repository.versions(prompt_id, numbers)
            }
            experiment = CompiledExperiment(
                row.id,
                tuple(
                    CompiledArm(arm["name"], int(arm["weight"]), by_number[arm["version"]])
                    for arm in row.arms
                ),
            )
        if compiled is not None or experiment is not None:
            return Resolution(name, label.value, compiled, experiment)
        default = DEFAULTS_BY_NAME.get(name)
        if default is None or label is not PromptLabelName.PRODUCTION:
            raise PromptNotFound(f"Prompt {name} has no {label.value} version.")
        log.warning(
            "prompt registry has no production version; using the built-in default text",
            prompt=name,
            source="agents/prompts/defaults.py",
        )
        template = templates.compile_checked(default.text, default.variables)
        return Resolution(name, label.value, CompiledVersion(0, template), None, "default")

    async def _prompt(
        self, repository: PromptRepository, name: str, *, for_update: bool = False
    ) -> Prompt:
        prompt = await repository.get_by_name(name, for_update=for_update)
        if prompt is None:
            raise PromptNotFound(f"No prompt named {name}.")
        return prompt

    async def _version(
        self, repository: PromptRepository, prompt: Prompt, number: int
    ) -> PromptVersion:
        version = await repository.version(prompt.id, number)
        if version is None:
            raise NotFound(f"{prompt.name} has no version {number}.")
        return version

    async def _experiment(
        self, repository: PromptRepository, prompt: Prompt, experiment_id: uuid.UUID
    ) -> PromptExperiment:
        experiment = await repository.experiment(prompt.id, experiment_id)
        if experiment is None:
            raise NotFound(f"{prompt.name} has no such experiment.")
        return experiment

    async def _detail(self, repository: PromptRepository, prompt: Prompt) -> PromptDetail:
        versions = await repository.versions(prompt.id)
        labels = await repository.labels([prompt.id])
        experiments = await repository.experiments(prompt.id)
        counts = await repository.assignment_counts([e.id for e in experiments])
        return PromptDetail(
            name=prompt.name,
            category=prompt.category,
            description=prompt.description,
            latest_version=versions[0].number if versions else 0,
            labels={label.label: label.version_number for label in labels},
            running_experiment_ids=[
                e.id for e in experiments if e.status is ExperimentStatus.RUNNING
            ],
            updated_at=prompt.updated_at,
            versions=[_version_read(version, labels) for version in versions],
            experiments=[_experiment_read(prompt, e, counts) for e in experiments],
        )

    async def _experiment_with_counts(
        self, repository: PromptRepository, prompt: Prompt, experiment: PromptExperiment
    ) -> ExperimentRead:
        counts = await repository.assignment_counts([experiment.id])
        return _experiment_read(prompt, experiment, counts)


def _label_read(prompt: Prompt, row: PromptLabel, previous: int | None) -> LabelRead:
    return LabelRead(
        prompt_name=prompt.name,
        label=row.label,
        version=row.version_number,
        previous_version=previous,
        moved_by_user_id=row.moved_by_user_id,
        moved_at=row.moved_at,
    )


def _render(
    name: str,
    version: CompiledVersion,
    variables: Mapping[str, Any],
    *,
    label: PromptLabelName | None = None,
    variant: str | None = None,
    experiment_id: uuid.UUID | None = None,
    source: Literal["registry", "default"] = "registry",
) -> RenderedPrompt:
    missing = version.template.missing(variables)
    if missing:
        which = f"version {version.number}" if version.number else "the default text"
        raise PromptRenderError(
            [
                {
                    "loc": ["variables", variable],
                    "msg": f"is required by {which} of {name}",
                    "type": "missing",
                }
                for variable in missing
            ]
        )
    return RenderedPrompt(
        text=version.template.fill(variables),
        prompt_name=name,
        version=version.number,
        variant=variant,
        experiment_id=experiment_id,
        label=label,
        source=source,
    )


def _render_resolution(
    resolution: Resolution, variables: Mapping[str, Any], user_id: uuid.UUID
) -> RenderedPrompt:
    label = PromptLabelName(resolution.label)
    if resolution.experiment is not None:
        arm = choose_arm(resolution.experiment, user_id)
        return _render(
            resolution.name,
            arm.version,
            variables,
            label=label,
            variant=arm.name,
            experiment_id=resolution.experiment.id,
        )
    assert resolution.version is not None  # a resolution has a version or an experiment
    return _render(
        resolution.name, resolution.version, variables, label=label, source=resolution.source
    )


async def seed_default_prompts(session: AsyncSession, *, store: Store | None = None) -> list[str]:
    """Create version 1 of every default prompt with the production label; idempotent (a prompt
    that exists, edited or not, is left alone). Returns the names created. Does not commit."""
    repository = PromptRepository.from_session(session)
    created: list[str] = []
    for default in DEFAULT_PROMPTS:
        prompt = Prompt(
            id=uuid.uuid4(),
            name=default.name,
            category=default.category,
            description=default.description,
        )
        if not await repository.insert_prompt_if_absent(prompt):
            continue
        data = VersionCreate(
            text=default.text,
            variables=list(default.variables),
            change_note="Initial text from agents/prompts/defaults.py.",
        )
        await _add_version(repository, prompt.id, None, data, number=1)
        await repository.add(
            PromptLabel(prompt_id=prompt.id, label=PromptLabelName.PRODUCTION, version_number=1)
        )
        invalidate_after_commit(session, name=default.name, cache=prompt_service.cache, store=store)
        created.append(default.name)
    if created:
        await audit_service.record(
            session,
            None,
            action="prompt.seeded",
            origin=Origin(operator="seed_default_prompts"),
            subject_type="prompt",
            details={"names": created, "version": 1, "label": "production"},
        )
    return created


prompt_cache = PromptCache()
prompt_service = PromptService(prompt_cache)
