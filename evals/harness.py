"""Runs one scenario, one trial, over one channel: a fresh clone of the template database, the
fixtures built through the services, the conversation through the product's TurnRunner (same
tools, permission checks and approvals as chat, /v1 and voice; over voice through the voice
adapter, evals.spoken), then every check of the scenario."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from langchain_core.messages import AIMessage
from pydantic import SecretStr
from sqlalchemy import select

from agents.assistant import open_assistant
from agents.events import (
    Event,
    InterruptRequested,
    MessageCompleted,
    RunCompleted,
    RunError,
    RunStarted,
    ToolFinished,
    ToolStarted,
)
from agents.models import ModelBreaker, ModelPricing, ModelProvider
from agents.pii import redact
from agents.runner import Approval, PromptSource, TurnRequest, TurnRunner
from agents.scripted import ScriptedChatModel
from agents.threads import thread_service
from evals import checks
from evals.checks import Check, Observed, ToolCallRecord
from evals.fixtures import World, build, settle
from evals.isolation import Databases
from evals.judges import Judge, Verdict
from evals.schema import Answer, Channel, Mode, Say, Scenario
from evals.simulated import SimulatedUserModel
from evals.spoken import SPOKEN_ANSWERS, unspeakable, voice_session
from lending.config import Settings
from lending.db import create_engine, create_sessionmaker, transaction
from lending.models.chat import ChatRun

# (scenario, mode, the fixtures made) -> the model chain of the run; None: guided mode.
ModelFactory = Callable[[Scenario, Mode, World], ModelProvider | None]

# "${app.KEY}" and "${user.KEY}" in a script stand for the ids the fixtures made.
_PLACEHOLDER = re.compile(r"\$\{(app|user)\.([a-z][a-z0-9_]*)\}")


@dataclass
class ScenarioResult:
    scenario_id: str
    scenario_hash: str
    suite: str
    critical: bool
    mode: str
    trial: int
    passed: bool
    checks: list[dict[str, Any]]
    verdicts: list[dict[str, Any]]
    turns: int
    max_latency_ms: float
    tokens: int
    cost: Decimal
    duration_ms: float
    isolation_ms: float
    transcript: list[dict[str, str]]
    prompt_versions: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def failures(self) -> list[str]:
        return [f"{c['name']}: {c['detail']}" for c in self.checks if not c["passed"]]


def _fill(value: Any, world: World) -> Any:
    if isinstance(value, str):

        def swap(found: re.Match[str]) -> str:
            kind, key = found.groups()
            if kind == "app":
                return str(world.applications[key])
            return str(world.users[key].id)

        return _PLACEHOLDER.sub(swap, value)
    if isinstance(value, list):
        return [_fill(item, world) for item in value]
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    return value


def scripted_model(scenario: Scenario, world: World) -> ModelProvider:
    """The scenario's own script as the model (it starts over at the end, like the tests')."""
    script = [
        AIMessage(
            content=_fill(reply.text, world),
            tool_calls=[
                {"name": call.name, "args": _fill(call.args, world), "id": f"call_{turn}_{index}"}
                for index, call in enumerate(reply.calls)
            ],
        )
        for turn, reply in enumerate(scenario.script)
    ]
    return ModelProvider(
        models=[ScriptedChatModel(script=script)],
        pricing=ModelPricing(Decimal("0.5"), Decimal("1.5")),
        # A scripted model never fails over to guided mode mid-scenario.
        breaker=ModelBreaker(failures=1_000_000, cooldown_seconds=3600),
    )


@dataclass
class Harness:
    settings: Settings
    databases: Databases
    models: ModelFactory
    judge: Judge
    prompts: PromptSource | None = None
    user_model: SimulatedUserModel | None = None

    async def run(
        self, scenario: Scenario, mode: Mode, trial: int = 1, channel: Channel = "chat"
    ) -> ScenarioResult:
        started = time.perf_counter()
        url = await self.databases.clone()
        isolation_ms = (time.perf_counter() - started) * 1000
        settings = self.settings.model_copy(update={"database_url": SecretStr(url)})
        engine = create_engine(settings, url)
        observed = Observed()
        transcript: list[dict[str, str]] = []
        all_checks: list[Check] = []
        verdicts: list[Verdict] = []
        versions: dict[str, Any] = {}
        error: str | None = None
        try:
            sessionmaker = create_sessionmaker(engine)
            async with transaction(sessionmaker) as session:
                world = await build(session, settings, scenario)
            await settle(sessionmaker, settings, world, scenario)
            async with open_assistant(
                settings,
                database_url=url,
                sessionmaker=sessionmaker,
                model=self.models(scenario, mode, world),
                prompts=self.prompts,
            ) as runner:
                # The runner's own mode decides; without a model it is guided whatever was given.
                async with transaction(sessionmaker) as session:
                    thread = await thread_service.create(
                        session, world.actor, channel="voice" if channel == "voice" else "web"
                    )
                if channel == "voice":
                    await self._speak(runner, scenario, world, thread.id, observed, transcript)
                else:
                    await self._converse(runner, scenario, world, thread.id, observed, transcript)
            async with sessionmaker() as session:
                all_checks += checks.trajectory(scenario.trajectory, observed.calls)
                all_checks += checks.approvals(scenario.approvals, observed.asked)
                all_checks += await checks.state(session, world, scenario.final_state)
                offers = await checks.offers_exist(session, world)
                all_checks += checks.replies(scenario.replies, observed, world, offers_made=offers)
                all_checks += checks.budgets(scenario.budgets, observed)
                runs = await session.scalars(
                    select(ChatRun.prompt_versions).where(ChatRun.thread_id == thread.id)
                )
                for item in runs:
                    versions.update(item or {})
            text = _transcript_text(transcript)
            for spec in scenario.replies.judges:
                verdict = await self.judge.judge(spec, text)
                verdicts.append(verdict)
                all_checks.append(
                    Check(f"judge:{verdict.judge}", verdict.passed, verdict.rationale)
                )
            expected_mode = "guided" if mode == "guided" else "llm"
            wrong = observed.modes - {expected_mode}
            if wrong:
                # A model outage hands turns to guided mode: that is not the run asked for.
                all_checks.append(Check("mode", False, f"turns ran in {sorted(wrong)} mode"))
            for message in observed.errors:
                all_checks.append(Check("turn:error", False, message))
            if channel == "voice":
                written = sorted(
                    {mark for reply in observed.replies for mark in unspeakable(reply)}
                )
                all_checks.append(
                    Check(
                        "voice:speakable",
                        not written and bool(observed.replies),
                        f"spoken replies hold {written}"
                        if written
                        else ("nothing was spoken" if not observed.replies else "speakable"),
                    )
                )
        except Exception as exc:  # a scenario that cannot run fails, with the reason stored
            error = f"{type(exc).__name__}: {exc}"
            all_checks.append(Check("harness", False, error))
        finally:
            await engine.dispose()
            self.databases.drop_later(url)
        return ScenarioResult(
            scenario_id=scenario.id,
            scenario_hash=scenario.digest(),
            suite=scenario.suite,
            critical=scenario.critical,
            mode=mode if channel == "chat" else f"{mode}:voice",
            trial=trial,
            passed=all(c.passed for c in all_checks),
            checks=[asdict(c) for c in all_checks],
            verdicts=[asdict(v) for v in verdicts],
            turns=observed.turns,
            max_latency_ms=round(observed.max_latency_ms, 3),
            tokens=observed.tokens,
            cost=observed.cost,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
            isolation_ms=round(isolation_ms, 3),
            transcript=transcript,
            prompt_versions=versions,
            error=error,
        )

    async def _speak(
        self,
        runner: TurnRunner,
        scenario: Scenario,
        world: World,
        thread_id: uuid.UUID,
        observed: Observed,
        transcript: list[dict[str, str]],
    ) -> None:
        """Every turn said (an `answer` as "yes" / "no"); the replies are what was spoken."""
        if scenario.user.simulated is not None:
            observed.errors.append("a simulated user does not run over voice yet")
            return
        calls: dict[str, int] = {}
        observed.spoken = True

        async def sink(event: Event) -> None:
            await _record(event, observed, transcript, [], calls, replies=False)

        async with voice_session(runner, world.actor, thread_id, sink) as speaker:
            for step in scenario.user.turns[: scenario.user.max_turns]:
                text = step.say if isinstance(step, Say) else SPOKEN_ANSWERS[step.answer]
                observed.turns += 1
                observed.user_texts.append(text)
                transcript.append({"role": "user", "content": redact(text)})
                spoken = await speaker.say(text)
                observed.replies.append(spoken)
                transcript.append({"role": "assistant", "content": redact(spoken)})

    async def _converse(
        self,
        runner: TurnRunner,
        scenario: Scenario,
        world: World,
        thread_id: uuid.UUID,
        observed: Observed,
        transcript: list[dict[str, str]],
    ) -> None:
        pending: list[InterruptRequested] = []

        async def turn(request: TurnRequest, shown: str) -> None:
            observed.turns += 1
            transcript.append({"role": "user", "content": shown})
            pending.clear()
            await _consume(runner.run(request), observed, transcript, pending)

        if scenario.user.simulated is None:
            for step in scenario.user.turns[: scenario.user.max_turns]:
                if isinstance(step, Say):
                    observed.user_texts.append(step.say)
                    await turn(
                        TurnRequest(thread_id=thread_id, actor=world.actor, message=step.say),
                        redact(step.say),
                    )
                elif isinstance(step, Answer):
                    if not pending:
                        observed.errors.append(
                            f"the user would {step.answer}, but nothing was asked"
                        )
                        continue
                    question = pending[-1]
                    approval = Approval(
                        question.approval_id, step.answer == "approve", step.channel
                    )
                    await turn(
                        TurnRequest(thread_id=thread_id, actor=world.actor, approval=approval),
                        f"[{step.answer} {question.tool} by {step.channel}]",
                    )
            return
        simulated = scenario.user.simulated
        if self.user_model is None:
            observed.errors.append("a simulated user needs --user-model")
            return
        message: str | None = simulated.opening
        for _ in range(scenario.user.max_turns):
            if pending:
                question = pending[-1]
                approved = simulated.approvals.get(question.tool, "reject") == "approve"
                await turn(
                    TurnRequest(
                        thread_id=thread_id,
                        actor=world.actor,
                        approval=Approval(question.approval_id, approved, "button"),
                    ),
                    f"[{'approve' if approved else 'reject'} {question.tool} by button]",
                )
                continue
            if message is None:
                break
            observed.user_texts.append(message)
            await turn(
                TurnRequest(thread_id=thread_id, actor=world.actor, message=message),
                redact(message),
            )
            message = await self.user_model.next_message(simulated, transcript)


async def _consume(
    events: Any,
    observed: Observed,
    transcript: list[dict[str, str]],
    pending: list[InterruptRequested],
) -> None:
    calls: dict[str, int] = {}
    async for event in events:
        await _record(event, observed, transcript, pending, calls)


async def _record(
    event: Event,
    observed: Observed,
    transcript: list[dict[str, str]],
    pending: list[InterruptRequested],
    calls: dict[str, int],
    *,
    replies: bool = True,
) -> None:
    """One event into what was observed; `replies=False` when the reply is what was spoken."""
    if isinstance(event, ToolStarted):
        calls[event.call_id] = len(observed.calls)
        observed.calls.append(ToolCallRecord(event.tool, dict(event.args), None))
        transcript.append({"role": "tool", "content": f"{event.tool}({_short(event.args)})"})
    elif isinstance(event, ToolFinished):
        index = calls.get(event.call_id)
        if index is not None:
            started = observed.calls[index]
            observed.calls[index] = ToolCallRecord(started.tool, started.args, event.ok)
        else:
            observed.calls.append(ToolCallRecord(event.tool, {}, event.ok))
        if not event.ok:
            transcript.append({"role": "tool", "content": f"{event.tool} failed: {event.error}"})
    elif isinstance(event, MessageCompleted):
        if not replies:
            return
        observed.replies.append(event.text)
        transcript.append({"role": "assistant", "content": redact(event.text)})
    elif isinstance(event, InterruptRequested):
        pending.append(event)
        observed.asked.append((event.tool, event.summary))
        transcript.append({"role": "approval", "content": redact(event.summary)})
    elif isinstance(event, RunCompleted):
        observed.max_latency_ms = max(observed.max_latency_ms, event.latency_ms)
        observed.tokens += event.tokens.input_tokens + event.tokens.output_tokens
        observed.cost += event.cost
    elif isinstance(event, RunError):
        observed.errors.append(f"{event.error}: {event.detail}")
    elif isinstance(event, RunStarted):
        observed.modes.add(event.mode)


def _short(args: dict[str, Any]) -> str:
    text = ", ".join(f"{k}={v}" for k, v in args.items())
    return text if len(text) < 160 else text[:157] + "..."


def _transcript_text(transcript: list[dict[str, str]]) -> str:
    return "\n".join(f"{item['role']}: {item['content']}" for item in transcript)
