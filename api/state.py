"""What the app holds for its lifetime: settings, database, shared store, job queue, metrics."""

from __future__ import annotations

from dataclasses import dataclass, field

import procrastinate
from sqlalchemy.ext.asyncio import AsyncEngine

from api.metrics import Metrics
from lending.config import Settings
from lending.db import SessionMaker
from lending.kv import Store


@dataclass
class AppState:
    settings: Settings
    metrics: Metrics
    sessionmaker: SessionMaker | None = None
    engine: AsyncEngine | None = None
    store: Store | None = None
    job_queue: procrastinate.App | None = None
    extras: dict[str, object] = field(default_factory=dict)
