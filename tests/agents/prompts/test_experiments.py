"""A/B experiments: sticky arms per user, traffic following the weights, recorded assignments."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agents.prompts.cache import CompiledArm, CompiledExperiment, CompiledVersion, PromptCache
from agents.prompts.schemas import ArmSpec, ExperimentCreate
from agents.prompts.service import PromptService, bucket_of, choose_arm
from agents.prompts.template import compile_checked
from lending.errors import Conflict, InvalidInput
from lending.identity.actor import Actor
from lending.models.identity import Role
from lending.models.prompts import ExperimentStatus, PromptExperimentAssignment, PromptLabelName
from tests.agents.prompts.factories import create_prompt
from tests.identity.factories import actor_of, create_user

V1 = ("Formal: {user_name}.", ["user_name"])
V2 = ("Casual: {user_name}!", ["user_name"])
V3 = ("Brief: {user_name}", ["user_name"])
VALUES = {"user_name": "Ana"}


def _experiment(*weights: int) -> CompiledExperiment:
    template = compile_checked("x", [])
    return CompiledExperiment(
        uuid.uuid4(),
        tuple(
            CompiledArm(f"arm{index}", weight, CompiledVersion(index + 1, template))
            for index, weight in enumerate(weights)
        ),
    )


def _split(experiment: CompiledExperiment, users: int) -> dict[str, float]:
    counts = Counter(choose_arm(experiment, uuid.uuid4()).name for _ in range(users))
    return {name: count / users for name, count in counts.items()}


@pytest.fixture
def service() -> PromptService:
    return PromptService(PromptCache())


@pytest.fixture
async def engineer(session: AsyncSession) -> Actor:
    return actor_of(await create_user(session, role=Role.PROMPT_ENGINEER))


def test_a_user_always_lands_in_the_same_bucket_of_an_experiment() -> None:
    experiment, user = uuid.uuid4(), uuid.uuid4()

    assert len({bucket_of(experiment, user) for _ in range(20)}) == 1
    assert 0 <= bucket_of(experiment, user) < 100


@pytest.mark.parametrize(
    "weights", [(50, 50), (70, 30), (10, 90), (50, 30, 20)], ids=lambda w: "/".join(map(str, w))
)
def test_traffic_follows_the_weights(weights: tuple[int, ...]) -> None:
    experiment = _experiment(*weights)

    shares = _split(experiment, 10_000)

    for index, weight in enumerate(weights):
        # About 6 standard deviations for 10,000 users at 50%: a real skew, never chance.
        assert abs(shares.get(f"arm{index}", 0.0) - weight / 100) < 0.03, shares


def test_assignments_are_independent_across_experiments() -> None:
    first, second = _experiment(50, 50), _experiment(50, 50)
    users = [uuid.uuid4() for _ in range(4000)]

    same = sum(choose_arm(first, u).name == choose_arm(second, u).name for u in users)

    assert 0.45 < same / len(users) < 0.55


def test_weights_must_sum_to_100_and_arm_names_differ() -> None:
    with pytest.raises(ValidationError, match="weights must sum to 100; they sum to 90"):
        ExperimentCreate(
            name="tone", arms=[ArmSpec(version=1, weight=60), ArmSpec(version=2, weight=30)]
        )
    with pytest.raises(ValidationError, match="v1 is used twice"):
        ExperimentCreate(
            name="tone", arms=[ArmSpec(version=1, weight=50), ArmSpec(version=1, weight=50)]
        )


async def test_a_running_experiment_serves_each_user_one_arm_and_records_it(
    session: AsyncSession, service: PromptService, engineer: Actor
) -> None:
    prompt = await create_prompt(session, versions=[V1, V2])
    data = ExperimentCreate(
        name="Casual tone",
        arms=[ArmSpec(name="control", version=1, weight=50), ArmSpec(version=2, weight=50)],
    )
    created = await service.create_experiment(session, engineer, name=prompt.name, data=data)
    started = await service.start_experiment(
        session, engineer, name=prompt.name, experiment_id=created.id, store=None
    )
    user = uuid.uuid4()

    renders = [
        await service.render(session, name=prompt.name, variables=VALUES, user_id=user)
        for _ in range(5)
    ]
    others = [
        await service.render(session, name=prompt.name, variables=VALUES, user_id=uuid.uuid4())
        for _ in range(40)
    ]

    assert created.status is ExperimentStatus.DRAFT
    assert started.status is ExperimentStatus.RUNNING
    assert len({(r.variant, r.version, r.text) for r in renders}) == 1
    assert renders[0].experiment_id == created.id
    assert {(r.variant, r.version) for r in others} == {("control", 1), ("v2", 2)}
    assert {r.text for r in others} == {"Formal: Ana.", "Casual: Ana!"}
    rows = await session.execute(
        select(PromptExperimentAssignment.user_id, PromptExperimentAssignment.variant).where(
            PromptExperimentAssignment.experiment_id == created.id,
            PromptExperimentAssignment.user_id == user,
        )
    )
    assert rows.all() == [(user, renders[0].variant)]
    total = await session.scalar(
        select(func.count()).where(PromptExperimentAssignment.experiment_id == created.id)
    )
    assert total == 41
    detail = await service.get(session, engineer, name=prompt.name)
    assert sum(arm.assigned_users for arm in detail.experiments[0].arms) == 41


async def test_stopping_an_experiment_serves_the_label_again(
    session: AsyncSession, service: PromptService, engineer: Actor
) -> None:
    prompt = await create_prompt(session, versions=[V1, V2, V3])
    data = ExperimentCreate(
        name="All new", arms=[ArmSpec(version=2, weight=1), ArmSpec(version=3, weight=99)]
    )
    experiment = await service.create_experiment(session, engineer, name=prompt.name, data=data)
    await service.start_experiment(
        session, engineer, name=prompt.name, experiment_id=experiment.id, store=None
    )
    user = uuid.uuid4()
    during = await service.render(session, name=prompt.name, variables=VALUES, user_id=user)

    stopped = await service.stop_experiment(
        session, engineer, name=prompt.name, experiment_id=experiment.id, store=None
    )
    # The change reaches this process's cache when the transaction commits.
    await session.commit()
    after = await service.render(session, name=prompt.name, variables=VALUES, user_id=user)

    assert during.version in (2, 3)
    assert during.variant is not None
    assert stopped.status is ExperimentStatus.STOPPED
    assert stopped.stopped_at is not None
    assert (after.version, after.variant, after.experiment_id) == (1, None, None)
    with pytest.raises(Conflict, match="only a draft experiment starts"):
        await service.start_experiment(
            session, engineer, name=prompt.name, experiment_id=experiment.id, store=None
        )


async def test_one_experiment_runs_per_label_and_arms_need_existing_versions(
    session: AsyncSession, service: PromptService, engineer: Actor
) -> None:
    prompt = await create_prompt(session, versions=[V1, V2])
    arms = [ArmSpec(version=1, weight=50), ArmSpec(version=2, weight=50)]
    first = await service.create_experiment(
        session, engineer, name=prompt.name, data=ExperimentCreate(name="A", arms=arms)
    )
    second = await service.create_experiment(
        session, engineer, name=prompt.name, data=ExperimentCreate(name="B", arms=arms)
    )
    on_staging = await service.create_experiment(
        session,
        engineer,
        name=prompt.name,
        data=ExperimentCreate(name="C", arms=arms, label=PromptLabelName.STAGING),
    )
    await service.start_experiment(
        session, engineer, name=prompt.name, experiment_id=first.id, store=None
    )

    with pytest.raises(Conflict, match="'A' is already running on production"):
        await service.start_experiment(
            session, engineer, name=prompt.name, experiment_id=second.id, store=None
        )
    staged = await service.start_experiment(
        session, engineer, name=prompt.name, experiment_id=on_staging.id, store=None
    )
    assert staged.status is ExperimentStatus.RUNNING
    bad = ExperimentCreate(
        name="D", arms=[ArmSpec(version=1, weight=50), ArmSpec(version=7, weight=50)]
    )
    with pytest.raises(InvalidInput) as raised:
        await service.create_experiment(session, engineer, name=prompt.name, data=bad)
    assert raised.value.detail == [
        {
            "loc": ["arms", 1, "version"],
            "msg": f"{prompt.name} has no version 7",
            "type": "value_error",
        }
    ]
