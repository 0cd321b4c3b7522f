"""Analytics (issue 20): an append-only event table written with each domain change, and the
trace id of each background job. Dashboards read rollups of it (materialised views, migration
0018), refreshed by a periodic job (`lending.analytics.tasks`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Identity,
    Index,
    SmallInteger,
    String,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from lending.models.applications import Money, one_of
from lending.models.base import Base


class EventName(StrEnum):
    """What happened. The funnel's steps are, in order: started, submitted, offer presented,
    offer accepted, funded; the rest are measured beside it."""

    CONVERSATION_STARTED = "conversation_started"
    APPLICATION_STARTED = "application_started"
    APPLICATION_SUBMITTED = "application_submitted"
    OFFER_PRESENTED = "offer_presented"
    OFFER_ACCEPTED = "offer_accepted"
    DOCUMENT_UPLOADED = "document_uploaded"
    DOCUMENT_VERIFIED = "document_verified"
    FUNDED = "funded"
    COMMISSION_ACCRUED = "commission_accrued"
    COMMISSION_PAID = "commission_paid"
    # An application's intake moved: `properties.next_field` is the required field it waits
    # for now ('' when none is missing), so drop-off can say which question people stop at.
    INTAKE_PROGRESS = "intake_progress"


class AnalyticsEvent(Base):
    """One domain fact, never updated or deleted. No foreign keys: analytics must never hold up
    (or be held up by) the rows it counts; ids are copied for grouping only."""

    __tablename__ = "analytics_event"
    __table_args__ = (
        CheckConstraint(one_of("name", EventName), name="name"),
        Index("ix_analytics_event_organization_id_occurred_at", "organization_id", "occurred_at"),
        Index("ix_analytics_event_application_id", "application_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    name: Mapped[str] = mapped_column(String(32))
    organization_id: Mapped[uuid.UUID | None]
    application_id: Mapped[uuid.UUID | None]
    user_id: Mapped[uuid.UUID | None]
    lender_id: Mapped[uuid.UUID | None]
    # The broker working the application when it happened (a broker's own funnel).
    broker_id: Mapped[uuid.UUID | None]
    product: Mapped[str | None] = mapped_column(String(32))
    # How it reached us: chat, voice, api (REST), web, admin, job.
    channel: Mapped[str | None] = mapped_column(String(16))
    # Who drove it in a conversation: "llm" (the model) or "guided" (the deterministic flow).
    mode: Mapped[str | None] = mapped_column(String(8))
    amount: Mapped[Decimal | None] = mapped_column(Money)
    properties: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")


class JobTrace(Base):
    """The trace a background job belongs to: the request's that enqueued it, or its own."""

    __tablename__ = "job_trace"

    job_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    trace_id: Mapped[str] = mapped_column(String(32))
    # W3C traceparent of the span that enqueued it, so the job's span continues that trace.
    traceparent: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class AnalyticsRefresh(Base):
    """When the dashboards' rollups were last refreshed (one row, id 1)."""

    __tablename__ = "analytics_refresh"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    refreshed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
