"""What the mail domain shows: a message of the development mailbox."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel


class DevMailboxMessage(BaseModel):
    id: uuid.UUID
    to_address: str
    kind: str
    language: str
    subject: str
    text: str
    html: str
    created_at: datetime
