"""What the operations dashboard shows."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class Funnel(BaseModel):
    """Counts since `since` (midnight UTC today), each step from its own table."""

    since: datetime
    conversations: int
    applications_started: int
    submitted: int
    offers: int
    accepted: int
    funded: int


class JobQueueHealth(BaseModel):
    waiting: int
    running: int
    failed_last_hour: int
    oldest_waiting_seconds: float | None


class Dashboard(BaseModel):
    funnel: Funnel
    documents_waiting_review: int
    batches_waiting_approval: int
    jobs: JobQueueHealth
    failed_runs_last_hour: int
