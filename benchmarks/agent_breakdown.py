"""Where a chat turn's CPU goes, measured in process (no HTTP) for bench_agent_turn.

The same turn as the HTTP benchmark (scripted zero-latency model: one tool call, then a 40-token
streamed answer) through `TurnRunner.run`, sequentially, in conversations of ten turns:
- with the Postgres checkpointer and with LangGraph's in-memory one: the difference, plus what
  the in-memory saver spends serialising (it keeps serialised copies), is the checkpoint's cost
  (serialisation, SQL, pool);
- the tool call alone (`registry.execute`), the turn's records alone (`threads.open_turn`,
  `start_run`, `finish_run`: the statements the runner sends, each committing alone) and the
  SSE encoding of the turn's events;
- the scripted model's two replies (a tool call, then the answer) through LangChain's
  streaming (a stand-in for a provider);
- what remains of the in-memory turn is the graph and the runner: LangGraph's loop, the nodes,
  the events, the prompt.

CPU is `time.process_time()` (this process only; Postgres's own work is not in it). Statements
are counted where they are sent: the turn's records on the driver (`lending.db.run_sql`),
SQLAlchemy's (tools, a prompt not cached yet) and the checkpointer's psycopg pool (every
checkout, every statement, inside a pipeline or not).
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.messages.ai import add_ai_message_chunks
from langgraph.checkpoint.memory import InMemorySaver
from sqlalchemy import event

from agents import threads as threads_module
from agents.assistant import open_assistant
from agents.events import to_sse
from agents.prompts.service import prompt_cache
from agents.runner import TurnRequest, TurnRunner
from agents.threads import TranscriptEntry, thread_service
from benchmarks.agent_server import provider
from lending.config import Settings
from lending.db import create_engine, create_sessionmaker, driver_autocommit, run_sql, transaction
from lending.identity.actor import Actor
from lending.identity.sessions import token_service
from lending.kv import MemoryStore
from lending.models.chat import RunStatus
from tools.context import ToolContext
from tools.registry import registry

MESSAGE = "what would 25k at 7.5% over 5 years cost?"
TOOL_ARGS = {"amount": "25000.00", "annual_rate": "7.5", "term_months": 60}


class _Counts:
    def __init__(self) -> None:
        self.counter: Counter[str] = Counter()

    def per(self, turns: int) -> dict[str, float]:
        return {key: round(value / turns, 2) for key, value in sorted(self.counter.items())}


class _CountingCursor:
    def __init__(self, cursor: Any, counts: _Counts) -> None:
        self._cursor, self._counts = cursor, counts

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        self._counts.counter["checkpoint_statements"] += 1
        return await self._cursor.execute(*args, **kwargs)

    async def executemany(self, query: Any, params: Any, **kwargs: Any) -> Any:
        params = list(params)
        self._counts.counter["checkpoint_statements"] += len(params)
        return await self._cursor.executemany(query, params, **kwargs)


class _TimedSerde:
    """The saver's serialiser, timing its CPU (synchronous calls: the time is theirs alone)."""

    def __init__(self, serde: Any) -> None:
        self.serde, self.seconds = serde, 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.serde, name)

    def dumps_typed(self, value: Any) -> Any:
        started = time.process_time()
        try:
            return self.serde.dumps_typed(value)
        finally:
            self.seconds += time.process_time() - started

    def loads_typed(self, value: Any) -> Any:
        started = time.process_time()
        try:
            return self.serde.loads_typed(value)
        finally:
            self.seconds += time.process_time() - started


def _timed_serde(saver: Any) -> _TimedSerde:
    timed = _TimedSerde(saver.serde)
    saver.serde = timed
    return timed


def _count_checkpointer(runner: TurnRunner, counts: _Counts) -> None:
    """Wrap the Postgres saver's cursor factory: one checkout per `_cursor`, every statement."""
    saver = next(iter(runner.graphs.values())).checkpointer
    original: Callable[..., Any] = saver._cursor  # type: ignore[union-attr]

    @contextlib.asynccontextmanager
    async def counted(*, pipeline: bool = False) -> AsyncIterator[Any]:
        counts.counter["checkpoint_checkouts"] += 1
        async with original(pipeline=pipeline) as cursor:
            yield _CountingCursor(cursor, counts)

    saver._cursor = counted  # type: ignore[union-attr]


async def measure(
    settings: Settings, database_url: str, token: str, *, turns: int = 200
) -> dict[str, Any]:
    """The breakdown for `settings.agent_durability`, per turn."""
    engine = create_engine(settings, database_url)
    sessionmaker = create_sessionmaker(engine)
    counts = _Counts()

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _statement(*args: Any) -> None:
        counts.counter["orm_statements"] += 1

    @event.listens_for(engine.sync_engine, "commit")
    def _commit(*args: Any) -> None:
        counts.counter["orm_transactions"] += 1

    # The run's records go to the driver below SQLAlchemy (`lending.db.run_sql`): counted there.
    async def _counted_sql(*args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        counts.counter["turn_record_statements"] += 1
        return await run_sql(*args, **kwargs)

    setattr(threads_module, "run_sql", _counted_sql)  # noqa: B010 (a module global, for the count)

    store = MemoryStore()
    await prompt_cache.start(store)
    try:
        async with transaction(sessionmaker) as session:
            actor = await token_service.authenticate(
                session, store=store, settings=settings, token=token
            )
        async with open_assistant(
            settings, database_url=database_url, sessionmaker=sessionmaker, model=provider()
        ) as runner:
            _count_checkpointer(runner, counts)
            postgres_serde = _timed_serde(next(iter(runner.graphs.values())).checkpointer)
            await _turns(runner, sessionmaker, actor, 20)  # warm up
            counts.counter.clear()
            postgres_serde.seconds = 0.0
            postgres, events = await _turns(runner, sessionmaker, actor, turns)
            statements = counts.per(turns)
            memory_saver = InMemorySaver()
            memory_serde = _timed_serde(memory_saver)
            in_memory_runner = TurnRunner(
                settings=settings,
                sessionmaker=sessionmaker,
                graphs=runner.graphs,
                registry=runner.registry,
                model=provider(),
                policies=runner.policies,
                prompts=runner.prompts,
                checkpointer=memory_saver,
                durability=runner.durability,
            )
            await _turns(in_memory_runner, sessionmaker, actor, 20)
            memory_serde.seconds = 0.0
            memory, _ = await _turns(in_memory_runner, sessionmaker, actor, turns)
        tool = await _tool_calls(sessionmaker, settings, actor, turns)
        model = await _model_calls(actor, turns)
        records = await _records(sessionmaker, actor, turns)
        serialization = _serialization(events, turns)
    finally:
        setattr(threads_module, "run_sql", run_sql)  # noqa: B010
        await prompt_cache.stop()
        await engine.dispose()
    # The in-memory saver serialises too (it keeps copies): its serialisation belongs to the
    # checkpoint, not to the graph.
    memory_serialization = memory_serde.seconds * 1000 / turns
    checkpoint = postgres - memory + memory_serialization
    graph = memory - memory_serialization - tool - records - model
    return {
        "durability": settings.agent_durability,
        "turns": turns,
        "cpu_ms_per_turn": {
            "turn_with_postgres_checkpoint": round(postgres, 2),
            "turn_with_memory_checkpoint": round(memory, 2),
            "checkpoint": round(checkpoint, 2),
            "checkpoint_of_which_serialization": round(postgres_serde.seconds * 1000 / turns, 2),
            "tools": round(tool, 2),
            "turn_records": round(records, 2),
            "model_scripted_streaming": round(model, 2),
            "graph_and_runner": round(graph, 2),
            "serialization_sse (in the HTTP share)": round(serialization, 2),
        },
        "statements_per_turn": statements,
        "events_per_turn": len(events),
    }


async def _turns(
    runner: TurnRunner, sessionmaker: Any, actor: Actor, turns: int
) -> tuple[float, list[Any]]:
    thread_ids = []
    async with transaction(sessionmaker) as session:
        for _ in range(max(1, turns // 10)):
            thread_ids.append((await thread_service.create(session, actor)).id)
    events: list[Any] = []
    started = time.process_time()
    for index in range(turns):
        request = TurnRequest(thread_id=thread_ids[index // 10], actor=actor, message=MESSAGE)
        events = [item async for item in runner.run(request)]
        if events[-1].type != "run.completed":
            raise RuntimeError(f"turn failed: {events[-1]!r}")
    return (time.process_time() - started) * 1000 / turns, events


async def _tool_calls(sessionmaker: Any, settings: Settings, actor: Actor, turns: int) -> float:
    context = ToolContext(
        actor=actor, sessionmaker=sessionmaker, settings=settings, thread_id=str(uuid.uuid4())
    )
    started = time.process_time()
    for index in range(turns):
        await registry.execute(
            "compute_payment", TOOL_ARGS, context, idempotency_key=f"call_{index}"
        )
    return (time.process_time() - started) * 1000 / turns


async def _model_calls(actor: Actor, turns: int) -> float:
    """The scripted model's two replies of a turn through LangChain's streaming, merged."""
    schemas = [spec.openai_schema() for spec in registry.for_actor(actor)]
    bound = provider().bind(schemas)
    asked = [SystemMessage("You are Omni."), HumanMessage(MESSAGE)]
    call = AIMessage(
        content="", tool_calls=[{"name": "compute_payment", "args": TOOL_ARGS, "id": "call_1"}]
    )
    answered = [*asked, call, ToolMessage("{}", tool_call_id="call_1")]
    started = time.process_time()
    for _ in range(turns):
        for history in (asked, answered):  # the tool call, then the streamed answer
            chunks = [chunk async for chunk in bound.astream(history)]
            add_ai_message_chunks(chunks[0], *chunks[1:])
    return (time.process_time() - started) * 1000 / turns


async def _records(sessionmaker: Any, actor: Actor, turns: int) -> float:
    """The runner's records per turn, statement by statement (no transaction): read the thread
    and start the run, then finish it with the transcript (a user message, a tool entry, the
    answer)."""
    async with transaction(sessionmaker) as session:
        thread_id = (await thread_service.create(session, actor)).id
    transcript = [
        TranscriptEntry(role="tool", tool={"tool": "compute_payment", "ok": True, "error": None}),
        TranscriptEntry(role="assistant", content="word " * 40),
    ]
    started = time.process_time()
    for _ in range(turns):
        # As TurnRunner._begin does: a session opened in case the prompt needs one (it does not
        # connect unless used), and the records on the pool's driver connection.
        async with transaction(sessionmaker), driver_autocommit(sessionmaker) as records:
            thread = await thread_service.open_turn(records, actor, thread_id)
            run_id = await thread_service.start_run(
                records, thread.id, mode="llm", prompt_versions={}, variant=None, user_text=MESSAGE
            )
        async with driver_autocommit(sessionmaker) as records:
            await thread_service.finish_run(
                records,
                thread_id=thread_id,
                run_id=run_id,
                status=RunStatus.COMPLETED,
                mode="llm",
                latency_ms=1.0,
                input_tokens=10,
                output_tokens=40,
                cost=0,  # type: ignore[arg-type]
                transcript=transcript,
            )
    return (time.process_time() - started) * 1000 / turns


def _serialization(events: list[Any], turns: int) -> float:
    started = time.process_time()
    for _ in range(turns):
        b"".join(to_sse(item) for item in events)
    return (time.process_time() - started) * 1000 / turns
