"""The shared store behaves the same on Redis and in process: values, rate windows, pub/sub."""

from __future__ import annotations

import asyncio

from lending.kv import MemoryStore, Store


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


async def test_the_memory_store_drops_what_expired_and_stays_under_its_cap() -> None:
    store = MemoryStore(max_keys=50, sweep_interval_seconds=0.05)
    for n in range(200):
        await store.set(f"short:{n}", b"x", ttl_seconds=0.05)
        await store.hit(f"window:{n}", limit=5, window_seconds=0.05)
    assert store.size() <= 51  # over the cap, the soonest to expire went first

    await asyncio.sleep(0.1)
    await store.set("kept", b"y")  # a write after the sweep interval sweeps

    assert store.size() == 1
    assert await store.get("kept") == b"y"


async def test_past_the_cap_a_key_without_expiry_outlives_expiring_ones() -> None:
    store = MemoryStore(max_keys=10, sweep_interval_seconds=3600)
    await store.set("lasting", b"1")
    for n in range(30):
        await store.set(f"lease:{n}", b"x", ttl_seconds=600 + n)

    assert store.size() <= 10
    assert await store.get("lasting") == b"1"
    assert await store.get("lease:29") == b"x"  # the latest to expire is kept
