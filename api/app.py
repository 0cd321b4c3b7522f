"""The FastAPI app factory and its lifespan (engine, sessions, shared store, job queue, worker)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from admin.app import create_admin_app
from agents.assistant import open_assistant
from agents.models import ModelProvider
from agents.prompts.service import prompt_cache
from agents.turns import TurnDispatcher
from api.errors import install_error_handlers
from api.heap import FreezeAfterWarmUp, freeze_started_heap
from api.metrics import Metrics
from api.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from api.routes import (
    analytics,
    applications,
    audit,
    auth,
    catalog,
    chat,
    commissions,
    dev,
    documents,
    health,
    invitations,
    knowledge,
    lender_webhooks,
    lenders,
    me,
    mfa,
    notifications,
    offers,
    openai_compat,
    organizations,
    privacy,
    profile,
    prompts,
    reminders,
    tokens,
    users,
    voice,
)
from api.state import AppState
from api.tracing import instrument_app
from api.web import mount_web_app
from api.worker import run_job_worker
from lending import tracing
from lending.config import Settings, get_settings
from lending.db import SessionMaker, create_engine, create_sessionmaker, resolve_database_url
from lending.error_reporting import configure_error_reporting
from lending.jobs import open_queue
from lending.kv import Store, create_store
from lending.logs import get_logger
from lending.notifications.live import NotificationFeed

log = get_logger(__name__)


def create_app(
    settings: Settings | None = None,
    *,
    sessionmaker: SessionMaker | None = None,
    store: Store | None = None,
    run_worker: bool = False,
    freeze_heap: bool = False,
    chat_model: ModelProvider | None = None,
) -> FastAPI:
    """Build the app.

    Args:
        settings: defaults to the process settings.
        sessionmaker: use this instead of building an engine (tests bind it to one transaction).
        store: use this shared store instead of the one the settings describe.
        run_worker: also run a background-job worker inside this process.
        freeze_heap: after start-up, and again after the first requests, move every live object
            out of the garbage collector's sight, so full collections stay short (api/heap.py);
            for a serving process.
        chat_model: the assistant's model chain instead of the configured one (tests script it).
    """
    settings = settings or get_settings()
    tracing.configure_tracing(service_name="omnifin-api")  # off unless OTEL_* ask (issue 20)
    configure_error_reporting(settings, service_name="omnifin-api")  # off without a DSN
    state = AppState(settings=settings, metrics=Metrics(), sessionmaker=sessionmaker, store=store)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            # Last to run at shutdown: whatever routes created on first use (lender adapters'
            # HTTP client) is closed with the app.
            stack.push_async_callback(_close_extras, state)
            database_url = None
            if state.sessionmaker is None:
                database_url = resolve_database_url(settings)
                state.engine = create_engine(settings, database_url)
                stack.push_async_callback(state.engine.dispose)
                state.sessionmaker = create_sessionmaker(state.engine)
            state.metrics.watch_engine(state.engine)
            tracing.instrument_engine(state.engine)
            stack.callback(tracing.flush)
            if state.store is None:
                state.store = create_store(settings)
                stack.push_async_callback(state.store.close)
            if database_url is not None:
                state.job_queue = await stack.enter_async_context(
                    open_queue(database_url, settings=settings)
                )
                if run_worker:
                    worker = asyncio.create_task(
                        run_job_worker(
                            state.job_queue,
                            concurrency=settings.worker_concurrency,
                            install_signal_handlers=False,
                        ),
                        name="omnifin-worker",
                    )
                    stack.push_async_callback(_stop_worker, worker)
            state.notification_feed = await stack.enter_async_context(
                NotificationFeed.running(database_url or resolve_database_url(settings))
            )
            await prompt_cache.start(state.store)
            stack.push_async_callback(prompt_cache.stop)
            state.runner = await stack.enter_async_context(
                open_assistant(
                    settings,
                    database_url=database_url or resolve_database_url(settings),
                    sessionmaker=state.sessionmaker,
                    model=chat_model,
                )
            )
            state.turns = TurnDispatcher(
                state.runner,
                state.store,
                double_texting=settings.chat_double_texting,
                tasks=state.background_tasks,
                max_concurrent=settings.chat_max_concurrent_turns,
                wait_seconds=settings.chat_turn_wait_seconds,
                lease_seconds=settings.chat_turn_lease_seconds,
            )
            stack.push_async_callback(state.turns.drain)
            if freeze_heap:
                freeze_started_heap()
            log.info("started", store=state.store.backend, worker=run_worker)
            yield

    app = FastAPI(
        title="Omnifin API",
        version="0.1.0",
        summary="AI-first lending platform: applications, lenders, offers, documents, commissions.",
        lifespan=lifespan,
    )
    app.state.omnifin = state
    install_error_handlers(app)
    # The turn's routes first: FastAPI matches the included routers in order, trying every route
    # of each (no prefix shortcut), so a chat turn behind twenty routers spent 0.34 ms matching.
    # The prefixes do not overlap, so the order changes nothing else.
    app.include_router(chat.router)
    app.include_router(openai_compat.router)
    app.include_router(voice.router)
    app.include_router(health.router)
    app.include_router(auth.router)
    app.include_router(me.router)
    app.include_router(mfa.router)
    app.include_router(organizations.router)
    app.include_router(invitations.router)
    app.include_router(users.router)
    app.include_router(tokens.router)
    app.include_router(audit.router)
    app.include_router(knowledge.router)
    app.include_router(applications.router)
    app.include_router(offers.router)
    app.include_router(documents.router)
    app.include_router(commissions.router)
    app.include_router(lenders.router)
    app.include_router(catalog.router)
    app.include_router(lender_webhooks.router)
    app.include_router(profile.router)
    app.include_router(privacy.router)
    app.include_router(prompts.router)
    app.include_router(analytics.router)
    app.include_router(dev.router)
    app.include_router(notifications.router)
    app.include_router(reminders.router)

    app.add_middleware(
        BodySizeLimitMiddleware,
        max_body_bytes=settings.max_request_body_bytes,
        max_upload_bytes=settings.max_upload_bytes,
    )
    app.add_middleware(RequestContextMiddleware, metrics=state.metrics)
    if freeze_heap:
        app.add_middleware(FreezeAfterWarmUp)
    if settings.cors_allow_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_allow_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID", "Idempotency-Key"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    # The back office reads the same state (sessions, store, settings) once the lifespan set it.
    app.mount("/admin", create_admin_app(state))
    mount_web_app(app)
    instrument_app(app)
    return app


async def _close_extras(state: AppState) -> None:
    for value in state.extras.values():
        close = getattr(value, "aclose", None)
        if close is not None:
            await close()
    state.extras.clear()


async def _stop_worker(worker: asyncio.Task[None]) -> None:
    worker.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await worker
