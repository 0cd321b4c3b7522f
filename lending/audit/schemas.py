"""Audit schemas: where an action came from, events as read back, and the chain check's report."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a request came from, for the audit log (None outside HTTP: CLI, jobs)."""

    ip: str | None = None
    request_id: str | None = None
    user_agent: str | None = None
    # Who acted when no user did (the CLI, a job), e.g. "cli:users create".
    operator: str | None = None
    # The way in ("api" for REST), recorded with a domain change (AuditService.record_change).
    channel: str | None = None


class AuditEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    occurred_at: datetime
    action: str
    actor_user_id: uuid.UUID | None
    actor_role: str | None
    organization_id: uuid.UUID | None
    subject_type: str | None
    subject_id: str | None
    ip: str | None
    request_id: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str


class ChainReport(BaseModel):
    """The result of walking the chain from the first event."""

    intact: bool
    events_checked: int
    head_hash: str
    broken_at_id: int | None = None
    reason: str | None = None
