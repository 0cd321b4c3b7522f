"""What a person sees of their notifications."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class NotificationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str = Field(description="application.status_changed or document.rejected")
    message: str = Field(description="What happened, in English.")
    application_id: uuid.UUID | None
    document_id: uuid.UUID | None
    data: dict[str, Any]
    read_at: datetime | None
    created_at: datetime


class NotificationList(BaseModel):
    items: list[NotificationRead]
    unread_count: int


class MarkedRead(BaseModel):
    marked: int


class PreferenceRead(BaseModel):
    kind: str = Field(description="The kind of notification; account.security is essential mail.")
    label: str = Field(description="What the kind is about, in English.")
    email: bool
    in_app: bool
    essential: bool = Field(
        description="Essential mail (security, reset, verification): always on."
    )


class PreferenceUpdate(BaseModel):
    email: bool | None = Field(default=None, description="Mail this kind; null: no change.")
    in_app: bool | None = Field(default=None, description="Show it in the app; null: no change.")


class Unsubscribed(BaseModel):
    kind: str
    email: bool = False


class NotificationChanges(BaseModel):
    """What a live bell is told: the notifications written since its cursor (oldest first), the
    unread count now, and the new cursor (the person's newest notification)."""

    items: list[NotificationRead]
    more: bool = Field(description="More were written since; ask again from the new cursor.")
    unread_count: int
    cursor: uuid.UUID | None
