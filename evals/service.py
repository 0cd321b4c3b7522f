"""One eval run end to end, for the CLI, the tests and the benchmark: the template, the harness
(model, judge, prompt label), every scenario × mode × trial, the results saved and reported."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agents.guided.meaning import wait_for_similarity
from agents.models import ModelProvider, build_model_provider
from agents.prompt_source import ASSISTANT_NAME
from agents.prompts.service import prompt_service
from agents.runner import PromptSource, SystemPrompt
from evals import reports, store
from evals.fixtures import World
from evals.harness import Harness, ScenarioResult, scripted_model
from evals.isolation import Databases
from evals.judges import DeterministicJudge, Judge, ModelJudge
from evals.schema import Mode, Scenario
from evals.simulated import SimulatedUserModel
from evals.suite import Progress, graph_hash, jobs, run_all, summarize, timer
from lending.config import Settings
from lending.db import SessionMaker, create_engine, create_sessionmaker, transaction
from lending.identity.actor import Actor

OFFLINE: tuple[Mode, ...] = ("guided", "scripted")


@dataclass
class Options:
    # "offline" (guided and scripted), "guided", "scripted", or an OpenAI-compatible model name.
    model: str = "offline"
    trials: int = 1
    concurrency: int = 2
    prompt_label: str = "production"
    label: str | None = None
    judge_model: str | None = None
    user_model: str | None = None
    report_dir: Path | None = None
    save: bool = True


@dataclass
class Outcome:
    run_id: uuid.UUID | None
    summary: dict[str, Any]
    results: list[ScenarioResult]
    meta: dict[str, Any] = field(default_factory=dict)
    reports: list[Path] = field(default_factory=list)


def eval_settings(settings: Settings, model: str) -> Settings:
    """The settings scenarios run with: the deterministic embedder (retrieval must not depend on
    a model download) and the cheapest password hash (nobody signs in during an eval)."""
    return settings.model_copy(
        update={
            "knowledge_embedder": "fake",
            "password_hash_time_cost": 1,
            "password_hash_memory_kib": 8,
            "llm_model": None if model in ("offline", "guided", "scripted") else model,
        }
    )


def modes_for(model: str) -> tuple[Mode, ...]:
    if model == "offline":
        return OFFLINE
    if model in ("guided", "scripted"):
        return (model,)  # type: ignore[return-value]
    return ("llm",)


def labelled_prompts(sessionmaker: SessionMaker, label: str) -> PromptSource:
    """System prompts from the prompt registry of the main database under `label` (what the
    prompt engineer is testing), whatever database the scenario itself runs in. Nothing is
    written: an experiment's arm assignment is rolled back with the session."""

    async def source(session: Any, graph: str, actor: Actor, mode: str) -> SystemPrompt:
        async with sessionmaker() as main:
            rendered = await prompt_service.render(
                main,
                name=f"{graph}.system",
                variables={
                    "assistant_name": ASSISTANT_NAME,
                    "today": datetime.now(UTC).date().isoformat(),
                    "mode": mode,
                },
                user_id=actor.user_id,
                label=label,
            )
        return SystemPrompt(
            text=rendered.text,
            versions={rendered.prompt_name: rendered.version},
            variant=rendered.variant,
        )

    return source


async def run(
    settings: Settings,
    database_url: str,
    scenarios: list[Scenario],
    options: Options,
    *,
    progress: Progress | None = None,
) -> Outcome:
    """Run `scenarios` on the server of `database_url`; save the run in that database."""
    scenario_settings = eval_settings(settings, options.model)
    wait_for_similarity()  # deterministic readings: no time-boxed fallback under load
    databases = Databases(database_url, scenario_settings)
    await databases.ensure_template()
    engine = create_engine(settings, database_url)
    try:
        sessionmaker = create_sessionmaker(engine)

        def models(scenario: Scenario, mode: Mode, world: World) -> ModelProvider | None:
            if mode == "scripted":
                return scripted_model(scenario, world)
            if mode == "llm":
                return build_model_provider(scenario_settings)
            return None

        judge: Judge = (
            ModelJudge(scenario_settings, options.judge_model)
            if options.judge_model
            else DeterministicJudge()
        )
        harness = Harness(
            settings=scenario_settings,
            databases=databases,
            models=models,
            judge=judge,
            prompts=labelled_prompts(sessionmaker, options.prompt_label),
            user_model=(
                SimulatedUserModel(scenario_settings, options.user_model)
                if options.user_model
                else None
            ),
        )
        elapsed = timer()
        planned = jobs(scenarios, modes_for(options.model), options.trials)
        results = await run_all(
            harness, planned, concurrency=options.concurrency, progress=progress
        )
        summary = summarize(results, seconds=elapsed())
        key = store.RunKey(
            model=options.model,
            prompt_label=options.prompt_label,
            graph_hash=graph_hash(),
            trials=options.trials,
            label=options.label,
        )
        run_id = None
        if options.save:
            async with transaction(sessionmaker) as session:
                saved = await store.save(session, key, results, summary)
                run_id = saved.id
        meta = {
            "run_id": str(run_id) if run_id else None,
            "model": key.model,
            "prompt_label": key.prompt_label,
            "graph_hash": key.graph_hash,
            "trials": key.trials,
            "label": key.label,
        }
        outcome = Outcome(run_id, summary, results, meta)
        if options.report_dir is not None:
            outcome.reports = reports.write_all(options.report_dir, meta, summary, results)
        return outcome
    finally:
        await databases.close()
        await engine.dispose()
