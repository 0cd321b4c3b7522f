"""What the app holds for its lifetime: settings, database, shared store, job queue, metrics."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import procrastinate
from sqlalchemy.ext.asyncio import AsyncEngine

from api.metrics import Metrics
from lending.config import Settings
from lending.db import SessionMaker
from lending.kv import Store
from lending.notifications.live import NotificationFeed

if TYPE_CHECKING:
    from agents.runner import TurnRunner
    from agents.turns import TurnDispatcher


@dataclass
class AppState:
    settings: Settings
    metrics: Metrics
    sessionmaker: SessionMaker | None = None
    engine: AsyncEngine | None = None
    store: Store | None = None
    job_queue: procrastinate.App | None = None
    runner: TurnRunner | None = None
    turns: TurnDispatcher | None = None
    notification_feed: NotificationFeed | None = None
    background_tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    extras: dict[str, object] = field(default_factory=dict)
