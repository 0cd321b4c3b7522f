"""The dashboard's counting queries (each an index range over today or over a status)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

from sqlalchemy import ColumnElement, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from lending.models.applications import Application, ApplicationEvent, ApplicationStatus
from lending.models.chat import ChatRun, ChatThread
from lending.models.commissions import BatchStatus, PayoutBatch
from lending.models.documents import Document, DocumentStatus
from lending.models.offers import Offer


class DashboardRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: AsyncSession) -> Self:
        return cls(session)

    async def _count(self, model: Any, *conditions: ColumnElement[bool]) -> int:
        found = await self.session.scalar(
            select(func.count()).select_from(model).where(*conditions)
        )
        return int(found or 0)

    async def threads_since(self, since: datetime) -> int:
        return await self._count(ChatThread, ChatThread.created_at >= since)

    async def applications_since(self, since: datetime) -> int:
        return await self._count(Application, Application.created_at >= since)

    async def moves_since(self, status: ApplicationStatus, since: datetime) -> int:
        return await self._count(
            ApplicationEvent,
            ApplicationEvent.to_status == status,
            ApplicationEvent.occurred_at >= since,
        )

    async def offers_since(self, since: datetime) -> int:
        return await self._count(Offer, Offer.created_at >= since)

    async def documents_in(self, statuses: tuple[DocumentStatus, ...]) -> int:
        return await self._count(
            Document, Document.application_id.is_not(None), Document.status.in_(statuses)
        )

    async def batches_in(self, status: BatchStatus) -> int:
        return await self._count(PayoutBatch, PayoutBatch.status == status)

    async def failed_runs_since(self, since: datetime) -> int:
        return await self._count(ChatRun, ChatRun.status == "failed", ChatRun.started_at >= since)

    async def job_counts(self, since: datetime) -> tuple[int, int, int, float | None]:
        """Waiting, running, failed since `since`, and the oldest waiting job's age."""
        # Waiting: due now (a job scheduled for later is not late). Its age: since it was due,
        # or since it was deferred when it had no schedule.
        row = (
            await self.session.execute(
                text(
                    "SELECT count(*) FILTER (WHERE j.status = 'todo'),"
                    " count(*) FILTER (WHERE j.status = 'doing'),"
                    " extract(epoch FROM now() - min(coalesce(j.scheduled_at, ("
                    "   SELECT min(e.at) FROM procrastinate_events AS e"
                    "   WHERE e.job_id = j.id AND e.type = 'deferred'"
                    " ))) FILTER (WHERE j.status = 'todo'))"
                    " FROM procrastinate_jobs AS j"
                    " WHERE j.status = 'doing'"
                    " OR (j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= now()))"
                )
            )
        ).one()
        failed = await self.session.scalar(
            text(
                "SELECT count(*) FROM procrastinate_events WHERE type = 'failed' AND at >= :since"
            ),
            {"since": since},
        )
        age = float(row[2]) if row[2] is not None else None
        return int(row[0]), int(row[1]), int(failed or 0), age
