"""The serving process freezes its heap after start-up and after its first requests (api/heap.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from api import heap


@pytest.fixture
def thawed() -> Iterator[None]:
    """Whatever a test freezes goes back under the collector's eye afterwards, with the
    collector's thresholds as they were."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_a_started_serving_heap_is_frozen_and_collected_less_often(thawed: None) -> None:
    kept = [[index] for index in range(1000)]
    heap.freeze_started_heap()
    assert gc.get_threshold() == heap.SERVING_THRESHOLDS
    assert heap.SERVING_THRESHOLDS[0] > 700  # Python's default walked every turn's objects
    tracked = {id(item) for item in gc.get_objects()}
    assert not tracked & {id(item) for item in kept}


async def _ok(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def _fails(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("boom")


def test_freeze_heap_moves_live_objects_out_of_the_collectors_sight(thawed: None) -> None:
    kept = [[index] for index in range(1000)]  # tracked containers, alive
    before = gc.get_freeze_count()
    heap.freeze_heap()
    assert gc.get_freeze_count() >= before + len(kept)
    tracked = {id(item) for item in gc.get_objects()}
    assert not tracked & {id(item) for item in kept}


async def test_the_heap_is_frozen_after_the_warm_up_request_counts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    freezes: list[int] = []
    app = heap.FreezeAfterWarmUp(_ok, after=(3, 5))
    monkeypatch.setattr(heap, "freeze_heap", lambda: freezes.append(app._finished))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://omnifin.test"
    ) as client:
        for _ in range(8):
            assert (await client.get("/")).status_code == 200
    assert freezes == [3, 5]  # once at each count, never again


async def test_a_failed_request_counts_too(monkeypatch: pytest.MonkeyPatch) -> None:
    freezes: list[int] = []
    app = heap.FreezeAfterWarmUp(_fails, after=(2,))
    monkeypatch.setattr(heap, "freeze_heap", lambda: freezes.append(app._finished))
    scope: Scope = {"type": "http", "path": "/", "method": "GET", "headers": []}

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b""}

    async def send(message: object) -> None:
        return None

    for _ in range(2):
        with pytest.raises(RuntimeError):
            await app(scope, receive, send)
    assert freezes == [2]
