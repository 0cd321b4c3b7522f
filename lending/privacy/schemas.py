"""Privacy schemas: erasure requests in and out, and what an export holds."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ErasureRequestCreate(BaseModel):
    # Unset: the person asking is the one to be erased.
    user_id: uuid.UUID | None = None
    reason: str = Field(min_length=3, max_length=2000)


class ErasureReview(BaseModel):
    approve: bool
    note: str | None = Field(default=None, max_length=2000)


class ErasureRequestRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    subject_user_id: uuid.UUID
    requested_by_user_id: uuid.UUID | None
    reason: str
    status: str
    reviewed_by_user_id: uuid.UUID | None
    reviewed_at: datetime | None
    review_note: str | None
    pseudonym: str | None
    # What was removed, anonymised and kept (with why), as counts per table: no personal value.
    report: dict[str, Any]
    created_at: datetime
    completed_at: datetime | None


@dataclass(slots=True)
class DataExport:
    """A ZIP written to a temporary file; whoever sends it removes it afterwards."""

    path: Path
    filename: str
    rows: dict[str, int] = field(default_factory=dict)
    documents: int = 0
