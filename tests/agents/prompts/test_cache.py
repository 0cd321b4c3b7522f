"""A running assistant picks up a moved label without a restart: pub/sub first, the TTL as backstop."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from agents.prompts.cache import PromptCache, Resolution, publish_invalidation
from agents.prompts.service import PromptService
from lending.kv import MemoryStore, Store
from lending.models.identity import Role
from lending.models.prompts import PromptLabel, PromptLabelName
from tests.agents.prompts.factories import create_prompt
from tests.identity.factories import actor_of, create_user

PRODUCTION = PromptLabelName.PRODUCTION
V1 = ("Version one for {user_name}.", ["user_name"])
V2 = ("Version two for {user_name}.", ["user_name"])
VALUES = {"user_name": "Ana"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _eventually_dropped(cache: PromptCache, name: str, timeout: float = 3.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while cache.get(name, PRODUCTION.value) is not None:
        assert asyncio.get_running_loop().time() < deadline, "the invalidation never arrived"
        await asyncio.sleep(0.01)


async def test_a_cached_version_is_reloaded_once_its_ttl_has_passed(session: AsyncSession) -> None:
    clock = FakeClock()
    service = PromptService(PromptCache(ttl_seconds=5.0, clock=clock))
    prompt = await create_prompt(session, versions=[V1, V2])
    user = uuid.uuid4()
    assert (
        await service.render(session, name=prompt.name, variables=VALUES, user_id=user)
    ).version == 1

    # The label moves behind the cache's back, as if the message was lost.
    await session.execute(
        update(PromptLabel).where(PromptLabel.prompt_id == prompt.id).values(version_number=2)
    )
    clock.now += 4.9
    still = await service.render(session, name=prompt.name, variables=VALUES, user_id=user)
    clock.now += 0.2
    fresh = await service.render(session, name=prompt.name, variables=VALUES, user_id=user)

    assert (still.version, still.text) == (1, "Version one for Ana.")
    assert (fresh.version, fresh.text) == (2, "Version two for Ana.")


async def test_a_moved_label_reaches_a_listening_process_after_the_commit(
    session: AsyncSession, store: Store
) -> None:
    # Two "processes": the assistant (listening, with a clock that never moves, so only the
    # message can refresh it) and the API instance a prompt engineer moved the label through.
    assistant_cache = PromptCache(clock=FakeClock())
    assistant = PromptService(assistant_cache)
    api = PromptService(PromptCache())
    engineer = actor_of(await create_user(session, role=Role.PROMPT_ENGINEER))
    prompt = await create_prompt(session, versions=[V1, V2])
    await assistant_cache.start(store)
    try:
        user = uuid.uuid4()
        before = await assistant.render(session, name=prompt.name, variables=VALUES, user_id=user)

        await api.move_label(
            session, engineer, name=prompt.name, label=PRODUCTION, version=2, store=store
        )
        await asyncio.sleep(0.1)
        # Not before the commit: a reload now would read the old row and keep it for a TTL.
        assert assistant_cache.get(prompt.name, PRODUCTION.value) is not None
        await session.commit()
        await _eventually_dropped(assistant_cache, prompt.name)
        after = await assistant.render(session, name=prompt.name, variables=VALUES, user_id=user)
    finally:
        await assistant_cache.stop()

    assert (before.version, after.version) == (1, 2)
    assert after.text == "Version two for Ana."


async def test_an_invalidation_during_a_load_keeps_the_loaded_value_out() -> None:
    cache = PromptCache()
    generation = cache.generation

    cache.invalidate("test.prompt")
    cache.put(Resolution("test.prompt", "production", None, None), generation=generation)

    assert cache.get("test.prompt", "production") is None


async def test_a_message_for_one_prompt_leaves_the_others_cached(store: Store) -> None:
    cache = PromptCache()
    await cache.start(store)
    try:
        for name in ("test.one", "test.two"):
            cache.put(Resolution(name, "production", None, None), generation=cache.generation)

        await publish_invalidation(store, "test.one")
        await _eventually_dropped(cache, "test.one")
    finally:
        listening = cache.listening
        await cache.stop()

    assert listening
    assert cache.get("test.two", "production") is None  # stop() empties the cache


class FlakyStore(MemoryStore):
    """A store whose first subscription breaks, as a Redis restart would."""

    def __init__(self) -> None:
        super().__init__()
        self.subscriptions = 0

    async def subscribe(self, channel: str) -> AsyncIterator[bytes]:
        self.subscriptions += 1
        if self.subscriptions == 1:
            raise ConnectionError("connection reset")
        async for message in super().subscribe(channel):
            yield message


async def test_a_lost_subscription_is_resumed() -> None:
    store = FlakyStore()
    cache = PromptCache(retry_seconds=0.01)

    await cache.start(store)
    try:
        assert store.subscriptions == 2
        cache.put(Resolution("test.new", "production", None, None), generation=cache.generation)
        await publish_invalidation(store, None)
        await _eventually_dropped(cache, "test.new")
    finally:
        await cache.stop()


@pytest.mark.parametrize("ttl", [0.5, 5.0])
def test_entries_live_exactly_their_ttl(ttl: float) -> None:
    clock = FakeClock()
    cache = PromptCache(ttl_seconds=ttl, clock=clock)
    cache.put(Resolution("test.p", "staging", None, None), generation=cache.generation)

    clock.now += ttl - 0.01
    alive = cache.get("test.p", "staging")
    clock.now += 0.01

    assert alive is not None
    assert cache.get("test.p", "staging") is None
