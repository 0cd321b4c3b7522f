"""What a broker's document reminder asks for and answers."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DocumentReminderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    document: str | None = Field(
        default=None,
        max_length=64,
        description="A document type (pay_stub, w2, …) or requirement (income, …); empty: "
        "everything the application is missing.",
    )


class DocumentReminderRead(BaseModel):
    reference: str
    reminded_about: list[str] = Field(description="The requirements named, in English.")
    reminded_about_zh: list[str]
    sent: bool = Field(description="False when the client turned these reminders off.")
