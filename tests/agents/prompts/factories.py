"""Plain async factories for prompt registry rows, written straight to the session."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from lending.models.prompts import (
    ExperimentStatus,
    Prompt,
    PromptCategory,
    PromptExperiment,
    PromptLabel,
    PromptLabelName,
    PromptVersion,
)
from tests.identity.factories import unique

GREETING = ("Hello {user_name}, I am {assistant_name}.", ("user_name", "assistant_name"))


async def create_prompt(
    session: AsyncSession,
    *,
    name: str | None = None,
    category: PromptCategory = PromptCategory.GREETING,
    versions: Sequence[tuple[str, Sequence[str]]] = (GREETING,),
    labels: Mapping[PromptLabelName, int] | None = None,
) -> Prompt:
    """A prompt with `versions` numbered from 1 and `labels` (default: production → 1)."""
    prompt = Prompt(
        name=name or f"test.{unique('p').replace('-', '_')}",
        category=category,
        description="A test prompt.",
    )
    session.add(prompt)
    await session.flush()
    for number, (text, variables) in enumerate(versions, start=1):
        session.add(
            PromptVersion(prompt_id=prompt.id, number=number, text=text, variables=list(variables))
        )
    await session.flush()
    for label, number in (
        labels if labels is not None else {PromptLabelName.PRODUCTION: 1}
    ).items():
        session.add(PromptLabel(prompt_id=prompt.id, label=label, version_number=number))
    await session.flush()
    return prompt


async def create_experiment(
    session: AsyncSession,
    prompt: Prompt,
    *,
    arms: Sequence[tuple[int, int]] = ((1, 50), (2, 50)),
    label: PromptLabelName = PromptLabelName.PRODUCTION,
    status: ExperimentStatus = ExperimentStatus.DRAFT,
) -> PromptExperiment:
    """An experiment on `prompt` with arms (version, weight) named `v<version>`."""
    experiment = PromptExperiment(
        prompt_id=prompt.id,
        label=label,
        name=unique("experiment"),
        status=status,
        arms=[{"name": f"v{v}", "version": v, "weight": w} for v, w in arms],
    )
    session.add(experiment)
    await session.flush()
    return experiment
