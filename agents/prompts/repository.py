"""Queries on the prompt registry. Prompts are platform-wide: the service checks scopes, not rows."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Self

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from lending.models.prompts import (
    ExperimentStatus,
    Prompt,
    PromptExperiment,
    PromptExperimentAssignment,
    PromptLabel,
    PromptLabelName,
    PromptVersion,
)


class PromptRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: AsyncSession) -> Self:
        return cls(session)

    async def get_by_name(self, name: str, *, for_update: bool = False) -> Prompt | None:
        """The prompt; `for_update` serialises writers of one prompt (version numbers, labels)."""
        statement = select(Prompt).where(Prompt.name == name)
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def list_prompts(self) -> Sequence[Prompt]:
        return (await self.session.execute(select(Prompt).order_by(Prompt.name))).scalars().all()

    async def insert_prompt_if_absent(self, prompt: Prompt) -> bool:
        """Insert unless a prompt of that name exists (concurrent seeders); True if inserted."""
        statement = (
            insert(Prompt)
            .values(
                id=prompt.id,
                name=prompt.name,
                category=prompt.category,
                description=prompt.description,
                created_by_user_id=prompt.created_by_user_id,
            )
            .on_conflict_do_nothing(index_elements=[Prompt.name])
            .returning(Prompt.id)
        )
        return (await self.session.execute(statement)).scalar_one_or_none() is not None

    async def latest_numbers(self) -> dict[uuid.UUID, int]:
        statement = select(PromptVersion.prompt_id, func.max(PromptVersion.number)).group_by(
            PromptVersion.prompt_id
        )
        return {row[0]: row[1] for row in (await self.session.execute(statement)).all()}

    async def latest_number(self, prompt_id: uuid.UUID) -> int:
        statement = select(func.coalesce(func.max(PromptVersion.number), 0)).where(
            PromptVersion.prompt_id == prompt_id
        )
        number: int = (await self.session.execute(statement)).scalar_one()
        return number

    async def versions(
        self, prompt_id: uuid.UUID, numbers: Sequence[int] | None = None
    ) -> Sequence[PromptVersion]:
        """The prompt's versions (only `numbers`, when given), newest first."""
        statement = (
            select(PromptVersion)
            .where(PromptVersion.prompt_id == prompt_id)
            .order_by(PromptVersion.number.desc())
        )
        if numbers is not None:
            statement = statement.where(PromptVersion.number.in_(numbers))
        return (await self.session.execute(statement)).scalars().all()

    async def version(self, prompt_id: uuid.UUID, number: int) -> PromptVersion | None:
        statement = select(PromptVersion).where(
            PromptVersion.prompt_id == prompt_id, PromptVersion.number == number
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def labels(self, prompt_ids: Sequence[uuid.UUID]) -> Sequence[PromptLabel]:
        statement = (
            select(PromptLabel)
            .where(PromptLabel.prompt_id.in_(prompt_ids))
            .order_by(PromptLabel.label)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def label(self, prompt_id: uuid.UUID, label: PromptLabelName) -> PromptLabel | None:
        statement = select(PromptLabel).where(
            PromptLabel.prompt_id == prompt_id, PromptLabel.label == label
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def labelled_version(self, name: str, label: PromptLabelName) -> PromptVersion | None:
        """The version `label` of prompt `name` points at, in one query (the render path)."""
        statement = (
            select(PromptVersion)
            .join(
                PromptLabel,
                (PromptLabel.prompt_id == PromptVersion.prompt_id)
                & (PromptLabel.version_number == PromptVersion.number),
            )
            .join(Prompt, Prompt.id == PromptVersion.prompt_id)
            .where(Prompt.name == name, PromptLabel.label == label)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def running_experiment(
        self, name: str, label: PromptLabelName
    ) -> tuple[PromptExperiment, uuid.UUID] | None:
        """The experiment running on (`name`, `label`) and its prompt's id."""
        statement = (
            select(PromptExperiment, Prompt.id)
            .join(Prompt, Prompt.id == PromptExperiment.prompt_id)
            .where(
                Prompt.name == name,
                PromptExperiment.label == label,
                PromptExperiment.status == ExperimentStatus.RUNNING,
            )
        )
        row = (await self.session.execute(statement)).one_or_none()
        return (row[0], row[1]) if row is not None else None

    async def running_experiment_ids(
        self, prompt_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[uuid.UUID]]:
        statement = (
            select(PromptExperiment.prompt_id, PromptExperiment.id)
            .where(
                PromptExperiment.prompt_id.in_(prompt_ids),
                PromptExperiment.status == ExperimentStatus.RUNNING,
            )
            .order_by(PromptExperiment.created_at)
        )
        running: dict[uuid.UUID, list[uuid.UUID]] = {}
        for prompt_id, experiment_id in (await self.session.execute(statement)).all():
            running.setdefault(prompt_id, []).append(experiment_id)
        return running

    async def experiments(self, prompt_id: uuid.UUID) -> Sequence[PromptExperiment]:
        statement = (
            select(PromptExperiment)
            .where(PromptExperiment.prompt_id == prompt_id)
            .order_by(PromptExperiment.created_at.desc(), PromptExperiment.id)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def experiment(
        self, prompt_id: uuid.UUID, experiment_id: uuid.UUID
    ) -> PromptExperiment | None:
        statement = select(PromptExperiment).where(
            PromptExperiment.id == experiment_id, PromptExperiment.prompt_id == prompt_id
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def assignment_counts(
        self, experiment_ids: Sequence[uuid.UUID]
    ) -> dict[tuple[uuid.UUID, str], int]:
        statement = (
            select(
                PromptExperimentAssignment.experiment_id,
                PromptExperimentAssignment.variant,
                func.count(),
            )
            .where(PromptExperimentAssignment.experiment_id.in_(experiment_ids))
            .group_by(PromptExperimentAssignment.experiment_id, PromptExperimentAssignment.variant)
        )
        return {(row[0], row[1]): row[2] for row in (await self.session.execute(statement)).all()}

    async def arm_outcomes(
        self, experiment_id: uuid.UUID, prompt_name: str, start: datetime, end: datetime
    ) -> dict[str, dict[str, Any]]:
        """Per arm (variant): its users, and what their turns rendered with this prompt and arm
        between `start` and `end` recorded (runs, feedback, failed tool calls, cost), plus the
        applications those users started or submitted in that window (as borrower or as the
        broker who created them)."""
        rows = await self.session.execute(
            _ARM_OUTCOMES,
            {
                "experiment": experiment_id,
                "prompt": prompt_name,
                "start": start,
                "end": end,
            },
        )
        return {row["variant"]: dict(row) for row in rows.mappings()}

    async def record_assignment(
        self, experiment_id: uuid.UUID, user_id: uuid.UUID, *, variant: str, version_number: int
    ) -> None:
        """Remember the arm a user was first served; later renders change nothing."""
        statement = (
            insert(PromptExperimentAssignment)
            .values(
                experiment_id=experiment_id,
                user_id=user_id,
                variant=variant,
                version_number=version_number,
            )
            .on_conflict_do_nothing(
                index_elements=[
                    PromptExperimentAssignment.experiment_id,
                    PromptExperimentAssignment.user_id,
                ]
            )
        )
        await self.session.execute(statement)

    async def add(self, row: Prompt | PromptVersion | PromptLabel | PromptExperiment) -> None:
        self.session.add(row)
        await self.session.flush()


# One pass per measure, each grouped by arm; runs count only when rendered with this prompt
# (`prompt_versions ? :prompt`) under the arm's variant, inside the window.
_ARM_OUTCOMES = text("""
WITH arm_user AS (
    SELECT variant, user_id FROM prompt_experiment_assignment WHERE experiment_id = :experiment
), arm_run AS (
    SELECT u.variant, r.id, r.status, r.input_tokens, r.output_tokens, r.cost
    FROM arm_user u
    JOIN chat_thread t ON t.user_id = u.user_id
    JOIN chat_run r ON r.thread_id = t.id
    WHERE r.variant = u.variant AND r.prompt_versions ? :prompt
      AND r.started_at >= :start AND r.started_at < :end
), runs AS (
    SELECT variant, count(*) AS turns,
           count(*) FILTER (WHERE status = 'failed') AS failed_turns,
           coalesce(sum(input_tokens), 0) AS input_tokens,
           coalesce(sum(output_tokens), 0) AS output_tokens,
           coalesce(sum(cost), 0) AS cost
    FROM arm_run GROUP BY variant
), feedback AS (
    SELECT a.variant, count(*) FILTER (WHERE f.rating > 0) AS thumbs_up,
           count(*) FILTER (WHERE f.rating < 0) AS thumbs_down
    FROM arm_run a JOIN chat_feedback f ON f.run_id = a.id GROUP BY a.variant
), tool_errors AS (
    SELECT a.variant, count(*) AS tool_errors
    FROM arm_run a JOIN chat_message m ON m.run_id = a.id
    WHERE m.role = 'tool' AND (m.tool ->> 'ok') = 'false' GROUP BY a.variant
), applications AS (
    SELECT u.variant,
           count(DISTINCT l.id) FILTER (WHERE l.created_at >= :start AND l.created_at < :end)
               AS applications_started,
           count(DISTINCT l.id) FILTER (WHERE l.submitted_at >= :start AND l.submitted_at < :end)
               AS applications_submitted
    FROM arm_user u
    JOIN loan_application l ON l.borrower_user_id = u.user_id OR l.created_by_user_id = u.user_id
    GROUP BY u.variant
)
SELECT u.variant, count(*) AS users,
       coalesce(max(r.turns), 0) AS turns, coalesce(max(r.failed_turns), 0) AS failed_turns,
       coalesce(max(r.input_tokens), 0) AS input_tokens,
       coalesce(max(r.output_tokens), 0) AS output_tokens, coalesce(max(r.cost), 0) AS cost,
       coalesce(max(f.thumbs_up), 0) AS thumbs_up, coalesce(max(f.thumbs_down), 0) AS thumbs_down,
       coalesce(max(e.tool_errors), 0) AS tool_errors,
       coalesce(max(a.applications_started), 0) AS applications_started,
       coalesce(max(a.applications_submitted), 0) AS applications_submitted
FROM arm_user u
LEFT JOIN runs r ON r.variant = u.variant
LEFT JOIN feedback f ON f.variant = u.variant
LEFT JOIN tool_errors e ON e.variant = u.variant
LEFT JOIN applications a ON a.variant = u.variant
GROUP BY u.variant
""")
