"""A/B experiments: sticky arms per user, traffic following the weights, recorded assignments."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agents.prompts.cache import CompiledArm, CompiledExperiment, CompiledVersion, PromptCache
from agents.prompts.schemas import ArmSpec, ExperimentCreate
from agents.prompts.service import PromptService, bucket_of, choose_arm
from agents.prompts.template import compile_checked
from lending.config import Settings
from lending.errors import Conflict, InvalidInput, PermissionDenied
from lending.identity.actor import Actor
from lending.models.applications import Application
from lending.models.chat import ChatFeedback, ChatMessage, ChatRun, ChatThread
from lending.models.identity import Role, User
from lending.models.prompts import ExperimentStatus, PromptExperimentAssignment, PromptLabelName
from tests.agents.prompts.factories import create_prompt
from tests.identity.factories import actor_of, create_user
from tests.lending.factories import create_application, create_borrower

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


async def _turn(
    session: AsyncSession,
    user: User,
    *,
    prompt: str,
    variant: str | None,
    cost: str = "0.010000",
    tool_ok: bool | None = None,
    rating: int | None = None,
    started_at: datetime | None = None,
) -> None:
    """One recorded assistant turn of `user`, as the runner writes it."""
    thread = ChatThread(user_id=user.id, organization_id=user.organization_id, graph="borrower")
    session.add(thread)
    await session.flush()
    run = ChatRun(
        thread_id=thread.id,
        mode="model",
        status="completed",
        input_tokens=100,
        output_tokens=20,
        cost=Decimal(cost),
        prompt_versions={prompt: 1},
        variant=variant,
        # The test is one transaction, whose now() is before the experiment started.
        started_at=started_at or datetime.now(UTC),
    )
    session.add(run)
    await session.flush()
    if tool_ok is not None:
        session.add(
            ChatMessage(thread_id=thread.id, run_id=run.id, role="tool", tool={"ok": tool_ok})
        )
    if rating is not None:
        session.add(ChatFeedback(run_id=run.id, user_id=user.id, rating=rating))
    await session.flush()


async def test_experiment_results_count_each_arms_outcomes_from_the_recorded_runs(
    session: AsyncSession, service: PromptService, engineer: Actor, settings: Settings
) -> None:
    prompt = await create_prompt(session, versions=[V1, V2])
    data = ExperimentCreate(
        name="Casual tone",
        arms=[ArmSpec(name="control", version=1, weight=50), ArmSpec(version=2, weight=50)],
    )
    created = await service.create_experiment(session, engineer, name=prompt.name, data=data)
    before_start = datetime.now(UTC) - timedelta(days=1)
    await service.start_experiment(
        session, engineer, name=prompt.name, experiment_id=created.id, store=None
    )
    # Borrowers until each arm has one; the hash decides who lands where.
    people: dict[str, User] = {}
    served: Counter[str] = Counter()
    while len(people) < 2:
        borrower = await create_borrower(session, settings, complete=False)
        rendered = await service.render(
            session, name=prompt.name, variables=VALUES, user_id=borrower.id
        )
        assert rendered.variant is not None
        people.setdefault(rendered.variant, borrower)
        served[rendered.variant] += 1
    control, casual = people["control"], people["v2"]
    await _turn(session, control, prompt=prompt.name, variant="control", tool_ok=False, rating=-1)
    await _turn(session, control, prompt=prompt.name, variant="control", tool_ok=True)
    await _turn(session, casual, prompt=prompt.name, variant="v2", cost="0.250000", rating=1)
    # Not counted: another prompt's turn, a turn before the start, another arm's variant.
    await _turn(session, casual, prompt="other.prompt", variant="v2", rating=1)
    await _turn(session, casual, prompt=prompt.name, variant="v2", started_at=before_start)
    await _turn(session, control, prompt=prompt.name, variant="v2")
    application = await create_application(session, casual)
    await create_application(session, control)
    await session.execute(
        update(Application)
        .where(Application.borrower_user_id.in_([control.id, casual.id]))
        .values(created_at=datetime.now(UTC))
    )
    await session.execute(
        update(Application)
        .where(Application.id == application.id)
        .values(submitted_at=datetime.now(UTC))
    )

    results = await service.experiment_results(
        session, engineer, name=prompt.name, experiment_id=created.id
    )

    arms = {arm.variant: arm for arm in results.arms}
    assert set(arms) == {"control", "v2"}
    assert (arms["control"].users, arms["v2"].users) == (served["control"], served["v2"])
    assert (arms["control"].turns, arms["v2"].turns) == (2, 1)
    assert (arms["control"].tool_errors, arms["v2"].tool_errors) == (1, 0)
    assert (arms["control"].thumbs_down, arms["control"].thumbs_up) == (1, 0)
    assert (arms["v2"].thumbs_up, arms["v2"].thumbs_down) == (1, 0)
    assert arms["control"].cost == Decimal("0.020000")
    assert arms["v2"].cost == Decimal("0.250000")
    assert arms["control"].input_tokens == 200
    assert (arms["control"].applications_started, arms["control"].applications_submitted) == (1, 0)
    assert (arms["v2"].applications_started, arms["v2"].applications_submitted) == (1, 1)
    assert results.window_start is not None
    assert results.window_start > before_start


async def test_experiment_results_need_prompt_read_access_and_list_unserved_arms(
    session: AsyncSession, service: PromptService, engineer: Actor, settings: Settings
) -> None:
    prompt = await create_prompt(session, versions=[V1, V2])
    data = ExperimentCreate(
        name="Draft", arms=[ArmSpec(version=1, weight=50), ArmSpec(version=2, weight=50)]
    )
    created = await service.create_experiment(session, engineer, name=prompt.name, data=data)

    results = await service.experiment_results(
        session, engineer, name=prompt.name, experiment_id=created.id
    )
    assert [(a.variant, a.users, a.turns) for a in results.arms] == [("v1", 0, 0), ("v2", 0, 0)]
    assert results.window_start is None
    borrower = actor_of(await create_borrower(session, settings, complete=False))
    with pytest.raises(PermissionDenied):
        await service.experiment_results(
            session, borrower, name=prompt.name, experiment_id=created.id
        )
