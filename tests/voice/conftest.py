"""Fixtures of the voice tests: the real turn runner (scripted model, real Postgres) behind the
voice adapter, driven by LiveKit's AgentSession."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from decimal import Decimal

import pytest

from agents.models import ModelBreaker, ModelPricing, ModelProvider
from agents.scripted import ScriptedChatModel
from agents.turns import TurnDispatcher
from api.app import create_app
from lending.config import Settings
from lending.db import SessionMaker
from lending.kv import MemoryStore

OpenTurns = Callable[[ScriptedChatModel], AbstractAsyncContextManager[TurnDispatcher]]


@pytest.fixture
def with_turns(settings: Settings, sessionmaker: SessionMaker) -> OpenTurns:
    """The app's turn dispatcher (the one chat uses) with `model` as the assistant's model."""

    @asynccontextmanager
    async def open_turns(model: ScriptedChatModel) -> AsyncIterator[TurnDispatcher]:
        provider = ModelProvider(
            models=[model],
            pricing=ModelPricing(Decimal("0.5"), Decimal("1.5")),
            breaker=ModelBreaker(failures=1, cooldown_seconds=3600),
        )
        app = create_app(
            settings, sessionmaker=sessionmaker, store=MemoryStore(), chat_model=provider
        )
        async with app.router.lifespan_context(app):
            turns = app.state.omnifin.turns
            assert turns is not None
            yield turns

    return open_turns
