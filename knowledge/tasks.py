"""Background jobs of the knowledge base: ingest an uploaded version, re-embed with a new model.

Each job owns its transactions (services never commit) and keeps them short: parsing and
embedding happen between a transaction that reads and one that writes, so a slow model never
holds locks or an idle transaction.
"""

from __future__ import annotations

import uuid

from knowledge.common import INGEST_TASK, REINDEX_TASK
from knowledge.ingest import knowledge_ingest_service, parse_source
from knowledge.reindex import knowledge_reindex_service
from lending.config import Settings
from lending.db import SessionMaker, transaction
from lending.errors import OmnifinError
from lending.jobs import queue
from lending.jobs.runtime import job_sessionmaker, job_settings
from lending.logs import get_logger

log = get_logger(__name__)


async def ingest_version(
    sessionmaker: SessionMaker, settings: Settings, *, version_id: uuid.UUID, publish: bool
) -> str:
    """Parse, embed and store a pending version; returns its final ingest status.

    A file that cannot be ingested marks the version failed with the reason, which the API
    shows; that is an outcome, not a job error to retry.
    """
    async with transaction(sessionmaker) as session:
        pending = await knowledge_ingest_service.load_pending(
            session, version_id=version_id, settings=settings
        )
    if pending is None:
        return "skipped"
    source, language, title, models = pending
    try:
        parsed = await parse_source(source, settings, language)
        prepared = await knowledge_ingest_service.prepare(parsed, title, models, settings)
    except OmnifinError as exc:
        async with transaction(sessionmaker) as session:
            await knowledge_ingest_service.fail_version(
                session, version_id=version_id, error=str(exc)
            )
        log.info("knowledge version rejected", version_id=str(version_id), error=str(exc))
        return "failed"
    async with transaction(sessionmaker) as session:
        result = await knowledge_ingest_service.complete_version(
            session, version_id=version_id, prepared=prepared, publish=publish, settings=settings
        )
    return result.ingest_status if result else "skipped"


async def reindex(
    sessionmaker: SessionMaker, settings: Settings, *, model: str, batch_size: int = 10
) -> int:
    """Embed every version with `model`, batch by batch (each its own transaction, so progress
    survives a restart), then switch search over in one transaction. Returns versions done."""
    done = 0
    for _ in range(10_000):
        async with transaction(sessionmaker) as session:
            step = await knowledge_reindex_service.reindex_step(
                session, model=model, batch_size=batch_size, settings=settings
            )
        done += step
        if step:
            continue
        async with transaction(sessionmaker) as session:
            if await knowledge_reindex_service.finish_reindex(session, model=model):
                return done
    raise RuntimeError(f"re-embedding with {model} did not converge")


@queue.task(name=INGEST_TASK, retry=2, pass_context=False)
async def ingest_version_job(version_id: str, publish: bool = True) -> None:
    settings = job_settings()
    await ingest_version(
        job_sessionmaker(settings), settings, version_id=uuid.UUID(version_id), publish=publish
    )


@queue.task(name=REINDEX_TASK, retry=2, pass_context=False)
async def reindex_job(model: str) -> None:
    settings = job_settings()
    await reindex(job_sessionmaker(settings), settings, model=model)
