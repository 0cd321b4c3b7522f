"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from api.deps import StateDep
from api.errors import ErrorEnvelope, envelope
from lending.jobs import queue_depth

router = APIRouter(tags=["health"])

_CHECK_TIMEOUT_SECONDS = 2.0


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The database and, when configured, Redis answer",
    responses={503: {"model": ErrorEnvelope, "description": "NotReady: which check failed"}},
)
async def readyz(request: Request, state: StateDep) -> Response:
    checks: dict[str, str] = {}
    assert state.sessionmaker is not None
    try:
        async with asyncio.timeout(_CHECK_TIMEOUT_SECONDS), state.sessionmaker() as session:
            await session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any failure means "not ready"; the type says which
        checks["database"] = f"unavailable ({type(exc).__name__})"
    if state.store is not None and state.store.backend == "redis":
        try:
            async with asyncio.timeout(_CHECK_TIMEOUT_SECONDS):
                await state.store.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"unavailable ({type(exc).__name__})"
    if all(value == "ok" for value in checks.values()):
        return Response(
            orjson.dumps({"status": "ready", "checks": checks}), media_type="application/json"
        )
    return envelope(503, "NotReady", checks, request.state.request_id)


@router.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
async def metrics(state: StateDep) -> Response:
    if state.sessionmaker is not None:
        try:
            async with asyncio.timeout(_CHECK_TIMEOUT_SECONDS), state.sessionmaker() as session:
                depth = await queue_depth(session)
            for status, count in depth.items():
                state.metrics.job_queue_depth.labels(status).set(count)
        except Exception:  # metrics must render even when the database is down
            state.metrics.job_queue_depth.clear()
    return Response(state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
