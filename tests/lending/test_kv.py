"""The shared store behaves the same on Redis and in process: values, rate windows, pub/sub."""

from __future__ import annotations

import asyncio

from lending.kv import Store


async def test_values_round_trip_and_expire(store: Store) -> None:
    await store.set("greeting", b"hello")
    assert await store.get("greeting") == b"hello"
    await store.set("short", b"lived", ttl_seconds=0.05)
    assert await store.get("short") == b"lived"
    await asyncio.sleep(0.2)
    assert await store.get("short") is None
    await store.delete("greeting")
    assert await store.get("greeting") is None


async def test_sliding_window_refuses_over_the_limit_then_recovers(store: Store) -> None:
    decisions = [await store.hit("login:1.2.3.4", limit=3, window_seconds=0.5) for _ in range(3)]
    assert [d.allowed for d in decisions] == [True, True, True]
    assert [d.remaining for d in decisions] == [2, 1, 0]
    refused = await store.hit("login:1.2.3.4", limit=3, window_seconds=0.5)
    assert not refused.allowed
    assert refused.retry_after_seconds >= 1
    other_key = await store.hit("login:5.6.7.8", limit=3, window_seconds=0.5)
    assert other_key.allowed  # windows are per key
    await asyncio.sleep(0.6)
    assert (await store.hit("login:1.2.3.4", limit=3, window_seconds=0.5)).allowed


async def test_reset_clears_a_window(store: Store) -> None:
    for _ in range(2):
        await store.hit("k", limit=2, window_seconds=60)
    assert not (await store.hit("k", limit=2, window_seconds=60)).allowed
    await store.reset("k")
    assert (await store.hit("k", limit=2, window_seconds=60)).allowed


async def test_publish_reaches_subscribers(store: Store) -> None:
    received: list[bytes] = []
    subscribed = asyncio.Event()

    async def listen() -> None:
        stream = store.subscribe("prompts")
        waiter = asyncio.ensure_future(stream.__anext__())
        subscribed.set()
        received.append(await waiter)
        received.append(await stream.__anext__())
        await stream.aclose()  # type: ignore[attr-defined]

    task = asyncio.create_task(listen())
    await subscribed.wait()
    # Publishing until the first message lands covers Redis's asynchronous SUBSCRIBE.
    async with asyncio.timeout(5):
        while not received:
            await store.publish("prompts", b"v2")
            await asyncio.sleep(0.05)
        await store.publish("prompts", b"v3")
        await task
    assert received[0] == b"v2"
    assert received[-1] == b"v3"
    await store.ping()


async def test_a_lease_is_held_by_one_caller_until_released_or_expired(store: Store) -> None:
    assert await store.acquire("thread:1:run", ttl_seconds=5)
    assert not await store.acquire("thread:1:run", ttl_seconds=5)
    await store.delete("thread:1:run")
    assert await store.acquire("thread:1:run", ttl_seconds=0.05)
    await asyncio.sleep(0.2)
    assert await store.acquire("thread:1:run", ttl_seconds=5)
