"""The Postgres checkpointer: LangGraph's saver on its own small connection pool, writing each
checkpoint in one statement.

Its tables are created by our migrations (revision 0006), not by `setup()` at start-up. The pool
does not check a connection on checkout (a round trip per checkout, PERFORMANCE.md); a broken
connection is replaced when it fails.

`TurnCheckpointer` keeps LangGraph's tables, rows and reads, and changes how a turn's writes
reach them (docs/DECISIONS.md, issue 6):
- a checkpoint and its changed channel blobs go in one statement (a data-modifying CTE over
  `unnest`), not a pipeline of one INSERT per blob plus one for the checkpoint;
- a task's writes go in one statement, not one per write;
- values are serialised in the event loop, not handed to a thread (`asyncio.to_thread` per call
  cost more than serialising a turn's few small values) — and JSON columns use orjson;
- no saver-wide lock around pool checkouts: the lock exists for a single shared connection, and
  with a pool it made every conversation wait for every other one's checkpoint;
- a message is encoded once (`MessageCachingSerializer`): the conversation's message list is
  one blob, rewritten at every checkpoint of a turn, and re-encoding every message each time
  grew with the length of the conversation. The bytes are the library's own.
Every statement is one autocommit statement, so a checkpoint is stored whole or not at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from typing import Any

import orjson
import ormsgpack
from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_checkpoint_id,
    get_serializable_checkpoint_metadata,
)
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.serde.jsonplus import (
    EXT_PYDANTIC_V2,
    JsonPlusSerializer,
    _msgpack_default,
)
from langgraph.checkpoint.serde.jsonplus import _option as _MSGPACK_OPTIONS
from langgraph.checkpoint.serde.types import _DeltaSnapshot
from psycopg import AsyncConnection, AsyncCursor
from psycopg.rows import DictRow, dict_row
from psycopg.types.json import Jsonb, set_json_dumps, set_json_loads
from psycopg_pool import AsyncConnectionPool

from lending.db import libpq_url

_PUT_CHECKPOINT = """
    INSERT INTO checkpoints
        (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata)
    VALUES (%(thread_id)s, %(ns)s, %(id)s, %(parent)s, %(checkpoint)s, %(metadata)s)
    ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id)
    DO UPDATE SET checkpoint = EXCLUDED.checkpoint, metadata = EXCLUDED.metadata
    """
_PUT_CHECKPOINT_WITH_BLOBS = (
    """
    WITH blobs AS (
        INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob)
        SELECT %(thread_id)s, %(ns)s, b.channel, b.version, b.type, b.blob
        FROM unnest(%(channels)s::text[], %(versions)s::text[], %(types)s::text[],
                    %(blobs)s::bytea[]) AS b(channel, version, type, blob)
        ON CONFLICT (thread_id, checkpoint_ns, channel, version) DO NOTHING
    )"""
    + _PUT_CHECKPOINT
)
_PUT_WRITES = """
    INSERT INTO checkpoint_writes
        (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, blob)
    SELECT %(thread_id)s, %(ns)s, %(id)s, %(task_id)s, %(task_path)s,
           w.idx, w.channel, w.type, w.blob
    FROM unnest(%(idx)s::int[], %(channels)s::text[], %(types)s::text[], %(blobs)s::bytea[])
         AS w(idx, channel, type, blob)
    ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id, task_id, idx)
    """
_PUT_WRITES_UPSERT = (
    _PUT_WRITES
    + "DO UPDATE SET channel = EXCLUDED.channel, type = EXCLUDED.type, blob = EXCLUDED.blob"
)
_PUT_WRITES_INSERT = _PUT_WRITES + "DO NOTHING"
# Decoded messages kept for the next read of their checkpoint: some fifty conversations of forty
# messages; bounded, as each is work for every full garbage collection.
_DECODED_MESSAGES = 2_000


class MessageCachingSerializer(JsonPlusSerializer):
    """LangGraph's serialiser, remembering each message's encoding while the message lives, and
    the message each encoding decoded to.

    The encoding cache is keyed by the message object and its id: LangGraph gives an id-less
    message its id in place (when it joins the state), and an entry never outlives its message.
    Messages are not otherwise changed in place (a new version of a message is a new object).

    The decoding cache is keyed by the message's bytes (which hold its id): a turn reads the
    conversation's message list back from its checkpoint, and decoding every message again
    (pydantic validation of each) grew with the length of the conversation. A decoded message
    is shared by the turns that read it, as the state of one turn shares it between its steps;
    and it is encoded again from its own bytes.
    """

    def __init__(self, *, decoded_messages: int = _DECODED_MESSAGES) -> None:
        super().__init__()
        self._encoded: dict[int, tuple[weakref.ref[BaseMessage], str, Any]] = {}
        self._decoded: OrderedDict[bytes, BaseMessage] = OrderedDict()
        self._decoded_size = decoded_messages
        self._library_ext_hook = self._unpack_ext_hook
        self._unpack_ext_hook = self._decode_ext

    def _decode_ext(self, code: int, data: bytes) -> Any:
        if code != EXT_PYDANTIC_V2:
            return self._library_ext_hook(code, data)
        message = self._decoded.get(data)
        if message is not None:
            self._decoded.move_to_end(data)
            return message
        value = self._library_ext_hook(code, data)
        if isinstance(value, BaseMessage) and value.id is not None:
            self._decoded[data] = value
            if len(self._decoded) > self._decoded_size:
                self._decoded.popitem(last=False)
            self._remember(value, ormsgpack.Ext(code, data))
        return value

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        if obj is None or isinstance(obj, bytes | bytearray):
            return super().dumps_typed(obj)
        try:
            return "msgpack", ormsgpack.packb(obj, default=self._default, option=_MSGPACK_OPTIONS)
        except ormsgpack.MsgpackEncodeError:
            return super().dumps_typed(obj)  # the library's own handling of what cannot encode

    def _default(self, obj: Any) -> Any:
        if not isinstance(obj, BaseMessage) or obj.id is None:
            return _msgpack_default(obj)
        key = id(obj)
        entry = self._encoded.get(key)
        if entry is not None and entry[0]() is obj and entry[1] == obj.id:
            return entry[2]
        encoded = _msgpack_default(obj)
        self._remember(obj, encoded)
        return encoded

    def _remember(self, message: BaseMessage, encoded: Any) -> None:
        key = id(message)
        encoded_map = self._encoded

        def forget(_: weakref.ref[BaseMessage]) -> None:
            encoded_map.pop(key, None)

        assert message.id is not None
        self._encoded[key] = (weakref.ref(message, forget), message.id, encoded)


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


class TurnCheckpointer(AsyncPostgresSaver):
    """AsyncPostgresSaver over a pool, one statement per checkpoint and per task's writes.

    A turn may have its thread's latest checkpoint read ahead (`prefetch`) while it starts its
    run, and the graph's own read of it (the first `aget_tuple` of that thread without a
    checkpoint id) takes that result instead of waiting for one more round trip. A write to the
    thread drops a read ahead not yet taken, so nothing read before a write is served after it;
    `forget` drops one the turn did not take (it failed, or was not the owner's).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ahead: dict[str, asyncio.Task[CheckpointTuple | None]] = {}

    def prefetch(self, thread_id: str) -> None:
        """Start reading the thread's latest checkpoint now, for the graph's read to take."""
        if thread_id not in self._ahead:
            config: RunnableConfig = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
            self._ahead[thread_id] = asyncio.create_task(super().aget_tuple(config))

    def forget(self, thread_id: str) -> None:
        """Drop the thread's read ahead, if one was not taken."""
        task = self._ahead.pop(thread_id, None)
        if task is None:
            return
        if not task.done():
            task.cancel()
        elif not task.cancelled():
            task.exception()  # a failed read nobody took is not an error of its own

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        configurable = config["configurable"]
        if not get_checkpoint_id(config) and not configurable.get("checkpoint_ns"):
            task = self._ahead.pop(str(configurable["thread_id"]), None)
            if task is not None:
                return await task
        return await super().aget_tuple(config)

    async def adelete_thread(self, thread_id: str) -> None:
        self.forget(str(thread_id))
        await super().adelete_thread(thread_id)

    @contextlib.asynccontextmanager
    async def _cursor(self, *, pipeline: bool = False) -> AsyncIterator[AsyncCursor[DictRow]]:
        if not isinstance(self.conn, AsyncConnectionPool):  # a single connection needs the lock
            async with super()._cursor(pipeline=pipeline) as cursor:
                yield cursor
            return
        async with (
            self.conn.connection() as conn,
            conn.cursor(binary=True, row_factory=dict_row) as cursor,
        ):
            yield cursor

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        configurable = config["configurable"]
        thread_id = configurable["thread_id"]
        checkpoint_ns = configurable["checkpoint_ns"]
        self.forget(str(thread_id))
        # Primitive values stay inline in the checkpoint row, the rest become blobs (as the
        # library stores them, so its reads and our retention job see the same rows).
        inline = dict(checkpoint["channel_values"])
        blob_values: dict[str, Any] = {}
        for key, value in checkpoint["channel_values"].items():
            if isinstance(value, _DeltaSnapshot):
                blob_values[key] = inline.pop(key)
                inline[key] = True
            elif value is None or isinstance(value, str | int | float | bool):
                continue
            else:
                blob_values[key] = inline.pop(key)
        stored = {**checkpoint, "channel_values": inline}
        params: dict[str, Any] = {
            "thread_id": thread_id,
            "ns": checkpoint_ns,
            "id": checkpoint["id"],
            "parent": configurable.get("checkpoint_id"),
            "checkpoint": Jsonb(stored),
            "metadata": Jsonb(get_serializable_checkpoint_metadata(config, metadata)),
        }
        query = _PUT_CHECKPOINT
        blob_versions = {k: v for k, v in new_versions.items() if k in blob_values}
        if blob_versions:
            rows = self._dump_blobs(thread_id, checkpoint_ns, blob_values, blob_versions)
            params["channels"] = [row[2] for row in rows]
            params["versions"] = [row[3] for row in rows]
            params["types"] = [row[4] for row in rows]
            params["blobs"] = [row[5] for row in rows]
            query = _PUT_CHECKPOINT_WITH_BLOBS
        async with self._cursor() as cursor:
            await cursor.execute(query, params)
        return {
            "configurable": {
                "thread_id": thread_id,
                "checkpoint_ns": checkpoint_ns,
                "checkpoint_id": checkpoint["id"],
            }
        }

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        if not writes:
            return
        configurable = config["configurable"]
        self.forget(str(configurable["thread_id"]))
        upsert = all(channel in WRITES_IDX_MAP for channel, _ in writes)
        rows = self._dump_writes(
            configurable["thread_id"],
            configurable["checkpoint_ns"],
            configurable["checkpoint_id"],
            task_id,
            task_path,
            writes,
        )
        # One row per index, as the library's one-statement-per-write gave: the last for an
        # upsert, the first for an insert that ignores what is there.
        by_index: dict[int, tuple[Any, ...]] = {}
        for row in rows:
            if upsert or row[5] not in by_index:
                by_index[row[5]] = row
        kept = list(by_index.values())
        async with self._cursor() as cursor:
            await cursor.execute(
                _PUT_WRITES_UPSERT if upsert else _PUT_WRITES_INSERT,
                {
                    "thread_id": configurable["thread_id"],
                    "ns": configurable["checkpoint_ns"],
                    "id": configurable["checkpoint_id"],
                    "task_id": task_id,
                    "task_path": task_path,
                    "idx": [row[5] for row in kept],
                    "channels": [row[6] for row in kept],
                    "types": [row[7] for row in kept],
                    "blobs": [row[8] for row in kept],
                },
            )

    async def _load_checkpoint_tuple(self, value: DictRow) -> CheckpointTuple:
        # The library's, without a thread hop to decode the pending writes.
        parent = value["parent_checkpoint_id"]
        return CheckpointTuple(
            {
                "configurable": {
                    "thread_id": value["thread_id"],
                    "checkpoint_ns": value["checkpoint_ns"],
                    "checkpoint_id": value["checkpoint_id"],
                }
            },
            {  # type: ignore[typeddict-item]
                **value["checkpoint"],
                "channel_values": {
                    **(value["checkpoint"].get("channel_values") or {}),
                    **self._load_blobs(value["channel_values"]),
                },
            },
            value["metadata"],
            (
                {
                    "configurable": {
                        "thread_id": value["thread_id"],
                        "checkpoint_ns": value["checkpoint_ns"],
                        "checkpoint_id": parent,
                    }
                }
                if parent
                else None
            ),
            self._load_writes(value["pending_writes"]),
        )


async def _configure(conn: AsyncConnection[Any]) -> None:
    # JSON columns (the checkpoint and its metadata) through orjson, on these connections only.
    set_json_dumps(_dumps, context=conn)
    set_json_loads(orjson.loads, context=conn)


@contextlib.asynccontextmanager
async def open_checkpointer(
    database_url: str, *, min_size: int = 2, max_size: int = 10
) -> AsyncIterator[TurnCheckpointer]:
    pool: AsyncConnectionPool = AsyncConnectionPool(
        libpq_url(database_url),
        min_size=min_size,
        max_size=max_size,
        # A checkpoint commits without waiting for its WAL flush (docs/DECISIONS.md, "Turn
        # cost, part 5"): a turn is told it completed only after its run's record commits,
        # synchronously, which flushes the WAL up to it, this checkpoint included. Until then a
        # crash of the database itself can lose the turn in flight, never a completed one; a
        # crash of our process loses nothing, the row being committed and visible at once.
        kwargs={
            "autocommit": True,
            "row_factory": dict_row,
            "options": "-c synchronous_commit=off",
        },
        configure=_configure,
        open=False,
    )
    await pool.open(wait=True)
    try:
        yield TurnCheckpointer(pool, serde=MessageCachingSerializer())
    finally:
        await pool.close()
