"""The operations dashboard for platform administrators."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from lending.dashboard.repository import DashboardRepository
from lending.dashboard.schemas import Dashboard, Funnel, JobQueueHealth
from lending.documents.repository import REVIEWABLE_STATUSES
from lending.identity.actor import Actor
from lending.identity.scopes import Scope
from lending.models.applications import ApplicationStatus
from lending.models.commissions import BatchStatus


class DashboardService:
    async def today(
        self, session: AsyncSession, actor: Actor, *, now: datetime | None = None
    ) -> Dashboard:
        """Today's funnel (since midnight UTC) and the queues waiting for someone."""
        actor.require(Scope.APPLICATIONS_READ_ALL, Scope.AUDIT_READ)
        now = now or datetime.now(UTC)
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        hour_ago = now - timedelta(hours=1)
        repository = DashboardRepository.from_session(session)
        waiting, running, failed, oldest = await repository.job_counts(hour_ago)
        return Dashboard(
            funnel=Funnel(
                since=midnight,
                conversations=await repository.threads_since(midnight),
                applications_started=await repository.applications_since(midnight),
                submitted=await repository.moves_since(ApplicationStatus.SUBMITTED, midnight),
                offers=await repository.offers_since(midnight),
                accepted=await repository.moves_since(ApplicationStatus.OFFER_ACCEPTED, midnight),
                funded=await repository.moves_since(ApplicationStatus.FUNDED, midnight),
            ),
            documents_waiting_review=await repository.documents_in(REVIEWABLE_STATUSES),
            batches_waiting_approval=await repository.batches_in(BatchStatus.DRAFT),
            jobs=JobQueueHealth(
                waiting=waiting,
                running=running,
                failed_last_hour=failed,
                oldest_waiting_seconds=oldest,
            ),
            failed_runs_last_hour=await repository.failed_runs_since(hour_ago),
        )


dashboard_service = DashboardService()
