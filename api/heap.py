"""Short full garbage collections in a serving process (issue 21: no full-GC pause over 20 ms).

A full collection walks every object the collector tracks, except those `gc.freeze()` moved out
of its sight. The app freezes its heap once it has started, but much of what it keeps for good
is built on first use, after that: SQLAlchemy configures its mappers at the first query, and the
first requests of each kind build their routes' validators, the tools' schemas and the
statement caches. Measured on the agent benchmark's server, that was about 53,000 objects after
the first turn, the same after 300 turns (not a leak), and each full collection walked them all.

So the app freezes twice more: once it has served a few requests (most of what first use builds
is there by then) and again, more cheaply, later on. Each freeze is one full collection first,
so only what is alive then is frozen; a cycle among those objects that dies later is never
collected, which bounds the cost at what a few requests leave alive at those two moments.
"""

from __future__ import annotations

import gc

from sqlalchemy.orm import configure_mappers
from starlette.types import ASGIApp, Receive, Scope, Send

# After this many finished requests, and again after ten times as many.
FREEZE_AFTER_REQUESTS = (20, 200)

# The collector's thresholds in a serving process. The default 700 allocations between young
# collections is less than one chat turn makes, so every turn's short-lived objects were walked
# while the turn still held them, then again in the older generation they had moved to. At
# 10,000, most are gone before a collection comes: collector CPU per turn measured 0.18 ms at
# 700 and 0.013 ms at 10,000 (in process, 600 turns). The older generations keep their ratios.
SERVING_THRESHOLDS: tuple[int, ...] = (10_000, 10, 10)


def freeze_heap() -> None:
    """Collect, then move every object still alive out of the collector's sight."""
    gc.collect()
    gc.freeze()


def freeze_started_heap() -> None:
    """Freeze at start-up, with the mappers configured first (they would be at the first query),
    and set the serving process's collector thresholds."""
    configure_mappers()
    freeze_heap()
    gc.set_threshold(*SERVING_THRESHOLDS)


class FreezeAfterWarmUp:
    """Pure ASGI middleware: freezes the heap after the request counts of `after`."""

    def __init__(self, app: ASGIApp, after: tuple[int, ...] = FREEZE_AFTER_REQUESTS) -> None:
        self.app = app
        self._pending = sorted(after)
        self._finished = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._pending or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._finished += 1
            if self._pending and self._finished >= self._pending[0]:
                self._pending.pop(0)
                freeze_heap()
